"""The ledger export an overseer takes away, verified offline with the gateway's public
key alone (R28), and the oversight page's incremental verification (R34).

A small real embedded store (no filings, no model): its ledger holds the events that
adding web users logs, each commit closed by a signed checkpoint.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from taxgate.canonical import new_data_key
from taxgate.errors import BadInput, IntegrityError
from taxgate.gateway import Gateway
from taxgate.gateway.export import verify_export
from taxgate.settings import Settings


@pytest.fixture()
def gw(tmp_path: Path):
    settings = Settings(store=str(tmp_path / "store"), key_hex=new_data_key())
    with Gateway(settings) as g:
        g.init()
        for i in range(3):
            g.add_user(f"user{i}", "auditor", "a long enough password", actor="test")
        yield g


def _export(gw: Gateway, tmp_path: Path) -> tuple[Path, Path]:
    out = tmp_path / "ledger.jsonl"
    key = tmp_path / "gateway.pub.pem"
    key.write_text(gw.public_key_pem(), encoding="utf-8")
    seq, _ = gw.export_ledger(out, "ada")
    assert seq == len(out.read_text("utf-8").splitlines())
    return out, key


def test_r28_an_export_verifies_offline_and_its_export_is_logged(gw, tmp_path):
    out, key = _export(gw, tmp_path)
    report = verify_export(out, key)
    lines = [json.loads(x) for x in out.read_text("utf-8").splitlines()]
    assert report.entries == len(lines) and report.checkpoints >= 3
    assert lines[-1]["event_type"] == "CHECKPOINT"
    assert [x["seq"] for x in lines] == list(range(1, len(lines) + 1))
    with gw.lock() as s:
        logged = [e.payload for e in s.ledger_entries() if e.event_type == "LEDGER_EXPORTED"]
    assert logged == [{"actor": "ada", "through_seq": lines[-1]["seq"]}]


def test_r28_an_edited_export_or_one_cut_after_a_checkpoint_fails(gw, tmp_path):
    out, key = _export(gw, tmp_path)
    lines = out.read_text("utf-8").splitlines()
    edited = next(i for i, x in enumerate(lines) if '"USER_ADDED"' in x)
    bad = tmp_path / "edited.jsonl"
    bad.write_text("\n".join(lines[:edited] + [lines[edited].replace("user", "usex", 1)]
                             + lines[edited + 1:]) + "\n", encoding="utf-8")
    with pytest.raises(IntegrityError, match="EDITED"):
        verify_export(bad, key)
    cut = tmp_path / "cut.jsonl"  # ends on an entry no checkpoint signs
    cut.write_text("\n".join(lines[:edited + 1]) + "\n", encoding="utf-8")
    with pytest.raises(IntegrityError, match="not covered by a signed checkpoint"):
        verify_export(cut, key)
    other = tmp_path / "other.pem"  # another gateway's key: the checkpoints are forged
    with Gateway(Settings(store=str(tmp_path / "s2"), key_hex=new_data_key())) as g2:
        g2.init()
        other.write_text(g2.public_key_pem(), encoding="utf-8")
    with pytest.raises(IntegrityError, match="CHECKPOINT_FORGED"):
        verify_export(out, other)
    junk = tmp_path / "junk.jsonl"
    junk.write_text("not json\n", encoding="utf-8")
    with pytest.raises(BadInput, match="line 1"):
        verify_export(junk, key)


def test_r28_verify_export_command_needs_no_store(gw, tmp_path):
    out, key = _export(gw, tmp_path)
    env = {k: v for k, v in os.environ.items() if not k.startswith("TAXGATE_")}
    cmd = [sys.executable, "-m", "taxgate.cli", "ledger", "verify-export"]
    ok = subprocess.run([*cmd, str(out), "--public-key", str(key)], env=env,
                        capture_output=True, text=True, timeout=120)
    assert ok.returncode == 0, ok.stderr
    assert "export verified" in ok.stdout
    lines = out.read_text("utf-8").splitlines()
    out.write_text("\n".join(lines[:1] + lines[2:]) + "\n", encoding="utf-8")
    broken = subprocess.run([*cmd, str(out), "--public-key", str(key)], env=env,
                            capture_output=True, text=True, timeout=120)
    assert broken.returncode == 4 and "DELETED" in broken.stderr


def test_r34_oversight_verifies_only_what_was_added_since_the_last_view(gw):
    first = gw.oversight(viewer="ada")
    assert first.ledger_ok and "after seq 0" in first.ledger_detail
    state = gw._audit
    assert state is not None and state.checkpoint is not None
    seen_to = state.checkpoint.seq
    gw.add_user("user9", "auditor", "a long enough password", actor="test")
    second = gw.oversight(viewer="ada")
    assert second.ledger_ok and f"after seq {seen_to}" in second.ledger_detail
    assert second.entries > first.entries
    # a checkpoint the store no longer holds as it was: verified again from the genesis
    state.checkpoint = type(state.checkpoint)(
        state.checkpoint.seq, state.checkpoint.recorded_at, state.checkpoint.event_type,
        None, state.checkpoint.payload, state.checkpoint.prev_hash, "0" * 64)
    third = gw.oversight()
    assert third.ledger_ok and "after seq 0" in third.ledger_detail
    assert third.entries == second.entries + 2  # OVERSIGHT_VIEWED and its checkpoint
