-- GetCourse orders: a refund («Возврат») is a status of its own, and an order names what was bought
-- («Предложение», «Продукт»). SQLite cannot widen a CHECK in place, so the table is rebuilt; its rows
-- and indexes are kept. Nothing references orders, so the rebuild needs no foreign-key dance.
CREATE TABLE orders_rebuilt (
    id         TEXT PRIMARY KEY,
    contact_id TEXT NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
    amount     REAL NOT NULL,
    currency   TEXT NOT NULL DEFAULT 'RUB',
    status     TEXT NOT NULL CHECK (status IN ('pending', 'paid', 'cancelled', 'refunded')),
    created_at INTEGER NOT NULL,
    paid_at    INTEGER,
    product    TEXT
);
INSERT INTO orders_rebuilt (id, contact_id, amount, currency, status, created_at, paid_at)
SELECT id, contact_id, amount, currency, status, created_at, paid_at FROM orders;
DROP TABLE orders;
ALTER TABLE orders_rebuilt RENAME TO orders;
CREATE INDEX orders_contact ON orders(contact_id, status, created_at);
CREATE INDEX orders_paid_by_contact ON orders(status, contact_id, paid_at, amount);
CREATE INDEX orders_status ON orders(status, created_at);
-- `order:paid product = "X"` over the whole base starts from the product's orders.
CREATE INDEX orders_product ON orders(product, status, paid_at);
