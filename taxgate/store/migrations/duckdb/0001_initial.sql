-- The embedded store's tables (inside the encrypted database attached as `store`).
-- `filings` is created by the first load from the loader's columns.
CREATE TABLE meta (
    name VARCHAR PRIMARY KEY,
    value BLOB NOT NULL
);
CREATE TABLE officials (
    agency VARCHAR NOT NULL,
    official_id VARCHAR NOT NULL,
    title VARCHAR NOT NULL,
    public_key_pem VARCHAR NOT NULL,
    valid_from DATE NOT NULL,
    valid_to DATE,
    added_at VARCHAR NOT NULL,
    added_by VARCHAR NOT NULL,
    PRIMARY KEY (agency, official_id)
);
CREATE TABLE safeguards (
    agency VARCHAR PRIMARY KEY,
    current BOOLEAN NOT NULL,
    changed_at VARCHAR NOT NULL,
    changed_by VARCHAR NOT NULL,
    note VARCHAR NOT NULL
);
CREATE TABLE loads (
    load_id VARCHAR PRIMARY KEY,
    loaded_at VARCHAR NOT NULL,
    row_count BIGINT NOT NULL,
    min_filing_id BIGINT NOT NULL,
    max_filing_id BIGINT NOT NULL
);
CREATE TABLE models (
    version VARCHAR PRIMARY KEY,
    trained_at VARCHAR NOT NULL,
    model_json VARCHAR NOT NULL
);
CREATE TABLE requests (
    request_id VARCHAR PRIMARY KEY,
    package_sha256 VARCHAR NOT NULL,
    status VARCHAR NOT NULL,
    received_at VARCHAR NOT NULL,
    completed_at VARCHAR,
    response_json VARCHAR
);
CREATE TABLE decisions (
    request_id VARCHAR NOT NULL,
    row_number BIGINT NOT NULL,
    record_id VARCHAR,
    outcome VARCHAR NOT NULL,
    reasons VARCHAR,
    tin VARCHAR,
    match_probability DOUBLE,
    evidence VARCHAR,
    model_version VARCHAR,
    policy_version VARCHAR
);
CREATE TABLE ledger (
    seq BIGINT NOT NULL,
    recorded_at VARCHAR NOT NULL,
    event_type VARCHAR NOT NULL,
    request_id VARCHAR,
    payload VARCHAR NOT NULL,
    prev_hash VARCHAR NOT NULL,
    entry_hash VARCHAR NOT NULL
);
