"""The overseer's offline check of a witness log (R28, R34): no store, the gateway's public
key alone. Every line must be signed by the gateway and prove itself an extension of the
line before it; anything else fails, naming the line."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from taxgate import merkle, witness
from taxgate.canonical import new_signing_key
from taxgate.ledger import GENESIS

KEY = new_signing_key()
LEAVES = [merkle.leaf_hash(b"entry %d" % i) for i in range(40)]


def head(size: int, prior: int = 0, key=KEY, leaves=LEAVES) -> witness.TreeHead:  # noqa: ANN001
    def sub(lo: int, hi: int) -> bytes:
        return merkle.root(leaves[lo:hi])

    proof = merkle.consistency_proof(prior, size, sub) if prior else []
    return witness.signed_head(key, size, merkle.root(leaves[:size]), GENESIS,
                               f"2026-12-03T10:00:{size:02d}.000000Z", prior, proof)


def write(path: Path, heads: list[witness.TreeHead], tail: bytes = b"") -> list[witness.TreeHead]:
    path.write_bytes(b"".join(h.to_bytes() for h in heads) + tail)
    return witness.read_log(path)


def problem(path: Path, heads: list[witness.TreeHead], tail: bytes = b"") -> str:
    report = witness.check_log(write(path, heads, tail), KEY.public_key())
    assert report.problem is not None
    return report.problem


def test_r28_an_honest_log_verifies_and_a_torn_last_line_is_skipped(tmp_path: Path):
    log = tmp_path / "w.jsonl"
    heads = [head(3), head(8, 3), head(8, 8), head(21, 8), head(40, 21)]
    report = witness.check_log(write(log, heads, b'{"tree_size": 4'), KEY.public_key())
    assert report.ok and report.checkpoints == 5 and report.last == heads[-1]


def test_r28_r34_a_rewritten_lost_or_foreign_checkpoint_fails(tmp_path: Path):
    log = tmp_path / "w.jsonl"
    good = [head(3), head(8, 3), head(21, 8)]
    rewritten = list(LEAVES)
    rewritten[5] = merkle.leaf_hash(b"rewritten")
    fork = head(21, 8, leaves=rewritten)  # signed with the gateway's own key
    assert "history was rewritten" in problem(log, [*good[:2], fork])
    assert "is not signed" in problem(log, [*good[:2], head(21, 8, key=new_signing_key())])
    edited = dataclasses.replace(good[1], root=merkle.root(rewritten[:8]).hex())
    assert "checkpoint 2 is not signed" in problem(log, [good[0], edited, good[2]])
    assert "not the witnessed 8" in problem(log, [good[0], good[1], head(21, 3)])
    shrunk = dataclasses.replace(head(8), prior_size=21)  # no proof can go backwards
    shrunk = witness.signed_head(KEY, 8, shrunk.root_bytes, GENESIS, shrunk.at, 21)
    assert "lost entries" in problem(log, [good[0], head(21, 3), shrunk])
    assert "the log does not hold" in problem(log, [good[1]])
    assert "checkpoint 2 is not signed" in problem(log, [good[0]], b'{"tree_size": 4}\n')


def test_r28_a_proof_must_name_a_witnessed_checkpoint(tmp_path: Path):
    heads = write(tmp_path / "w.jsonl", [head(8), head(21, 8)])
    proof = merkle.consistency_proof(8, 21, lambda lo, hi: merkle.root(LEAVES[lo:hi]))
    bundle = witness.consistency_bundle(heads[0], heads[1], proof)
    assert witness.check_bundle(bundle, heads) is None
    other = head(20, 8)
    assert "no witnessed checkpoint of size 20" in (witness.check_bundle(
        witness.consistency_bundle(heads[0], other, proof), heads) or "")
    assert witness.check_bundle({"kind": "inclusion", "entry": {}}, heads) == (
        "the inclusion proof is malformed")
    assert "not a taxgate ledger proof" in (witness.check_bundle([], heads) or "")
