-- The service's tables: API credentials and web users (salted scrypt hashes only),
-- jobs submitted over HTTP, REVIEW records held for disclosure officers and their
-- two-person decisions, and the follow-up responses they produce.
CREATE TABLE api_credentials (
    cred_id VARCHAR PRIMARY KEY,
    agency VARCHAR NOT NULL,
    salt VARCHAR NOT NULL,
    hash VARCHAR NOT NULL,
    created_at VARCHAR NOT NULL,
    revoked_at VARCHAR
);
CREATE TABLE users (
    username VARCHAR PRIMARY KEY,
    role VARCHAR NOT NULL,
    agency VARCHAR,
    salt VARCHAR NOT NULL,
    hash VARCHAR NOT NULL,
    created_at VARCHAR NOT NULL,
    disabled_at VARCHAR
);
CREATE TABLE jobs (
    job_id VARCHAR PRIMARY KEY,
    agency VARCHAR NOT NULL,
    request_id VARCHAR,
    state VARCHAR NOT NULL,
    submitted_at VARCHAR NOT NULL,
    updated_at VARCHAR NOT NULL,
    exit_code INTEGER,
    message VARCHAR,
    counts_json VARCHAR,
    expires_at VARCHAR
);
CREATE TABLE review_items (
    request_id VARCHAR NOT NULL,
    row_number BIGINT NOT NULL,
    record_id VARCHAR NOT NULL,
    agency VARCHAR NOT NULL,
    captured_at VARCHAR NOT NULL,
    sealed BLOB NOT NULL,
    PRIMARY KEY (request_id, row_number)
);
CREATE TABLE review_decisions (
    request_id VARCHAR NOT NULL,
    row_number BIGINT NOT NULL,
    outcome VARCHAR NOT NULL,
    reason VARCHAR NOT NULL,
    proposed_by VARCHAR NOT NULL,
    proposed_at VARCHAR NOT NULL,
    released_by VARCHAR,
    released_at VARCHAR,
    follow_up_seq INTEGER,
    PRIMARY KEY (request_id, row_number)
);
CREATE TABLE follow_ups (
    request_id VARCHAR NOT NULL,
    seq INTEGER NOT NULL,
    created_at VARCHAR NOT NULL,
    response_json VARCHAR NOT NULL,
    results_csv VARCHAR NOT NULL,
    PRIMARY KEY (request_id, seq)
);
