-- The ledger's Merkle tree (docs/ledger.md, "Checkpoints for outsiders"): the head of
-- every complete subtree of 256 leaves or more, so that a checkpoint extends the tree
-- from its frontier and a proof reads O(log n) nodes. Derived from the ledger alone
-- and rebuilt from it when missing; never trusted by the overseer's check.
CREATE TABLE ledger_tree (
    level INTEGER NOT NULL,
    idx BIGINT NOT NULL,
    hash TEXT NOT NULL,
    PRIMARY KEY (level, idx)
);
