"""The ledger's chain and verification, pure (no store): every kind of tampering."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from taxgate import ledger
from taxgate.canonical import new_signing_key
from taxgate.domain import LedgerEntry, LedgerEvent
from taxgate.errors import LedgerBroken

NOW = dt.datetime(2026, 11, 20, 14, 0, tzinfo=dt.UTC)
KEY = new_signing_key()
PUB = KEY.public_key()


def events(n: int, start: int = 0) -> list[LedgerEvent]:
    return [LedgerEvent("DISCLOSURE", {"record_id": f"r{start + i}", "n": i}, "REQ-1")
            for i in range(n)]


def build(n: int = 20, every: int = 10_000) -> list[LedgerEntry]:
    return ledger.chain(None, events(n), NOW, key=KEY, checkpoint_every=every)


def renumber(entries: list[LedgerEntry], start: int) -> list[LedgerEntry]:
    """Seq = position + 1 from ``start`` on, as raw SQL renumbering would leave them."""
    return entries[:start] + [dataclasses.replace(e, seq=i + 1)
                              for i, e in enumerate(entries) if i >= start]


def test_genesis_and_hash_formula() -> None:
    [e, cp] = build(1)
    assert e.seq == 1 and e.prev_hash == ledger.GENESIS
    body = ledger.entry_body(1, e.recorded_at, e.event_type, e.request_id, e.payload)
    import hashlib
    assert e.entry_hash == hashlib.sha256(ledger.GENESIS.encode() + body).hexdigest()
    assert cp.event_type == ledger.CHECKPOINT and cp.payload["seq"] == 1
    assert cp.payload["entry_hash"] == e.entry_hash and cp.prev_hash == e.entry_hash


def test_chain_continues_from_prev() -> None:
    first = build(3)
    more = ledger.chain(first[-1], events(2, 3), NOW, key=KEY)
    assert more[0].seq == first[-1].seq + 1 and more[0].prev_hash == first[-1].entry_hash
    report = ledger.verify(first + more, PUB)
    assert report.ok and report.entries == 7 and report.unsigned_tail == 0


def test_checkpoints_every_n_and_at_the_end() -> None:
    entries = build(25, every=10)
    cps = [e.seq for e in entries if e.event_type == ledger.CHECKPOINT]
    assert cps[:2] == [10, 20] and cps[-1] == entries[-1].seq
    assert ledger.verify(entries, PUB).checkpoints == len(cps)


def test_without_key_no_checkpoints_and_unsigned_tail() -> None:
    entries = ledger.chain(None, events(5), NOW)
    report = ledger.verify(entries, PUB)
    assert report.ok and report.checkpoints == 0 and report.unsigned_tail == 5


def test_recorded_at_is_utc_z() -> None:
    [e] = ledger.chain(None, events(1), NOW)
    assert e.recorded_at == "2026-11-20T14:00:00.000000Z"


def test_clean_ledger_verifies() -> None:
    report = ledger.verify(build(), PUB)
    assert report.ok and report.problem is None
    report.raise_if_broken()


def kind(entries: list[LedgerEntry]) -> tuple[str, int]:
    report = ledger.verify(entries, PUB)
    assert report.problem is not None
    with pytest.raises(LedgerBroken):
        report.raise_if_broken()
    return report.problem.kind, report.problem.seq


def test_edit_is_caught() -> None:
    e = build()
    e[4] = dataclasses.replace(e[4], payload={**e[4].payload, "n": 99})
    assert kind(e) == (ledger.EDITED, 5)


def test_edit_and_rehash_is_caught_at_the_edited_entry() -> None:
    e = build()
    x = dataclasses.replace(e[4], payload={"record_id": "forged"})
    e[4] = dataclasses.replace(x, entry_hash=ledger._own_hash(x))
    assert kind(e) == (ledger.EDITED, 5)


def test_deletion_gap_is_caught() -> None:
    e = build()
    del e[6]
    assert kind(e) == (ledger.DELETED, 7)


def test_deletion_with_renumbering_is_caught() -> None:
    e = build()
    del e[6]
    assert kind(renumber(e, 6)) == (ledger.DELETED, 7)


def test_insertion_with_renumbering_is_caught() -> None:
    e = build()
    prev = e[5]
    [forged] = ledger.chain(prev, [LedgerEvent("DISCLOSURE", {"record_id": "x"})], NOW)
    e.insert(6, forged)
    assert kind(renumber(e, 7)) == (ledger.INSERTED, 7)


def test_insertion_with_bad_link_is_caught() -> None:
    e = build()
    x = dataclasses.replace(e[6], prev_hash="f" * 64, payload={"record_id": "x"})
    x = dataclasses.replace(x, entry_hash=ledger._own_hash(x))
    e.insert(6, x)
    assert kind(renumber(e, 7)) == (ledger.INSERTED, 7)


def test_duplicate_is_an_insertion() -> None:
    e = build()
    e.insert(6, e[5])
    assert kind(e) == (ledger.INSERTED, 6)


def test_swap_by_seq_is_a_reordering() -> None:
    e = build()
    a, b = e[3], e[4]
    e[3], e[4] = dataclasses.replace(b, seq=4), dataclasses.replace(a, seq=5)
    assert kind(e) == (ledger.REORDERED, 4)


def test_stream_out_of_order_is_a_reordering() -> None:
    e = build()
    e[3], e[5] = e[5], e[3]
    k, _ = kind(e)
    assert k in (ledger.REORDERED, ledger.DELETED)
    e = build()
    e[3], e[4] = e[4], e[3]
    assert kind(e)[0] == ledger.DELETED  # seq 4 missing where 5 arrives first
    assert kind(build()[:3] + [build()[1]])[0] == ledger.REORDERED


def test_forged_checkpoint_is_caught() -> None:
    """Rewrite everything from seq 3 with a new key: hashes agree, signatures do not."""
    e = build(8, every=5)
    forger = new_signing_key()
    tail = ledger.chain(e[1], [LedgerEvent(x.event_type, x.payload, x.request_id)
                               for x in e[2:] if x.event_type != ledger.CHECKPOINT],
                        NOW, key=forger, checkpoint_every=5)
    assert kind(e[:2] + tail) == (ledger.CHECKPOINT_FORGED, 5)


def test_checkpoint_covering_another_entry_is_caught() -> None:
    e = build(3)
    cp = e[-1]
    bad = ledger.checkpoint_payload(KEY, 1, e[0].entry_hash)
    x = dataclasses.replace(cp, payload=bad)
    e[-1] = dataclasses.replace(x, entry_hash=ledger._own_hash(x))
    assert kind(e) == (ledger.CHECKPOINT_MISMATCH, 4)


def test_anchor_catches_truncation_and_rewrites() -> None:
    e = build()
    anchor = (e[-1].seq, e[-1].entry_hash)
    assert ledger.verify(e, PUB, anchor=anchor).ok
    assert ledger.verify(e[:-3], PUB, anchor=anchor).problem.kind == ledger.DELETED
    assert ledger.verify(e, PUB, anchor=(5, "0" * 64)).problem.kind == ledger.EDITED


def test_verify_from_a_trusted_start() -> None:
    e = build()
    report = ledger.verify(e[10:], PUB, start=e[9])
    assert report.ok and report.entries == len(e) - 10


@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_any_changed_byte_in_a_payload_is_caught(data: st.DataObject) -> None:
    """Property: flip any byte of any stored payload text and verify fails."""
    from taxgate.store.common import dump_payload, load_payload

    e = build(6)
    i = data.draw(st.integers(0, len(e) - 1))
    text = dump_payload(e[i].payload).encode()
    pos = data.draw(st.integers(0, len(text) - 1))
    new = data.draw(st.integers(0, 255).filter(lambda b: b != text[pos]))
    changed = text[:pos] + bytes([new]) + text[pos + 1:]
    e[i] = dataclasses.replace(e[i], payload=load_payload(changed.decode("utf-8", "replace")))
    assert not ledger.verify(e, PUB).ok
