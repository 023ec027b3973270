-- VK community messages (SPEC §12.5): a contact's VK user id is its address there (`peer_id`), and
-- consents and suppressions may name the channel. SQLite cannot widen a CHECK in place, so both tables
-- are rebuilt with their rows and indexes; nothing references them.
ALTER TABLE contacts ADD COLUMN vk_id INTEGER;
-- The Callback API names a user by id: message_allow / message_deny find the contact through it.
CREATE INDEX contacts_vk ON contacts(vk_id) WHERE vk_id IS NOT NULL;

CREATE TABLE consents_rebuilt (
    contact_id TEXT NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
    channel    TEXT NOT NULL CHECK (channel IN ('email', 'telegram', 'sms', 'vk')),
    status     TEXT NOT NULL CHECK (status IN ('granted', 'revoked')),
    source     TEXT NOT NULL DEFAULT 'import',
    at         INTEGER NOT NULL,
    PRIMARY KEY (contact_id, channel)
) WITHOUT ROWID;
INSERT INTO consents_rebuilt (contact_id, channel, status, source, at)
SELECT contact_id, channel, status, source, at FROM consents;
DROP TABLE consents;
ALTER TABLE consents_rebuilt RENAME TO consents;
CREATE INDEX consents_channel ON consents(channel, status);

CREATE TABLE suppressions_rebuilt (
    channel TEXT NOT NULL CHECK (channel IN ('email', 'telegram', 'sms', 'vk')),
    address TEXT NOT NULL,
    reason  TEXT NOT NULL,
    at      INTEGER NOT NULL,
    PRIMARY KEY (channel, address)
) WITHOUT ROWID;
INSERT INTO suppressions_rebuilt (channel, address, reason, at)
SELECT channel, address, reason, at FROM suppressions;
DROP TABLE suppressions;
ALTER TABLE suppressions_rebuilt RENAME TO suppressions;
