-- Series (SPEC §12.4): an occurrence `<series id>@<date>` is a campaign row of its own (its dry run,
-- approvals, outbox rows and stats) that names the series it belongs to.
ALTER TABLE campaigns ADD COLUMN series_id TEXT REFERENCES campaigns(id);
CREATE INDEX campaigns_series ON campaigns(series_id, id) WHERE series_id IS NOT NULL;
