-- events(type, at, contact_id) from 0003 serves every query events(type, at) did; one index less
-- to maintain makes the events import faster.
DROP INDEX IF EXISTS events_type_at;
