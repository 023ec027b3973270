-- Bounces, complaints and unsubscribe mails read back from the bounce/feedback mailbox or the
-- `/hooks/bounces` webhook (SPEC §12.5). One row per report, keyed by the report's own Message-ID (or
-- a digest of its bytes), so reading the same message twice changes nothing. Soft bounces of an
-- address are counted from here; an unparsable report is kept with its reason and its bytes.
CREATE TABLE feedback_reports (
    key         TEXT PRIMARY KEY,
    kind        TEXT NOT NULL CHECK (kind IN (
        'hard_bounce', 'soft_bounce', 'complaint', 'unsubscribe', 'ignored', 'unparsable')),
    address     TEXT,
    outbox_id   INTEGER,
    contact_id  TEXT,
    detail      TEXT NOT NULL DEFAULT '',
    source      TEXT NOT NULL,
    received_at INTEGER NOT NULL,
    raw         BLOB
) WITHOUT ROWID;
CREATE INDEX feedback_soft_bounces ON feedback_reports(address, received_at) WHERE kind = 'soft_bounce';
CREATE INDEX feedback_unparsable ON feedback_reports(received_at) WHERE kind = 'unparsable';
-- A campaign's bounces and complaints per channel (stats) join the reports to its outbox rows.
CREATE INDEX feedback_outbox ON feedback_reports(outbox_id) WHERE outbox_id IS NOT NULL;
