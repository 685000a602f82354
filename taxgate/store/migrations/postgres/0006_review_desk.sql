-- The review desk: an officer's note beside the reason code of a proposal (screened of
-- taxpayer values), and the history of every REVIEW record (proposed, sent back,
-- released), which the releaser sees before deciding.
ALTER TABLE review_decisions ADD COLUMN note TEXT;
CREATE TABLE review_history (
    request_id TEXT NOT NULL,
    row_number BIGINT NOT NULL,
    step INTEGER NOT NULL,
    action TEXT NOT NULL,
    actor TEXT NOT NULL,
    acted_at TEXT NOT NULL,
    outcome TEXT,
    reason TEXT,
    note TEXT,
    PRIMARY KEY (request_id, row_number, step)
);
