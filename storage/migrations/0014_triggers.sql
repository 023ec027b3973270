-- Triggered scenarios (SPEC §12.4). A trigger tick must read only what changed since the previous one,
-- whatever wrote it (CSV import, webhook, bot): SQLite triggers journal every change a trigger can start
-- on into one append-only feed, and each trigger campaign keeps a cursor (the last feed id it read).
-- Order payments and tag re-sets are updates of existing rows, which no rowid or timestamp cursor
-- over the source tables would see. The tick prunes what every cursor has passed. Nothing is journaled
-- while no trigger is live (a trigger reads only what changes after it goes live), so imports into a
-- base without triggers pay one lookup of an empty table per row, not an insert.
-- AUTOINCREMENT: a pruned feed must never hand out an id again, or a cursor would skip new rows.
CREATE TABLE trigger_feed (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    contact_id TEXT NOT NULL,
    kind       TEXT NOT NULL CHECK (kind IN ('event', 'tag')),
    name       TEXT NOT NULL,            -- the event type (order_created, order_paid included) or tag
    at         INTEGER NOT NULL          -- when it happened, as the source row says
);

-- One row per active trigger campaign: its feed cursor and when `enter:`/`date:` triggers last
-- evaluated the whole base (time alone moves contacts into `NOT event:open within 30d`).
CREATE TABLE trigger_state (
    campaign_id TEXT PRIMARY KEY,
    cursor      INTEGER NOT NULL,
    full_at     INTEGER
) WITHOUT ROWID;

CREATE TRIGGER trigger_feed_event AFTER INSERT ON events
WHEN EXISTS (SELECT 1 FROM trigger_state)
BEGIN
    INSERT INTO trigger_feed (contact_id, kind, name, at) VALUES (NEW.contact_id, 'event', NEW.type, NEW.at);
END;

CREATE TRIGGER trigger_feed_order_created AFTER INSERT ON orders
WHEN EXISTS (SELECT 1 FROM trigger_state)
BEGIN
    INSERT INTO trigger_feed (contact_id, kind, name, at)
    VALUES (NEW.contact_id, 'event', 'order_created', NEW.created_at);
    INSERT INTO trigger_feed (contact_id, kind, name, at)
    SELECT NEW.contact_id, 'event', 'order_paid', COALESCE(NEW.paid_at, NEW.created_at)
    WHERE NEW.status = 'paid';
END;

CREATE TRIGGER trigger_feed_order_paid AFTER UPDATE OF status ON orders
WHEN NEW.status = 'paid' AND OLD.status != 'paid' AND EXISTS (SELECT 1 FROM trigger_state)
BEGIN
    INSERT INTO trigger_feed (contact_id, kind, name, at)
    VALUES (NEW.contact_id, 'event', 'order_paid', COALESCE(NEW.paid_at, NEW.created_at));
END;

CREATE TRIGGER trigger_feed_tag_set AFTER INSERT ON tags
WHEN NEW.removed_at IS NULL AND EXISTS (SELECT 1 FROM trigger_state)
BEGIN
    INSERT INTO trigger_feed (contact_id, kind, name, at) VALUES (NEW.contact_id, 'tag', NEW.tag, NEW.set_at);
END;

CREATE TRIGGER trigger_feed_tag_reset AFTER UPDATE ON tags
WHEN NEW.removed_at IS NULL AND (NEW.set_at != OLD.set_at OR OLD.removed_at IS NOT NULL)
    AND EXISTS (SELECT 1 FROM trigger_state)
BEGIN
    INSERT INTO trigger_feed (contact_id, kind, name, at) VALUES (NEW.contact_id, 'tag', NEW.tag, NEW.set_at);
END;

-- One row per time a trigger started its scenario for a contact. `key` makes a start happen once
-- (the feed row, or the year of a date trigger); the outbox rows of run N are steps N*100 + i.
CREATE TABLE trigger_runs (
    id          INTEGER PRIMARY KEY,
    campaign_id TEXT NOT NULL,
    contact_id  TEXT NOT NULL,
    key         TEXT NOT NULL,
    started_at  INTEGER NOT NULL,
    UNIQUE (campaign_id, contact_id, key)
);
CREATE INDEX trigger_runs_latest ON trigger_runs(campaign_id, contact_id, started_at);

-- Who is in an `enter:segment:` trigger's segment as of its last evaluation: entering is the difference.
CREATE TABLE trigger_members (
    campaign_id TEXT NOT NULL,
    contact_id  TEXT NOT NULL,
    PRIMARY KEY (campaign_id, contact_id)
) WITHOUT ROWID;
