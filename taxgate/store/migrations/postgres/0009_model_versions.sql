-- Model versions: how many filings a model was trained on (NULL for models stored
-- before it was remembered), so `taxgate model list` can say it without reading them.
ALTER TABLE models ADD COLUMN filing_count BIGINT;
