-- Indexes for the segment compiler (storage/segments.py) and set-based RFM (storage/rfm_sql.py).

-- `event:TYPE within D` reads (type, at) ranges and needs only contact_id: covering, no row lookups
-- into the largest table. (It makes 0001's events_type_at redundant.)
CREATE INDEX events_type_at_contact ON events(type, at, contact_id);

-- `has:CHANNEL` takes the granted consents of one channel; consents is WITHOUT ROWID, so the index
-- entries carry contact_id and the subquery never reads the table.
CREATE INDEX consents_channel ON consents(channel, status);

-- `paid_total` and RFM's payments: paid orders grouped by contact, read in contact order from the
-- index alone (no temp B-tree for the GROUP BY, no row lookups).
CREATE INDEX orders_paid_by_contact ON orders(status, contact_id, paid_at, amount);
