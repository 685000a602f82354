"""R27/R28: the chain the stores write (ledger_columns.chain_columns, columns, payload
batches taken as bytes) is the ledger's chain (ledger.chain) byte for byte: the same
seqs, times, payload bytes, hashes and signed checkpoints, wherever the batches and the
checkpoints fall."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from taxgate import ledger
from taxgate.canonical import canonical_json, new_signing_key
from taxgate.domain import LedgerEntry, LedgerEvent, LedgerItem, PayloadBatch
from taxgate.ledger_columns import chain_columns

NOW = dt.datetime(2026, 12, 4, 23, 59, 59, 123456, tzinfo=dt.UTC)
KEY = new_signing_key()
text = st.text(st.characters(codec="utf-8"), max_size=8)


def _payload(record_id: str, n: int) -> dict[str, Any]:
    return {"record_id": record_id, "n": n, "note": "ü \\ \" \n"}


@st.composite
def items(draw: st.DrawFn) -> list[LedgerItem]:
    """Plain events, events read back (StoredPayload) and payload batches, mixed."""
    out: list[LedgerItem] = []
    for i in range(draw(st.integers(0, 6))):
        kind = draw(st.sampled_from(["event", "stored", "batch"]))
        rid = draw(st.none() | st.sampled_from(["REQ-1", "REQ-ü"]))
        if kind == "batch":
            names = draw(st.lists(text, max_size=12))
            out.append(PayloadBatch("DISCLOSURE", rid, ("n", "note", "record_id"),
                                    [canonical_json(_payload(r, i)) for r in names]))
        else:
            payload = _payload(draw(text), i)
            if kind == "stored":
                payload = ledger.StoredPayload(payload, canonical_json(payload))
            out.append(LedgerEvent(draw(st.sampled_from(["DISCLOSURE", "OTHER"])), payload,
                                   rid))
    return out


def _one_by_one(events: list[LedgerItem]) -> list[LedgerEvent]:
    """The same events, each batch spelled out as the events it stands for."""
    out: list[LedgerEvent] = []
    for ev in events:
        if isinstance(ev, PayloadBatch):
            out += [LedgerEvent(ev.event_type, json.loads(p), ev.request_id)
                    for p in ev.payloads]
        else:
            out.append(ev)
    return out


def _row(e: LedgerEntry) -> tuple[Any, ...]:
    return (e.seq, e.recorded_at, e.event_type, e.request_id, ledger.payload_bytes(e.payload),
            e.prev_hash, e.entry_hash)


def _documented_hash(e: LedgerEntry) -> str:
    """The entry hash recomputed as docs/ledger.md tells a reader to."""
    body = json.dumps({"seq": e.seq, "recorded_at": e.recorded_at, "event_type": e.event_type,
                       "request_id": e.request_id, "payload": e.payload},
                      sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    return hashlib.sha256(e.prev_hash.encode("ascii") + body).hexdigest()


@settings(max_examples=150, deadline=None)
@given(events=items(), every=st.integers(1, 7), signed=st.booleans(),
       batch=st.sampled_from([1, 2, 5, 50_000]), after=st.integers(0, 9))
def test_r27_columns_are_the_chain_byte_for_byte(
    events: list[LedgerItem], every: int, signed: bool, batch: int, after: int
) -> None:
    key = KEY if signed else None
    prev = ledger.chain(None, [LedgerEvent("OTHER", {"n": i}) for i in range(after)], NOW,
                        key=key, checkpoint_every=every)
    head = prev[-1] if prev else None
    slow = ledger.chain(head, _one_by_one(events), NOW, key=key, checkpoint_every=every)
    columns = list(chain_columns(head, events, NOW, key=key, checkpoint_every=every,
                                 batch=batch))
    fast = [e for cols in columns for e in cols.entries()]
    assert [_row(e) for e in fast] == [_row(e) for e in slow]
    assert [e.payload for e in fast] == [e.payload for e in slow]
    # the rows a store writes are those entries, payloads as text
    rows = [row for cols in columns for row in cols.rows()]
    assert rows == [(*r[:4], r[4].decode(), *r[5:]) for r in map(_row, slow)]
    assert [tuple(r.values()) for cols in columns for r in cols.table().to_pylist()] == rows
    assert all(len(cols) for cols in columns)
    assert all(_documented_hash(e) == e.entry_hash for e in fast)
    if key is not None:
        report = ledger.verify(prev + fast, KEY.public_key())
        assert report.ok and report.unsigned_tail == 0


def test_r28_a_big_batch_is_chained_in_columns_with_its_checkpoints() -> None:
    payloads = [canonical_json({"record_id": f"R-{i}"}) for i in range(25_001)]
    events: list[LedgerItem] = [LedgerEvent("REQUEST_RECEIVED", {"n": 1}, "REQ-1"),
                                PayloadBatch("DISCLOSURE", "REQ-1", ("record_id",), payloads)]
    columns = list(chain_columns(None, events, NOW, key=KEY, checkpoint_every=10_000,
                                 batch=10_000))
    entries = [e for cols in columns for e in cols.entries()]
    assert [len(c) for c in columns] == [25_004, 1]  # a batch is not split; then the close
    assert [e.seq for e in entries if e.event_type == ledger.CHECKPOINT] == [
        10_000, 20_000, 25_005]
    assert columns[-1].entry(-1).event_type == ledger.CHECKPOINT
    assert ledger.verify(entries, KEY.public_key()).ok
