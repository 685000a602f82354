"""A ledger outsiders can check (R28, R34): signed checkpoints of the ledger's Merkle tree in
the overseer's witness log, inclusion and consistency proofs, and an offline check that
needs the gateway's public key alone. A history rewritten by someone who holds the store
and its signing key fails the overseer's check. Both stores, real keys, real files."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from pathlib import Path

import pytest
from store_raw import literal, run_sql
from typer.testing import CliRunner

from taxgate import ledger, ledger_tree, merkle, witness
from taxgate.canonical import public_key_pem
from taxgate.cli.main import app
from taxgate.domain import LedgerEvent
from taxgate.errors import BadInput, IntegrityError
from taxgate.gateway import Gateway
from taxgate.settings import Settings
from taxgate.store import open_store
from taxgate.store.common import dump_payload

COLS = "seq, recorded_at, event_type, request_id, payload, prev_hash, entry_hash"


def _events(n: int, tag: str) -> list[LedgerEvent]:
    return [LedgerEvent("DISCLOSURE", {"record_id": f"{tag}{i}"}, "REQ-1") for i in range(n)]


@pytest.fixture
def witnessed(store_settings: Settings, tmp_path: Path) -> Settings:
    """A store of 300 disclosures (one whole 256-leaf tile and more) whose head is
    witnessed in a log the overseer keeps in its own folder."""
    overseer = tmp_path / "overseer"
    overseer.mkdir()
    settings = dataclasses.replace(store_settings, witness_file=str(overseer))
    with open_store(settings, create=True) as s:
        s.initialize()
        s.append_events(_events(300, "a"))
    with Gateway(settings) as gw:
        gw.checkpoint()
    return settings


def log_of(settings: Settings) -> list[witness.TreeHead]:
    assert settings.witness_path is not None
    return witness.read_log(settings.witness_path)


def public_key(settings: Settings):  # noqa: ANN201
    with open_store(settings) as s:
        return s.signing_key().public_key()


def append(settings: Settings, events: list[LedgerEvent]) -> None:
    with open_store(settings) as s:
        s.append_events(events)


def full_rebuild(settings: Settings, size: int) -> bytes:
    with open_store(settings) as s:
        leaves = [witness.entry_leaf(e) for e in s.ledger_entries() if e.seq <= size]
    return merkle.root(leaves)


# --- checkpoints --------------------------------------------------------------------------


def test_r28_a_checkpoint_signs_the_merkle_root_of_the_whole_ledger(witnessed: Settings):
    [head] = log_of(witnessed)
    with open_store(witnessed) as s:
        top = s.ledger_head()
    assert top is not None and head.tree_size == top.seq and head.head_hash == top.entry_hash
    assert head.root_bytes == full_rebuild(witnessed, top.seq)
    assert head.signed_by(public_key(witnessed)) and head.prior_size == 0
    assert witness.check_log(log_of(witnessed), public_key(witnessed)).ok


def test_r28_checkpoints_extend_the_tree_from_its_stored_frontier(witnessed: Settings):
    """Each checkpoint hashes only the entries after the tiles already stored; its root is
    the root a full rebuild gives, at tile boundaries and between them."""
    with open_store(witnessed) as s:
        tree = ledger_tree.StoredTree(s)
        assert s.ledger_tree_count(ledger_tree.TILE) == 1  # 301 entries: one whole tile
        assert tree.extend(301) == 0  # already there: nothing hashed again
    for n in (300, 211):  # 602 entries, then 814: tiles 2 and 3 are new
        append(witnessed, _events(n, f"b{n}"))
        with Gateway(witnessed) as gw:
            head, added = gw.checkpoint()
        assert added and head.root_bytes == full_rebuild(witnessed, head.tree_size)
    with open_store(witnessed) as s:
        assert s.ledger_tree_count(ledger_tree.TILE) == head.tree_size // 256
        assert ledger_tree.StoredTree(s).extend(head.tree_size) == 0
    report = witness.check_log(log_of(witnessed), public_key(witnessed))
    assert report.ok and report.checkpoints == 3
    with Gateway(witnessed) as gw:
        again, added = gw.checkpoint()
    assert not added and again == head and len(log_of(witnessed)) == 3


def test_r28_without_a_witness_log_checkpoint_is_bad_input(store_settings: Settings):
    with open_store(store_settings, create=True) as s:
        s.initialize()
    with Gateway(store_settings) as gw, pytest.raises(BadInput, match="TAXGATE_WITNESS"):
        gw.checkpoint()


# --- proofs -------------------------------------------------------------------------------


def test_r27_r28_every_disclosure_has_an_inclusion_proof_an_overseer_checks(
        witnessed: Settings):
    append(witnessed, _events(40, "c"))
    with Gateway(witnessed) as gw:
        gw.checkpoint()
        bundles = [gw.prove(entry=seq) for seq in (1, 2, 255, 256, 257, 300, 341)]
        early = gw.prove(entry=5, size=301)  # against the first checkpoint
        with pytest.raises(BadInput, match="not in a witnessed checkpoint"):
            gw.prove(entry=400)
    heads = log_of(witnessed)
    assert witness.check_log(heads, public_key(witnessed)).ok
    for b in [*bundles, early]:
        assert witness.check_bundle(json.loads(json.dumps(b)), heads) is None
    forged = json.loads(json.dumps(bundles[1]))
    forged["entry"]["payload"] = forged["entry"]["payload"].replace("a1", "a9")
    assert "does not hash" in (witness.check_bundle(forged, heads) or "")
    moved = json.loads(json.dumps(bundles[1]))
    moved["root"] = heads[0].root  # the right entry against a checkpoint it was not proven in
    assert witness.check_bundle(moved, heads) is not None


def test_r28_a_consistency_proof_links_two_checkpoints(witnessed: Settings):
    append(witnessed, _events(5, "d"))
    with Gateway(witnessed) as gw:
        gw.checkpoint()
        bundle = gw.prove(first=301)
    heads = log_of(witnessed)
    assert bundle["second_size"] == heads[-1].tree_size
    assert witness.check_bundle(bundle, heads) is None
    bundle["proof"] = bundle["proof"][:-1]
    assert "not a prefix" in (witness.check_bundle(bundle, heads) or "")


# --- the attack the witness is for --------------------------------------------------------


def rewrite_with_the_stores_key(settings: Settings, seq: int) -> None:
    """What an attacker holding the store and its key does: change entry ``seq``, chain
    and sign everything after it again with the gateway's own key, rebuild the Merkle
    tree from the rewritten ledger."""
    with open_store(settings) as s:
        old, key = list(s.ledger_entries()), s.signing_key()
    events = [LedgerEvent(e.event_type, e.payload, e.request_id)
              for e in old[seq - 1:] if e.event_type != ledger.CHECKPOINT]
    events[0] = LedgerEvent("DISCLOSURE", {"record_id": "rewritten"}, "REQ-1")
    new = ledger.chain(old[seq - 2], events, dt.datetime.now(dt.UTC), key=key)
    rows = [", ".join(literal(v) for v in (e.seq, e.recorded_at, e.event_type, e.request_id,
                                           dump_payload(e.payload), e.prev_hash, e.entry_hash))
            for e in new]
    run_sql(settings, f"DELETE FROM ledger WHERE seq >= {seq}", "DELETE FROM ledger_tree",
            *(f"INSERT INTO ledger ({COLS}) VALUES ({r})" for r in rows))
    with open_store(settings) as s:  # the chain alone now verifies: the attacker's key is good
        assert ledger.verify(s.ledger_entries(), key.public_key()).ok


def test_r28_r34_a_history_rewritten_with_the_stores_key_fails_the_witness_check(
        witnessed: Settings):
    append(witnessed, _events(20, "e"))
    with Gateway(witnessed) as gw:
        gw.checkpoint()
        honest_proof = gw.prove(entry=7)
    honest = log_of(witnessed)
    rewrite_with_the_stores_key(witnessed, 7)
    append(witnessed, _events(3, "f"))

    # the gateway will not publish a checkpoint that does not extend the witnessed one,
    # and records the failure so that disclosing commands refuse
    with Gateway(witnessed) as gw:
        with pytest.raises(IntegrityError, match=ledger_tree.WITNESS_DIVERGES):
            gw.checkpoint()
        assert ledger_tree.WITNESS_DIVERGES in (gw.open_failure() or "")
    assert log_of(witnessed) == honest

    # the attacker signs a checkpoint of the rewritten tree with the key and appends it
    # to the overseer's log: it cannot prove itself an extension of the witnessed one
    with open_store(witnessed) as s:
        top, key = s.ledger_head(), s.signing_key()
        assert top is not None
        tree = ledger_tree.StoredTree(s)
        forged = witness.signed_head(key, top.seq, tree.root(top.seq), top.entry_hash,
                                     "2026-12-03T12:00:00.000000Z", honest[-1].tree_size,
                                     tree.consistency(honest[-1].tree_size, top.seq))
        rewritten_proof = ledger_tree.prove_entry(s, witnessed.witness_path, 7)
    assert witnessed.witness_path is not None
    with witnessed.witness_path.open("ab") as f:
        f.write(forged.to_bytes())
    report = witness.check_log(log_of(witnessed), key.public_key())
    assert not report.ok and "history was rewritten" in (report.problem or "")
    assert report.checkpoints == len(honest)
    # the honest disclosure still proves against the overseer's checkpoint; the rewritten
    # entry does not
    assert witness.check_bundle(honest_proof, honest) is None
    assert witness.check_bundle(rewritten_proof, honest) is not None


def test_r28_a_ledger_behind_the_witness_publishes_nothing(witnessed: Settings):
    run_sql(witnessed, "DELETE FROM ledger WHERE seq > 250", "DELETE FROM ledger_tree")
    with Gateway(witnessed) as gw, pytest.raises(IntegrityError, match=ledger_tree.WITNESS_AHEAD):
        gw.checkpoint()


# --- the commands -------------------------------------------------------------------------


def test_r28_the_commands_publish_prove_and_verify_offline(witnessed: Settings,
                                                           tmp_path: Path):
    env = {"TAXGATE_STORE": witnessed.store, "TAXGATE_WITNESS": witnessed.witness_file}
    runner = CliRunner()
    append(witnessed, _events(2, "g"))
    done = runner.invoke(app, ["ledger", "checkpoint"], env=env)
    assert done.exit_code == 0 and "checkpoint appended: size 304" in done.output
    proof = tmp_path / "proof.json"
    done = runner.invoke(app, ["ledger", "prove", "--entry", "3", "--out", str(proof)], env=env)
    assert done.exit_code == 0, done.output
    key = tmp_path / "gateway.pub.pem"
    key.write_text(public_key_pem(public_key(witnessed)))
    log = witnessed.witness_path
    assert log is not None
    check = ["ledger", "witness-verify", "--witness", str(log), "--public-key", str(key),
             "--proof", str(proof)]
    done = runner.invoke(app, check, env={})  # no store named: none is needed
    assert done.exit_code == 0 and "2 checkpoints" in done.output and "verified" in done.output
    bad = json.loads(proof.read_text())
    bad["proof"][0] = "00" * 32
    proof.write_text(json.dumps(bad))
    done = runner.invoke(app, check, env={})
    assert done.exit_code == 4 and "is not in the witnessed checkpoint" in done.output
    done = runner.invoke(app, ["ledger", "prove", "--entry", "1", "--from", "3"], env=env)
    assert done.exit_code == 2 and "exactly one" in done.output
