-- The evidence kept for counsel and re-checks (R3, R30): the signed manifest and the
-- records file of every answered request, in parts, and the values of every policy
-- version; each part sealed (AES-256-GCM under the at-rest key, its label the
-- associated data). expires_at: when a part may be purged (NULL: kept for good).
CREATE TABLE IF NOT EXISTS evidence (
    kind TEXT NOT NULL,
    ref TEXT NOT NULL,
    part INTEGER NOT NULL,
    kept_at TEXT NOT NULL,
    expires_at TEXT,
    sealed BYTEA NOT NULL,
    PRIMARY KEY (kind, ref, part)
);
