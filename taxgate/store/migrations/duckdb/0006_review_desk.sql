-- The review desk: an officer's note beside the reason code of a proposal (screened of
-- taxpayer values), and the history of every REVIEW record (proposed, sent back,
-- released), which the releaser sees before deciding.
ALTER TABLE review_decisions ADD COLUMN note VARCHAR;
CREATE TABLE review_history (
    request_id VARCHAR NOT NULL,
    row_number BIGINT NOT NULL,
    step INTEGER NOT NULL,
    action VARCHAR NOT NULL,
    actor VARCHAR NOT NULL,
    acted_at VARCHAR NOT NULL,
    outcome VARCHAR,
    reason VARCHAR,
    note VARCHAR,
    PRIMARY KEY (request_id, row_number, step)
);
