"""Tampering with the real database, by raw SQL, is caught by ledger.verify: on every engine."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from store_raw import literal, run_sql

from taxgate import ledger
from taxgate.canonical import new_signing_key
from taxgate.domain import LedgerEvent
from taxgate.settings import Settings
from taxgate.store import open_store
from taxgate.store.common import dump_payload

COLS = "seq, recorded_at, event_type, request_id, payload, prev_hash, entry_hash"


@pytest.fixture
def filled(store_settings: Settings) -> Settings:
    """A store whose ledger holds 1-5, CP 6, 7-10, CP 11; closed."""
    with open_store(store_settings, create=True) as s:
        s.initialize()
        s.append_events([LedgerEvent("DISCLOSURE", {"record_id": f"r{i}"}, "REQ-1")
                         for i in range(5)])
        s.append_events([LedgerEvent("REVIEW_DECIDED", {"record_id": f"q{i}"}, "REQ-1")
                         for i in range(4)])
    return store_settings


def verify(settings: Settings) -> ledger.VerifyReport:
    with open_store(settings) as s:
        return ledger.verify(s.ledger_entries(), s.signing_key().public_key())


def problem(settings: Settings) -> tuple[str, int]:
    report = verify(settings)
    assert report.problem is not None, "tampering went unnoticed"
    return report.problem.kind, report.problem.seq


def entries(settings: Settings) -> list[ledger.LedgerEntry]:
    with open_store(settings) as s:
        return list(s.ledger_entries())


def insert_sql(e: ledger.LedgerEntry) -> str:
    values = [e.seq, e.recorded_at, e.event_type, e.request_id, dump_payload(e.payload),
              e.prev_hash, e.entry_hash]
    return f"INSERT INTO ledger ({COLS}) VALUES ({', '.join(literal(v) for v in values)})"


def test_untouched_ledger_verifies(filled: Settings) -> None:
    report = verify(filled)
    assert report.ok and report.entries == 11 and report.checkpoints == 2


def test_edit_is_caught(filled: Settings) -> None:
    run_sql(filled, "UPDATE ledger SET payload = '{\"record_id\":\"rX\"}' WHERE seq = 3")
    assert problem(filled) == (ledger.EDITED, 3)


def test_edit_with_rehash_is_caught(filled: Settings) -> None:
    e = entries(filled)[2]
    forged = dataclasses.replace(e, payload={"record_id": "rX"})
    forged = dataclasses.replace(forged, entry_hash=ledger._own_hash(forged))
    run_sql(filled, "DELETE FROM ledger WHERE seq = 3", insert_sql(forged))
    assert problem(filled) == (ledger.EDITED, 3)


def test_deletion_is_caught(filled: Settings) -> None:
    run_sql(filled, "DELETE FROM ledger WHERE seq = 3")
    assert problem(filled) == (ledger.DELETED, 3)


def test_deletion_with_renumbering_is_caught(filled: Settings) -> None:
    run_sql(filled, "DELETE FROM ledger WHERE seq = 3",
            "UPDATE ledger SET seq = seq + 1000000 WHERE seq > 3",
            "UPDATE ledger SET seq = seq - 1000001 WHERE seq > 1000000")
    assert problem(filled) == (ledger.DELETED, 3)


def test_truncated_tail_is_caught_with_an_anchor(filled: Settings) -> None:
    head = entries(filled)[-1]
    run_sql(filled, "DELETE FROM ledger WHERE seq > 6")
    with open_store(filled) as s:
        report = ledger.verify(s.ledger_entries(), s.signing_key().public_key(),
                               anchor=(head.seq, head.entry_hash))
    assert report.problem is not None and report.problem.kind == ledger.DELETED


def test_insertion_is_caught(filled: Settings) -> None:
    before = entries(filled)
    [x] = ledger.chain(before[1], [LedgerEvent("DISCLOSURE", {"record_id": "forged"}, "REQ-1")],
                       dt.datetime.now(dt.UTC))
    run_sql(filled, "UPDATE ledger SET seq = seq + 1000000 WHERE seq >= 3",
            "UPDATE ledger SET seq = seq - 999999 WHERE seq > 1000000", insert_sql(x))
    assert problem(filled) == (ledger.INSERTED, 3)


def test_reordering_is_caught(filled: Settings) -> None:
    run_sql(filled, "UPDATE ledger SET seq = -1 WHERE seq = 3",
            "UPDATE ledger SET seq = 3 WHERE seq = 4",
            "UPDATE ledger SET seq = 4 WHERE seq = -1")
    assert problem(filled) == (ledger.REORDERED, 3)


def test_rewritten_chain_with_forged_checkpoints_is_caught(filled: Settings) -> None:
    """Edit seq 3 and recompute every hash after it; the attacker lacks the gateway key."""
    old = entries(filled)
    events = [LedgerEvent(e.event_type, e.payload, e.request_id)
              for e in old[2:] if e.event_type != ledger.CHECKPOINT]
    events[0] = LedgerEvent("DISCLOSURE", {"record_id": "rX"}, "REQ-1")
    new = ledger.chain(old[1], events[:3], dt.datetime.now(dt.UTC),
                       key=new_signing_key())
    run_sql(filled, "DELETE FROM ledger WHERE seq > 2", *(insert_sql(e) for e in new))
    assert problem(filled) == (ledger.CHECKPOINT_FORGED, 6)


@settings(max_examples=15, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_any_changed_byte_in_a_stored_payload_is_caught(
    filled: Settings, data: st.DataObject
) -> None:
    original = entries(filled)
    target = data.draw(st.sampled_from(original))
    text = dump_payload(target.payload)
    pos = data.draw(st.integers(0, len(text) - 1))
    char = data.draw(st.characters(min_codepoint=0x20, max_codepoint=0x7E).filter(
        lambda c: c != text[pos]))
    changed = text[:pos] + char + text[pos + 1:]
    assert hashlib.sha256(changed.encode()).digest() != hashlib.sha256(text.encode()).digest()
    run_sql(filled, f"UPDATE ledger SET payload = {literal(changed)} WHERE seq = {target.seq}")
    try:
        assert not verify(filled).ok
    finally:
        run_sql(filled, f"UPDATE ledger SET payload = {literal(text)} WHERE seq = {target.seq}")
    assert verify(filled).ok
