-- Access (R4, R36): an API credential may be issued to one person of an agency (holder);
-- a job remembers the named recipients its response is delivered to; a web account's
-- second factor (its TOTP secret sealed under the at-rest key, and the salted hashes of
-- its unused recovery codes).
ALTER TABLE api_credentials ADD COLUMN holder TEXT;
ALTER TABLE jobs ADD COLUMN recipients TEXT;
CREATE TABLE user_mfa (
    username TEXT PRIMARY KEY,
    sealed BYTEA NOT NULL,
    recovery_json TEXT NOT NULL,
    enrolled_at TEXT NOT NULL
);
