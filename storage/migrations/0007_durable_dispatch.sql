-- Durable dispatch (SPEC §12.2). A row is claimed by a lease (`lease_until`, `claimed_by`) while it
-- keeps its status; it becomes `sending` only just before it is handed to a channel.
ALTER TABLE outbox ADD COLUMN claimed_by TEXT;

-- The one `ritm run` that may dispatch from this database: a second one refuses to start while the
-- lease is alive (heartbeat every few seconds, expiry after half a minute without one).
CREATE TABLE instance_lease (
    name         TEXT PRIMARY KEY CHECK (name = 'dispatcher'),
    holder       TEXT NOT NULL,
    host         TEXT NOT NULL,
    pid          INTEGER NOT NULL,
    since        INTEGER NOT NULL,
    heartbeat_at INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL
);
