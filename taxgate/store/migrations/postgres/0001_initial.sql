-- The PostgreSQL store's tables. Taxpayer data (filings, decisions, the model) is held
-- only as sealed chunks: AES-256-GCM over Arrow IPC, under the at-rest key.
CREATE TABLE meta (
    name TEXT PRIMARY KEY,
    value BYTEA NOT NULL
);
CREATE TABLE officials (
    agency TEXT NOT NULL,
    official_id TEXT NOT NULL,
    title TEXT NOT NULL,
    public_key_pem TEXT NOT NULL,
    valid_from DATE NOT NULL,
    valid_to DATE,
    added_at TEXT NOT NULL,
    added_by TEXT NOT NULL,
    PRIMARY KEY (agency, official_id)
);
CREATE TABLE safeguards (
    agency TEXT PRIMARY KEY,
    current BOOLEAN NOT NULL,
    changed_at TEXT NOT NULL,
    changed_by TEXT NOT NULL,
    note TEXT NOT NULL
);
CREATE TABLE loads (
    load_id TEXT PRIMARY KEY,
    loaded_at TEXT NOT NULL,
    row_count BIGINT NOT NULL,
    min_filing_id BIGINT NOT NULL,
    max_filing_id BIGINT NOT NULL
);
CREATE TABLE filing_chunks (
    load_id TEXT NOT NULL,
    chunk_no INTEGER NOT NULL,
    row_count INTEGER NOT NULL,
    sealed BYTEA NOT NULL,
    PRIMARY KEY (load_id, chunk_no)
);
CREATE TABLE models (
    version TEXT PRIMARY KEY,
    trained_at TEXT NOT NULL,
    sealed BYTEA NOT NULL
);
CREATE TABLE requests (
    request_id TEXT PRIMARY KEY,
    package_sha256 TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('COMPLETE', 'REFUSED')),
    received_at TEXT NOT NULL,
    completed_at TEXT,
    response_json TEXT
);
CREATE TABLE decision_chunks (
    request_id TEXT NOT NULL,
    chunk_no INTEGER NOT NULL,
    row_count INTEGER NOT NULL,
    sealed BYTEA NOT NULL,
    PRIMARY KEY (request_id, chunk_no)
);
CREATE TABLE ledger (
    seq BIGINT PRIMARY KEY,
    recorded_at TEXT NOT NULL,
    event_type TEXT NOT NULL,
    request_id TEXT,
    payload TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    entry_hash TEXT NOT NULL
);
-- Append-only: the gateway never updates, deletes or truncates the ledger. (An owner
-- can still disable this; the hash chain and signed checkpoints catch what follows.)
CREATE FUNCTION ledger_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the ledger is append-only';
END;
$$;
CREATE TRIGGER ledger_no_update BEFORE UPDATE OR DELETE ON ledger
    FOR EACH ROW EXECUTE FUNCTION ledger_append_only();
CREATE TRIGGER ledger_no_truncate BEFORE TRUNCATE ON ledger
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_append_only();
