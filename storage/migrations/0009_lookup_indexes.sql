-- A contact's own orders by status and date: the per-contact lookup `order:pending` (a protected segment
-- checked at send time) had two candidate indexes with one equality each and SQLite took
-- orders_status, walking every pending order of the base by date. Two equalities win outright.
DROP INDEX IF EXISTS orders_contact;
CREATE INDEX orders_contact ON orders(contact_id, status, created_at);

-- A campaign's own events (who registered for this webinar, who attended it): by type they walked every
-- registration of every past webinar.
CREATE INDEX events_campaign ON events(campaign_id, type, contact_id);

-- Row statistics for the planner on bases imported before imports refreshed them (sampled: quick).
PRAGMA analysis_limit = 1000;
ANALYZE;
