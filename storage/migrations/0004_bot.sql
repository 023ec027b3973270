-- The chat-ops bot's approval cards: every message that shows a campaign's Approve / Reject buttons,
-- so that a decision (or a newer dry run) edits all of them. The row exists before its message is sent:
-- its id is what the buttons carry (callback data is limited to 64 bytes), message_id is set once sent.
CREATE TABLE approval_cards (
    id          INTEGER PRIMARY KEY,
    campaign_id TEXT NOT NULL REFERENCES campaigns(id) ON DELETE CASCADE,
    chat_id     INTEGER NOT NULL,
    message_id  INTEGER,
    locale      TEXT NOT NULL DEFAULT 'ru',
    fingerprint TEXT NOT NULL,            -- of the dry run the card shows
    sent_at     INTEGER NOT NULL,
    closed_at   INTEGER,                  -- decided or superseded: the buttons are gone
    UNIQUE (chat_id, message_id)
);
CREATE INDEX approval_cards_campaign ON approval_cards(campaign_id, closed_at);
