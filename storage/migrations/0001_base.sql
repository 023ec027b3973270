-- Base tables (SPEC §3). Instants are INTEGER UTC epoch seconds; JSON in TEXT columns.
CREATE TABLE contacts (
    id               TEXT PRIMARY KEY,
    email            TEXT,
    name             TEXT,
    telegram_chat_id INTEGER,
    phone            TEXT,
    timezone         TEXT,
    locale           TEXT,
    region           TEXT,
    interest         TEXT,
    created_at       INTEGER,
    fields           TEXT NOT NULL DEFAULT '{}'
) WITHOUT ROWID;
-- Case-insensitive: orders and events may name their contact by email, in whatever case.
CREATE INDEX contacts_email ON contacts(email COLLATE NOCASE);
CREATE INDEX contacts_chat ON contacts(telegram_chat_id);

-- Current consent per channel; its history lives in audit_log.
CREATE TABLE consents (
    contact_id TEXT NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
    channel    TEXT NOT NULL CHECK (channel IN ('email', 'telegram', 'sms')),
    status     TEXT NOT NULL CHECK (status IN ('granted', 'revoked')),
    source     TEXT NOT NULL DEFAULT 'import',
    at         INTEGER NOT NULL,
    PRIMARY KEY (contact_id, channel)
) WITHOUT ROWID;

-- An address that must not be used again (hard bounce, bot blocked, chat not found).
CREATE TABLE suppressions (
    contact_id TEXT NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
    channel    TEXT NOT NULL CHECK (channel IN ('email', 'telegram', 'sms')),
    reason     TEXT NOT NULL,
    at         INTEGER NOT NULL,
    PRIMARY KEY (contact_id, channel)
) WITHOUT ROWID;

-- One row per (contact, tag): setting it again moves set_at; removal stamps removed_at.
CREATE TABLE tags (
    contact_id TEXT NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
    tag        TEXT NOT NULL,
    set_at     INTEGER NOT NULL,
    expires_at INTEGER,
    removed_at INTEGER,
    PRIMARY KEY (contact_id, tag)
) WITHOUT ROWID;
CREATE INDEX tags_tag ON tags(tag, set_at);

CREATE TABLE orders (
    id         TEXT PRIMARY KEY,
    contact_id TEXT NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
    amount     REAL NOT NULL,
    currency   TEXT NOT NULL DEFAULT 'RUB',
    status     TEXT NOT NULL CHECK (status IN ('pending', 'paid', 'cancelled')),
    created_at INTEGER NOT NULL,
    paid_at    INTEGER
);
CREATE INDEX orders_contact ON orders(contact_id, status);
CREATE INDEX orders_status ON orders(status, created_at);

-- campaign_id is '' rather than NULL so that the natural key is unique in SQLite.
CREATE TABLE events (
    id          INTEGER PRIMARY KEY,
    contact_id  TEXT NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
    type        TEXT NOT NULL,
    at          INTEGER NOT NULL,
    campaign_id TEXT NOT NULL DEFAULT '',
    meta        TEXT NOT NULL DEFAULT '{}',
    UNIQUE (contact_id, type, at, campaign_id)
);
CREATE INDEX events_type_at ON events(type, at);
CREATE INDEX events_contact_at ON events(contact_id, at);

-- Manual silence windows (derived ones are computed from orders, tags and events).
CREATE TABLE silences (
    id         INTEGER PRIMARY KEY,
    contact_id TEXT NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
    starts_at  INTEGER NOT NULL,
    ends_at    INTEGER NOT NULL,
    blocks     TEXT NOT NULL CHECK (blocks IN ('mass', 'all')),
    reason     TEXT NOT NULL DEFAULT 'manual',
    created_by TEXT
);
CREATE INDEX silences_contact ON silences(contact_id, ends_at);

CREATE TABLE team (
    user_id  INTEGER PRIMARY KEY,
    role     TEXT NOT NULL CHECK (role IN ('viewer', 'operator', 'approver', 'admin')),
    name     TEXT,
    locale   TEXT,
    added_at INTEGER NOT NULL,
    added_by TEXT
);

CREATE TABLE audit_log (
    id      INTEGER PRIMARY KEY,
    at      INTEGER NOT NULL,
    actor   TEXT NOT NULL,
    action  TEXT NOT NULL,
    target  TEXT,
    source  TEXT NOT NULL DEFAULT 'cli',
    details TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_target ON audit_log(target, at);

-- Key/value state of the running process (global pause, last tick...).
CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
