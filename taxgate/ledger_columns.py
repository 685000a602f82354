"""The ledger's chain as columns: what the stores write, without an object per entry.

:func:`chain_columns` makes exactly the entries :func:`taxgate.ledger.chain` makes for
the same events, head and clock (a test holds the two equal byte for byte), but as the
columns of the rows a store inserts (:class:`EntryColumns`), a batch at a time, and it
also takes a :class:`~taxgate.domain.PayloadBatch`: many events whose payloads are
canonical bytes already (a request's DISCLOSUREs), each hashed as it is. A request's
million disclosures so cost a hash and a few list appends each, no dict or entry object.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa

from taxgate.canonical import canonical_json
from taxgate.domain import LedgerEntry, LedgerItem, PayloadBatch
from taxgate.ledger import (
    CHECKPOINT,
    CHECKPOINT_EVERY,
    GENESIS,
    StoredPayload,
    checkpoint_payload,
    scalar_bytes,
    timestamp,
)

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey


@dataclass(frozen=True)
class EntryColumns:
    """Consecutive chained entries as columns, the rows a store writes: entry ``i`` has
    seq ``first_seq + i`` and, as its prev_hash, the entry_hash before it (``prev_hash``
    for the first). ``payloads``: the exact bytes hashed and stored; ``values``: the
    payload as given (None where a PayloadBatch gave its bytes alone); ``hashes``: the
    entry hashes as ASCII bytes."""

    recorded_at: str
    first_seq: int
    prev_hash: str
    event_types: list[str] = field(default_factory=list)
    request_ids: list[str | None] = field(default_factory=list)
    payloads: list[bytes] = field(default_factory=list)
    values: list[dict[str, Any] | None] = field(default_factory=list)
    hashes: list[bytes] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.hashes)

    @property
    def entry_hashes(self) -> list[str]:
        return [h.decode("ascii") for h in self.hashes]

    def seqs(self) -> range:
        return range(self.first_seq, self.first_seq + len(self))

    def prev_hashes(self) -> list[str]:
        return [self.prev_hash, *self.entry_hashes[:-1]]

    def texts(self) -> list[str]:
        """The payloads as the stores keep them: text."""
        return [p.decode("utf-8", "surrogatepass") for p in self.payloads]

    def table(self) -> pa.Table:
        """The entries as a ledger table's rows (its columns by name), the text columns
        made from the bytes as they are (checked to be UTF-8), no string each."""
        n = len(self)
        return pa.table({
            "seq": pa.array(self.seqs(), pa.int64()),
            "recorded_at": pa.array([self.recorded_at] * n, pa.string()),
            "event_type": pa.array(self.event_types, pa.string()),
            "request_id": pa.array(self.request_ids, pa.string()),
            "payload": _text(self.payloads),
            "prev_hash": _text([self.prev_hash.encode("utf-8"), *self.hashes[:-1]]),
            "entry_hash": _text(self.hashes),
        })

    def rows(self) -> Iterator[tuple[Any, ...]]:
        """(seq, recorded_at, event_type, request_id, payload text, prev_hash,
        entry_hash) of each entry: a ledger table's row."""
        return zip(self.seqs(), itertools.repeat(self.recorded_at), self.event_types,
                   self.request_ids, self.texts(), self.prev_hashes(), self.entry_hashes,
                   strict=False)  # the columns are of one length; the time repeats

    def entry(self, i: int) -> LedgerEntry:
        """Entry ``i`` (negative: from the end) as a :class:`LedgerEntry`."""
        i = range(len(self))[i]
        payload = self.values[i]
        if payload is None:
            payload = StoredPayload(json.loads(self.payloads[i]), self.payloads[i])
        return LedgerEntry(self.first_seq + i, self.recorded_at, self.event_types[i],
                           self.request_ids[i], payload,
                           self.hashes[i - 1].decode("ascii") if i else self.prev_hash,
                           self.hashes[i].decode("ascii"))

    def entries(self) -> list[LedgerEntry]:
        return [self.entry(i) for i in range(len(self))]


def chain_columns(
    prev: LedgerEntry | None,
    events: Iterable[LedgerItem],
    now: dt.datetime,
    *,
    key: Ed25519PrivateKey | None = None,
    checkpoint_every: int = CHECKPOINT_EVERY,
    batch: int = 50_000,
) -> Iterator[EntryColumns]:
    """:func:`taxgate.ledger.chain` over any number of events, as columns of about
    ``batch`` entries (a PayloadBatch is not split), so a request's million disclosures
    never sit in memory at once. Read lazily; the last columns end with the closing
    checkpoint (with a ``key``)."""
    run = _Chainer(prev, now, key, checkpoint_every)
    for ev in events:
        if isinstance(ev, PayloadBatch):
            run.add(ev.event_type, ev.request_id, ev.payloads, None)
        else:
            payload = ev.payload
            if not isinstance(payload, StoredPayload):  # serialized once, copied: ours
                payload = StoredPayload(dict(payload), canonical_json(payload))
            run.add(ev.event_type, ev.request_id, (payload.stored,), payload)
        if len(run.cols) >= batch:
            yield run.flush()
    if key is not None and run.last_type not in (None, CHECKPOINT):
        run.checkpoint(key)
    if len(run.cols):
        yield run.flush()


class _Chainer:
    """The running head of :func:`chain_columns` and the columns it fills."""

    def __init__(self, prev: LedgerEntry | None, now: dt.datetime,
                 key: Ed25519PrivateKey | None, every: int) -> None:
        self.recorded_at = timestamp(now)
        self.seq = prev.seq if prev else 0
        self.head = prev.entry_hash if prev else GENESIS
        self.key, self.every = key, every
        self.last_type: str | None = None
        self.cols = EntryColumns(self.recorded_at, self.seq + 1, self.head)

    def flush(self) -> EntryColumns:
        cols, self.cols = self.cols, EntryColumns(self.recorded_at, self.seq + 1, self.head)
        return cols

    def checkpoint(self, key: Ed25519PrivateKey) -> None:
        made = checkpoint_payload(key, self.seq, self.head)
        payload = StoredPayload(made, canonical_json(made))
        self._hash(CHECKPOINT, None, (payload.stored,), payload)

    def add(self, event_type: str, request_id: str | None, payloads: Sequence[bytes],
            value: dict[str, Any] | None) -> None:
        """Chain ``payloads`` (of one type and request), with a key a checkpoint before
        each entry whose seq would follow a multiple of ``every``, as ``chain`` does."""
        i, key, every = 0, self.key, self.every
        while i < len(payloads):
            room = len(payloads) - i
            if key is not None:
                if (self.seq + 1) % every == 0:
                    self.checkpoint(key)
                # this entry, then those before the next check that finds a multiple
                room = min(room, ((self.seq + 1) // every + 1) * every - self.seq - 1)
            self._hash(event_type, request_id, payloads[i:i + room], value)
            i += room

    def _hash(self, event_type: str, request_id: str | None, payloads: Sequence[bytes],
              value: dict[str, Any] | None) -> None:
        """Append entries in a row with no checkpoint among them: each entry_hash is
        ``sha256(prev_hash || body)``, the body put together as ledger.entry_body does."""
        pre = b'{"event_type":' + scalar_bytes(event_type) + b',"payload":'
        post = (b',"recorded_at":' + scalar_bytes(self.recorded_at) + b',"request_id":'
                + scalar_bytes(request_id) + b',"seq":')
        cols, sha256 = self.cols, hashlib.sha256
        hashes, seq, head = cols.hashes, self.seq, self.head.encode("ascii")
        for p in payloads:
            seq += 1
            head = sha256(b"%s%s%s%s%d}" % (head, pre, p, post, seq)).hexdigest().encode()
            hashes.append(head)
        n = seq - self.seq
        cols.payloads.extend(payloads)
        cols.event_types.extend([event_type] * n)
        cols.request_ids.extend([request_id] * n)
        cols.values.extend([value] * n)
        self.seq, self.head, self.last_type = seq, head.decode("ascii"), event_type


def _text(parts: list[bytes]) -> pa.LargeStringArray:
    """A text column of these UTF-8 bytes: one buffer and its offsets, checked."""
    ends = np.cumsum(np.fromiter(map(len, parts), np.int64, len(parts)))
    column = pa.LargeStringArray.from_buffers(
        len(parts), pa.py_buffer(np.concatenate((np.zeros(1, np.int64), ends))),
        pa.py_buffer(b"".join(parts)))
    column.validate(full=True)
    return column
