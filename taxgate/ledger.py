"""The ledger: hash-chained, append-only entries and their verification. No SQL.

Each entry is hashed with the one before it::

    entry_hash = sha256(prev_hash || canonical_json({seq, recorded_at, event_type,
                                                     request_id, payload}))

where ``prev_hash`` is the previous entry's hex hash as ASCII (64 zeros for the
first entry). A CHECKPOINT entry signs the seq and hash of the entry before it with
the gateway's Ed25519 key, so the chain cannot be rewritten without that key.
The stores chain inside the transaction that writes the entries, with
:func:`taxgate.ledger_columns.chain_columns` (exactly :func:`chain`'s entries, as
columns); :func:`verify` streams any iterable of entries (a store, an export file) and names
the first entry that was edited, deleted, inserted or reordered. See docs/ledger.md.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import gc
import hashlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from taxgate.canonical import canonical_json, sign
from taxgate.canonical import verify as verify_signature
from taxgate.domain import LedgerEntry, LedgerEvent
from taxgate.errors import LedgerBroken
from taxgate.ledger_events import Checkpoint

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import (
        Ed25519PrivateKey,
        Ed25519PublicKey,
    )

GENESIS = "0" * 64
CHECKPOINT = Checkpoint.TYPE
CHECKPOINT_EVERY = 10_000  # default: a signed checkpoint lands on every seq that is a multiple
CHECKPOINT_PURPOSE = "taxgate-ledger-checkpoint-v1"  # domain separation of the signature
_RESEQ_WINDOW = 1_000  # how far verify looks for the seq an entry was hashed with

# Kinds of break, in the order verify tells them apart (see docs/ledger.md).
EDITED, DELETED, INSERTED, REORDERED = "EDITED", "DELETED", "INSERTED", "REORDERED"
CHECKPOINT_FORGED, CHECKPOINT_MISMATCH = "CHECKPOINT_FORGED", "CHECKPOINT_MISMATCH"


def timestamp(now: dt.datetime) -> str:
    """UTC ISO-8601 with microseconds and a ``Z``: the form ``recorded_at`` is kept in."""
    if now.tzinfo is None:
        now = now.replace(tzinfo=dt.UTC)
    return now.astimezone(dt.UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


@functools.lru_cache(maxsize=4096)
def scalar_bytes(value: str | None) -> bytes:
    """canonical_json of a string or None, cached: batches repeat the same few values."""
    return canonical_json(value)


class StoredPayload(dict[str, Any]):
    """A payload read back from storage, carrying the exact bytes it was stored as.

    Hashing uses those bytes, not a re-serialization, so any changed byte of the
    stored text changes the hash even where it would parse to an equal value.
    """

    def __init__(self, value: dict[str, Any], stored: bytes) -> None:
        super().__init__(value)
        self.stored = stored


def payload_bytes(payload: dict[str, Any]) -> bytes:
    """The canonical bytes of a payload (its stored bytes when it was read back)."""
    if isinstance(payload, StoredPayload):
        return payload.stored
    return canonical_json(payload)


def entry_body(
    seq: int, recorded_at: str, event_type: str, request_id: str | None, payload: dict[str, Any]
) -> bytes:
    """The canonical bytes of ``{seq, recorded_at, event_type, request_id, payload}``.

    Assembled field by field in sorted key order, which is byte-for-byte
    ``canonical_json`` of that object (JSON serializes compositionally).
    """
    return b"".join((
        b'{"event_type":', scalar_bytes(event_type),
        b',"payload":', payload_bytes(payload),
        b',"recorded_at":', scalar_bytes(recorded_at),
        b',"request_id":', scalar_bytes(request_id),
        b',"seq":', str(int(seq)).encode("ascii"), b"}",
    ))


def hash_entry(
    prev_hash: str,
    seq: int,
    recorded_at: str,
    event_type: str,
    request_id: str | None,
    payload: dict[str, Any],
) -> str:
    """``sha256(prev_hash || canonical body)`` as 64 hex digits."""
    body = entry_body(seq, recorded_at, event_type, request_id, payload)
    return hashlib.sha256(prev_hash.encode("ascii") + body).hexdigest()


def _own_hash(e: LedgerEntry, seq: int | None = None) -> str:
    s = e.seq if seq is None else seq
    return hash_entry(e.prev_hash, s, e.recorded_at, e.event_type, e.request_id, e.payload)


def checkpoint_message(seq: int, entry_hash: str) -> bytes:
    """The bytes a CHECKPOINT signs: the seq and hash of the entry before it."""
    return canonical_json({"purpose": CHECKPOINT_PURPOSE, "seq": seq, "entry_hash": entry_hash})


def checkpoint_payload(key: Ed25519PrivateKey, seq: int, entry_hash: str) -> dict[str, Any]:
    signature = sign(key, checkpoint_message(seq, entry_hash))
    return Checkpoint(seq=seq, entry_hash=entry_hash, signature=signature).payload()


def chain(
    prev: LedgerEntry | None,
    events: Sequence[LedgerEvent],
    now: dt.datetime,
    *,
    key: Ed25519PrivateKey | None = None,
    checkpoint_every: int = CHECKPOINT_EVERY,
    close: bool = True,
) -> list[LedgerEntry]:
    """Hash-chain ``events`` after ``prev`` (None: the genesis).

    With a signing ``key``, a CHECKPOINT is inserted wherever its seq is a multiple
    of ``checkpoint_every``, and (``close``) one ends the batch, so every committed
    transaction leaves the whole ledger signed. Without a key no checkpoint is made.
    A payload that is a :class:`StoredPayload` is logged as its bytes, not serialized again.
    """
    recorded_at = timestamp(now)
    seq = prev.seq if prev else 0
    head = prev.entry_hash if prev else GENESIS
    out: list[LedgerEntry] = []

    def add(event_type: str, request_id: str | None, payload: dict[str, Any]) -> None:
        nonlocal seq, head
        seq += 1
        if not isinstance(payload, StoredPayload):  # serialized once, copied so it is ours
            payload = StoredPayload(dict(payload), canonical_json(payload))
        h = hash_entry(head, seq, recorded_at, event_type, request_id, payload)
        out.append(LedgerEntry(seq, recorded_at, event_type, request_id, payload, head, h))
        head = h

    for ev in events:
        if key is not None and (seq + 1) % checkpoint_every == 0:
            add(CHECKPOINT, None, checkpoint_payload(key, seq, head))
        add(ev.event_type, ev.request_id, ev.payload)
    if key is not None and close and out and out[-1].event_type != CHECKPOINT:
        add(CHECKPOINT, None, checkpoint_payload(key, seq, head))
    return out


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector while a store chains and writes a batch of
    entries: they are a million small acyclic objects (events, payloads, entries) that
    reference counting frees, and the collector would rescan the heap every few thousand
    of them (a third of the ledger's Python time, measured)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


@dataclass(frozen=True)
class Problem:
    """The first break found: its kind, the seq where it is, and a one-line detail."""

    kind: str
    seq: int
    detail: str


@dataclass(frozen=True)
class VerifyReport:
    """What :func:`verify` found. ``ok`` is false exactly when ``problem`` is set."""

    entries: int
    last_seq: int
    last_hash: str
    checkpoints: int
    last_signed_seq: int  # the last seq a valid checkpoint covers (itself included)
    problem: Problem | None = None

    @property
    def ok(self) -> bool:
        return self.problem is None

    @property
    def unsigned_tail(self) -> int:
        """Entries after the last valid checkpoint (0 for a ledger a store wrote)."""
        return self.last_seq - self.last_signed_seq

    def raise_if_broken(self) -> None:
        if self.problem is not None:
            p = self.problem
            raise LedgerBroken(f"ledger {p.kind} at seq {p.seq}: {p.detail}")


def _recorded_seq(e: LedgerEntry, around: int) -> int | None:
    """The seq this entry was hashed with, if it is near ``around`` (a moved entry)."""
    for d in range(1, _RESEQ_WINDOW + 1):
        for s in (around - d, around + d):
            if s > 0 and _own_hash(e, s) == e.entry_hash:
                return s
    return None


def _classify_bad_hash(e: LedgerEntry, nxt: LedgerEntry | None) -> Problem:
    """An entry whose own hash fails: edited, or moved by a deletion/insertion/swap."""
    true_seq = _recorded_seq(e, e.seq)
    if true_seq is None:
        return Problem(EDITED, e.seq, "entry hash does not match its contents")
    if true_seq < e.seq:
        return Problem(INSERTED, e.seq - 1, f"entry {true_seq} was pushed to seq {e.seq}")
    nxt_true = None
    if nxt is not None and _own_hash(nxt) != nxt.entry_hash:
        nxt_true = _recorded_seq(nxt, nxt.seq)
    if nxt_true is not None and nxt_true < true_seq:
        return Problem(REORDERED, e.seq, f"entry {true_seq} stored at seq {e.seq}")
    return Problem(DELETED, e.seq, f"entry {e.seq} missing; later entries renumbered")


def _classify_bad_link(e: LedgerEntry, prev2: str | None, nxt: LedgerEntry | None) -> Problem:
    """An entry with a good own hash whose prev_hash is not its predecessor's hash."""
    if prev2 is not None and e.prev_hash == prev2:
        return Problem(INSERTED, e.seq - 1, "the entry before this one is not in the chain")
    if nxt is not None and _own_hash(nxt) != nxt.entry_hash:
        nxt_true = _recorded_seq(nxt, nxt.seq)
        if nxt_true is not None and nxt_true < nxt.seq:
            return Problem(INSERTED, e.seq, "entry does not follow from its predecessor")
    return Problem(EDITED, e.seq - 1, "entry was changed and re-hashed (next link broken)")


def _check_checkpoint(
    e: LedgerEntry, prev_hash: str, public_key: Ed25519PublicKey
) -> Problem | None:
    p = e.payload
    if p.get("seq") != e.seq - 1 or p.get("entry_hash") != prev_hash:
        return Problem(CHECKPOINT_MISMATCH, e.seq, "checkpoint does not cover the entry before it")
    sig = p.get("signature")
    if not isinstance(sig, str) or not verify_signature(
        public_key, checkpoint_message(e.seq - 1, prev_hash), sig
    ):
        return Problem(CHECKPOINT_FORGED, e.seq, "checkpoint signature is not the gateway's")
    return None


def verify(
    entries: Iterable[LedgerEntry],
    public_key: Ed25519PublicKey,
    *,
    start: LedgerEntry | None = None,
    anchor: tuple[int, str] | None = None,
) -> VerifyReport:
    """Stream ``entries`` (in stored order) and report the first break, if any.

    ``start``: a trusted entry the stream continues from (None: from the genesis).
    ``anchor``: a (seq, entry_hash) published earlier; the ledger must reach it and
    hold that hash there, which also catches a truncated tail.
    """
    expected = start.seq + 1 if start else 1
    prev_hash = start.entry_hash if start else GENESIS
    prev2: str | None = None
    count = checkpoints = 0
    last_signed = start.seq if start else 0
    it: Iterator[LedgerEntry] = iter(entries)
    e = next(it, None)

    def report(problem: Problem | None) -> VerifyReport:
        return VerifyReport(count, expected - 1, prev_hash, checkpoints, last_signed, problem)

    while e is not None:
        nxt = next(it, None)
        if e.seq != expected:
            if e.seq > expected:
                return report(Problem(DELETED, expected, f"seq {expected}..{e.seq - 1} missing"))
            kind = INSERTED if e.seq == expected - 1 else REORDERED
            return report(Problem(kind, e.seq, f"seq {e.seq} appears after seq {expected - 1}"))
        if _own_hash(e) != e.entry_hash:
            return report(_classify_bad_hash(e, nxt))
        if e.prev_hash != prev_hash:
            return report(_classify_bad_link(e, prev2, nxt))
        if e.event_type == CHECKPOINT:
            bad = _check_checkpoint(e, prev_hash, public_key)
            if bad is not None:
                return report(bad)
            checkpoints += 1
            last_signed = e.seq
        if anchor is not None and e.seq == anchor[0] and e.entry_hash != anchor[1]:
            return report(Problem(EDITED, e.seq, "entry differs from the published anchor"))
        prev2, prev_hash = prev_hash, e.entry_hash
        count += 1
        expected += 1
        e = nxt
    if anchor is not None and expected - 1 < anchor[0]:
        return report(Problem(DELETED, expected, f"ledger ends before anchor seq {anchor[0]}"))
    return report(None)
