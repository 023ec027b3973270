-- Team user ids are Telegram ids compared as integers. Authors and approvers stored as "02", " 2" or
-- "+2" become "2", so the four-eyes rule compares like with like; other actors ("cli") stay as they are.
UPDATE campaigns SET author = CAST(CAST(ltrim(trim(author), '+') AS INTEGER) AS TEXT)
 WHERE ltrim(trim(author), '+') GLOB '[0-9]*'
   AND ltrim(trim(author), '+') NOT GLOB '*[^0-9]*'
   AND length(ltrim(trim(author), '+')) BETWEEN 1 AND 18
   AND trim(author) NOT GLOB '++*';

UPDATE approvals SET by_user = CAST(CAST(ltrim(trim(by_user), '+') AS INTEGER) AS TEXT)
 WHERE ltrim(trim(by_user), '+') GLOB '[0-9]*'
   AND ltrim(trim(by_user), '+') NOT GLOB '*[^0-9]*'
   AND length(ltrim(trim(by_user), '+')) BETWEEN 1 AND 18
   AND trim(by_user) NOT GLOB '++*';

-- Webhook delivery ids seen in the last 7 days: a repeated delivery is answered and changes nothing.
CREATE TABLE webhook_deliveries (
    id          TEXT PRIMARY KEY,
    received_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX webhook_deliveries_received ON webhook_deliveries(received_at);
