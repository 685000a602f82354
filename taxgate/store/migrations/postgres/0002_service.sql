-- The service's tables: API credentials and web users (salted scrypt hashes only),
-- jobs submitted over HTTP, REVIEW records held for disclosure officers and their
-- two-person decisions, and the follow-up responses they produce.
CREATE TABLE api_credentials (
    cred_id TEXT PRIMARY KEY,
    agency TEXT NOT NULL,
    salt TEXT NOT NULL,
    hash TEXT NOT NULL,
    created_at TEXT NOT NULL,
    revoked_at TEXT
);
CREATE TABLE users (
    username TEXT PRIMARY KEY,
    role TEXT NOT NULL,
    agency TEXT,
    salt TEXT NOT NULL,
    hash TEXT NOT NULL,
    created_at TEXT NOT NULL,
    disabled_at TEXT
);
CREATE TABLE jobs (
    job_id TEXT PRIMARY KEY,
    agency TEXT NOT NULL,
    request_id TEXT,
    state TEXT NOT NULL,
    submitted_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    exit_code INTEGER,
    message TEXT,
    counts_json TEXT,
    expires_at TEXT
);
CREATE TABLE review_items (
    request_id TEXT NOT NULL,
    row_number BIGINT NOT NULL,
    record_id TEXT NOT NULL,
    agency TEXT NOT NULL,
    captured_at TEXT NOT NULL,
    sealed BYTEA NOT NULL,
    PRIMARY KEY (request_id, row_number)
);
CREATE TABLE review_decisions (
    request_id TEXT NOT NULL,
    row_number BIGINT NOT NULL,
    outcome TEXT NOT NULL,
    reason TEXT NOT NULL,
    proposed_by TEXT NOT NULL,
    proposed_at TEXT NOT NULL,
    released_by TEXT,
    released_at TEXT,
    follow_up_seq INTEGER,
    PRIMARY KEY (request_id, row_number)
);
CREATE TABLE follow_ups (
    request_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    response_json TEXT NOT NULL,
    results_csv TEXT NOT NULL,
    PRIMARY KEY (request_id, seq)
);
