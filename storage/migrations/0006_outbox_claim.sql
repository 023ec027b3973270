-- The worker claims due rows one (status, priority) slice at a time in due order: this index walks
-- each slice without sorting it.
CREATE INDEX outbox_claim ON outbox(status, priority, due_at);
