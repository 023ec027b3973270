-- The team dashboard's sign-in: a one-time link the bot sends (`/web`) names a login row; using it
-- marks the row used (single use) and opens a session. Session ids are kept only as their SHA-256.
CREATE TABLE web_logins (
    nonce      TEXT PRIMARY KEY,
    user_id    INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at    INTEGER
);

CREATE TABLE web_sessions (
    id_hash    TEXT PRIMARY KEY,
    user_id    INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX web_sessions_user ON web_sessions(user_id);

-- Messages the bot started to the team on its own (fatigue alerts, the weekly report): a key per
-- notice and period, so a restart or a second tick never tells the same thing twice.
CREATE TABLE team_notices (
    key     TEXT PRIMARY KEY,
    sent_at INTEGER NOT NULL
);
