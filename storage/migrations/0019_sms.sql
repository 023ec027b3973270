-- SMS (SPEC §12.5): the parts an accepted SMS is billed as (budget and cost per campaign), the index
-- that finds a row by SMS.ru's sms_id, and SMS.ru's delivery reports (delivered | failed).
ALTER TABLE outbox ADD COLUMN sms_parts INTEGER;
CREATE INDEX outbox_sms_id ON outbox(message_id) WHERE channel = 'sms';

CREATE TABLE sms_reports (
    outbox_id INTEGER PRIMARY KEY REFERENCES outbox(id) ON DELETE CASCADE,
    state     TEXT NOT NULL CHECK (state IN ('delivered', 'failed')),
    code      INTEGER NOT NULL,
    at        INTEGER NOT NULL
);
