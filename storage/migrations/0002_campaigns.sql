-- Campaigns, approvals and the outbox (SPEC §6–§7).
CREATE TABLE campaigns (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    priority    TEXT NOT NULL CHECK (priority IN ('service', 'scenario', 'mass')),
    status      TEXT NOT NULL DEFAULT 'draft',
    source      TEXT NOT NULL,            -- the TOML text as added
    fingerprint TEXT NOT NULL,            -- of the campaign and its templates
    author      TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    dry_run     TEXT,                     -- JSON of the last dry run
    dry_run_at  INTEGER,
    planned_at  INTEGER
);

CREATE TABLE approvals (
    id          INTEGER PRIMARY KEY,
    campaign_id TEXT NOT NULL REFERENCES campaigns(id) ON DELETE CASCADE,
    fingerprint TEXT NOT NULL,
    planned     INTEGER NOT NULL,
    decision    TEXT NOT NULL CHECK (decision IN ('approved', 'rejected')),
    by_user     TEXT NOT NULL,
    at          INTEGER NOT NULL,
    source      TEXT NOT NULL DEFAULT 'cli'
);
CREATE INDEX approvals_campaign ON approvals(campaign_id, at);

-- One row per planned message; step 0 is the first send, 1.. cascade steps, 100+ event reminders.
CREATE TABLE outbox (
    id          INTEGER PRIMARY KEY,
    campaign_id TEXT NOT NULL,
    contact_id  TEXT NOT NULL,
    step        INTEGER NOT NULL DEFAULT 0,
    priority    TEXT NOT NULL,
    channel     TEXT NOT NULL,
    version     TEXT,
    variant     TEXT,
    due_at      INTEGER NOT NULL,
    deadline    INTEGER,
    status      TEXT NOT NULL DEFAULT 'planned' CHECK (status IN (
        'planned', 'sending', 'sent', 'retry', 'expired', 'failed', 'suppressed',
        'holdout', 'cancelled', 'uncertain')),
    reason      TEXT,
    attempts    INTEGER NOT NULL DEFAULT 0,
    lease_until INTEGER,
    sent_at     INTEGER,
    message_id  TEXT,
    error       TEXT,
    created_at  INTEGER NOT NULL,
    UNIQUE (campaign_id, contact_id, step)
);
CREATE INDEX outbox_due ON outbox(status, due_at);
CREATE INDEX outbox_contact ON outbox(contact_id, due_at);
