-- Suppressions belong to an address, not to a contact (SPEC §12.3): an address that unsubscribed,
-- bounced, complained or blocked the bot is never reached again, whichever contact holds it (the same
-- email under another id, a contact imported later). `address` is the key the contacts' unique
-- indexes use: lower(email), the phone as stored, the chat id as text.
ALTER TABLE suppressions RENAME TO suppressions_by_contact;
CREATE TABLE suppressions (
    channel TEXT NOT NULL CHECK (channel IN ('email', 'telegram', 'sms')),
    address TEXT NOT NULL,
    reason  TEXT NOT NULL,
    at      INTEGER NOT NULL,
    PRIMARY KEY (channel, address)
) WITHOUT ROWID;

INSERT OR IGNORE INTO suppressions (channel, address, reason, at)
SELECT s.channel,
       CASE s.channel WHEN 'email' THEN lower(c.email)
                      WHEN 'telegram' THEN CAST(c.telegram_chat_id AS TEXT)
                      ELSE c.phone END,
       s.reason, s.at
  FROM suppressions_by_contact s JOIN contacts c ON c.id = s.contact_id
 WHERE CASE s.channel WHEN 'email' THEN c.email
                      WHEN 'telegram' THEN c.telegram_chat_id
                      ELSE c.phone END IS NOT NULL
 ORDER BY s.at;

-- Until now an unsubscribe (the link, /stop, the preferences) and a blocked bot only revoked the
-- contact's consent: they become suppressions of the address the contact holds.
INSERT OR IGNORE INTO suppressions (channel, address, reason, at)
SELECT k.channel,
       CASE k.channel WHEN 'email' THEN lower(c.email)
                      WHEN 'telegram' THEN CAST(c.telegram_chat_id AS TEXT)
                      ELSE c.phone END,
       CASE k.source WHEN 'bot_blocked' THEN 'bot_blocked' ELSE 'unsubscribe' END,
       k.at
  FROM consents k JOIN contacts c ON c.id = k.contact_id
 WHERE k.status = 'revoked' AND k.source IN ('unsubscribe_link', 'bot', 'bot_blocked')
   AND CASE k.channel WHEN 'email' THEN c.email
                      WHEN 'telegram' THEN c.telegram_chat_id
                      ELSE c.phone END IS NOT NULL
 ORDER BY k.at;

DROP TABLE suppressions_by_contact;
