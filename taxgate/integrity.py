"""The ledger fails closed: the head anchor and the checks made against it.

After every commit that appends ledger entries the store calls :func:`after_commit`,
which publishes the new head to the anchor file (taxgate/anchor.py) outside the store.
Commands that disclose or account (``process``, ``accounting``, ``report``, the review
release) call :func:`guard` on start: one read of the anchor file's last line and two
indexed reads of the ledger, whatever its size. ``ledger verify`` walks the whole chain
up to the anchor (:func:`verify_against_anchor`). A failed check is written to the
anchor file and every guarded command refuses (:class:`IntegrityError`, exit 4) until
an operator records an incident (:func:`record_incident`). See docs/ledger.md.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import time
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from taxgate import alerts, anchor, faults, ledger
from taxgate.domain import LedgerEntry, LedgerEvent
from taxgate.errors import BadInput, IntegrityError, StoreError
from taxgate.ledger_events import IncidentRecorded

if TYPE_CHECKING:
    from collections.abc import Iterator

    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from taxgate.settings import Settings

INCIDENT_EVENT = IncidentRecorded.TYPE
BEHIND, DIVERGED = "BEHIND_ANCHOR", "DIVERGES_FROM_ANCHOR"
UNSIGNED = "ANCHOR_NOT_SIGNED"
NOTE_MAX = 200
REMEDY = ("after investigating, record an incident: "
          "taxgate ledger incident --operator NAME --note TEXT")
_OPERATOR = re.compile(r"[A-Za-z][A-Za-z0-9._@-]{0,63}")
_LONG_NUMBER = re.compile(r"\d(?:[\s./-]?\d){4,}")  # 5+ digits: a TIN, ZIP, date, phone
_log = logging.getLogger("taxgate.ledger")


class Store(Protocol):
    """What these checks need of a store: its settings, its key and its ledger.
    :class:`taxgate.store.base.Store` is one; declared here because the store calls
    :func:`after_commit`, so this module may not import it."""

    settings: Settings

    def signing_key(self) -> Ed25519PrivateKey: ...
    def ledger_head(self) -> LedgerEntry | None: ...
    def ledger_entry(self, seq: int) -> LedgerEntry | None: ...
    def ledger_entries(self, after_seq: int = 0) -> Iterator[LedgerEntry]: ...
    def append_events(self, events: list[LedgerEvent], *, rebase_anchor: bool = False
                      ) -> None: ...


def _now() -> str:
    return ledger.timestamp(dt.datetime.now(dt.UTC))


def _head(store: Store) -> tuple[int, str]:
    e = store.ledger_head()
    return (e.seq, e.entry_hash) if e else (0, ledger.GENESIS)


def compare(store: Store, line: anchor.AnchorLine) -> str | None:
    """Why the store's ledger does not hold the anchored entry (None: it does): one
    indexed read. A store ahead of its anchor is fine: the anchor is written just after
    the commit. (Seqs have no gaps, so a missing anchored seq means the ledger ends before
    it; a gap inside the chain is the full verification's to find.)"""
    entry = store.ledger_entry(line.seq) if line.seq else None
    if line.seq and entry is None:
        head_seq, _ = _head(store)
        return (f"{BEHIND}: the ledger ends at seq {head_seq} but its head anchor is at "
                f"seq {line.seq} (newest entries deleted or the store restored from an "
                "older copy)")
    held = entry.entry_hash if entry else ledger.GENESIS
    if held != line.entry_hash:
        return (f"{DIVERGED}: the entry at seq {line.seq} is not the anchored one (the "
                "store was rolled back and written again, or the entry replaced)")
    return None


def _check_line(store: Store, line: anchor.AnchorLine | None) -> str | None:
    """What is wrong against ``line``: a bad signature, or a store that does not hold the
    anchored entry (None: nothing, or no line)."""
    if line is None:
        return None
    if not line.signed_by(store.signing_key().public_key()):
        return f"{UNSIGNED}: the head anchor's last line is not signed by this gateway's key"
    return compare(store, line)


def _problem_of(store: Store, line: anchor.AnchorLine | None) -> str | None:
    """:func:`_check_line`, else the failure ``line`` holds open."""
    return _check_line(store, line) or (line.failure if line is not None else None)


def _anchor_of(store: Store, line: anchor.AnchorLine | None) -> tuple[int, str]:
    """The anchor a new line carries on: the last line's, or the genesis when there is
    none or it is not the gateway's."""
    if line is None or not line.signed_by(store.signing_key().public_key()):
        return 0, ledger.GENESIS
    return line.seq, line.entry_hash


def _read_last(path: Path) -> anchor.AnchorLine | None:
    try:
        return anchor.read_last(path)
    except OSError as exc:
        raise StoreError(f"the head anchor {path} cannot be read: {exc.strerror}") from None


def guard(store: Store) -> None:
    """Refuse (IntegrityError) when the last check failed or the store's ledger no longer
    holds its anchored entry; record a new failure in the anchor file. O(1)."""
    last = _read_last(store.settings.anchor_path)
    if last is not None and last.failure and last.signed_by(store.signing_key().public_key()):
        raise IntegrityError(f"the ledger failed its last check ({last.failure}); {REMEDY}")
    problem = _problem_of(store, last)
    if problem is not None:
        record_failure(store, problem)
        raise IntegrityError(f"ledger {problem}; {REMEDY}")


def record_failure(store: Store, problem: str) -> None:
    """Append a CHECK_FAILED line; the anchor stays the last good one."""
    with anchor.locked(store.settings.anchor_path) as log:
        seq, h = _anchor_of(store, log.last())
        log.append(anchor.signed_line(store.signing_key(), anchor.CHECK_FAILED, seq, h,
                                      _now(), problem))
    _alert(store, problem)


def _alert(store: Store, problem: str) -> None:
    """R39: a failed check is an incident alert (ids and seqs only)."""
    alerts.send(store.settings.alert_sink, alerts.Alert(
        alerts.LEDGER_CHECK_FAILED, f"the ledger failed its integrity check: {problem}"))


def after_commit(store: Store, head: LedgerEntry, *, rebase: bool = False) -> None:
    """Publish ``head`` (just committed) as the new anchor, after checking the store
    against the last one; ``rebase``: an incident was recorded, start afresh from here.
    A failure to write is logged, not raised: the commit stands, and a store ahead of its
    anchor verifies (the crash window)."""
    faults.crash_point("before-anchor")
    try:
        _publish(store, head, rebase)
    except StoreError as exc:  # messages name the file, never a value
        _log.warning("%s; the next commit or `ledger verify` writes it", exc)


def _publish(store: Store, head: LedgerEntry, rebase: bool) -> None:
    key = store.signing_key()
    with anchor.locked(store.settings.anchor_path) as log:
        last = log.last()
        if rebase or last is None:
            event = anchor.INCIDENT if rebase else anchor.HEAD
            log.append(anchor.signed_line(key, event, head.seq, head.entry_hash, _now()))
            return
        problem = _problem_of(store, last)
        if problem is not None and problem != last.failure:  # found now: keep the anchor
            seq, h = _anchor_of(store, last)
            log.append(anchor.signed_line(key, anchor.CHECK_FAILED, seq, h, _now(), problem))
            _alert(store, problem)
        elif head.seq > last.seq and (problem is None or problem == last.failure):
            log.append(anchor.signed_line(key, anchor.HEAD, head.seq, head.entry_hash, _now(),
                                          last.failure))


def start(store: Store) -> None:
    """Publish the store's head when it has no anchor yet (``taxgate init``)."""
    if _read_last(store.settings.anchor_path) is None:
        seq, h = _head(store)
        with anchor.locked(store.settings.anchor_path) as log:
            if log.last() is None:
                log.append(anchor.signed_line(store.signing_key(), anchor.HEAD, seq, h, _now()))


@dataclass(frozen=True)
class Verified:
    """What ``ledger verify`` found: the chain's report and the anchor it checked."""

    report: ledger.VerifyReport
    anchor: anchor.AnchorLine | None
    seconds: float


def verify_against_anchor(store: Store, anchor_file: Path | None = None) -> Verified:
    """Walk the whole chain and check it reaches the anchored entry (``anchor_file``, else
    the configured anchor). The result is recorded in the configured anchor file: a
    failure as CHECK_FAILED, a success (against the configured anchor) as VERIFIED.
    A failure an earlier check left open stays open (see :func:`open_failure`)."""
    started = time.perf_counter()
    if anchor_file is not None and not anchor_file.is_file():
        raise BadInput(f"no head anchor file at {anchor_file}")
    line = _read_last(anchor_file or store.settings.anchor_path)
    if anchor_file is not None and line is None:
        raise BadInput(f"the head anchor file {anchor_file} holds no anchor")
    problem = _check_line(store, line)  # an open failure is the caller's to report
    report = ledger.verify(store.ledger_entries(), store.signing_key().public_key(),
                           anchor=(line.seq, line.entry_hash) if line and not problem else None)
    if problem is None and report.problem is not None:
        p = report.problem
        problem = f"{p.kind} at seq {p.seq}: {p.detail}"
    if problem is not None:
        record_failure(store, problem)
        raise IntegrityError(f"ledger {problem}; {REMEDY}")
    if anchor_file is None:
        _record_verified(store, report)
    return Verified(report, line, time.perf_counter() - started)


def _record_verified(store: Store, report: ledger.VerifyReport) -> None:
    key = store.signing_key()
    with anchor.locked(store.settings.anchor_path) as log:
        last = log.last()
        if last is not None and last.seq > report.last_seq:
            return  # the ledger grew meanwhile (another process): its anchor stands
        failure = last.failure if last is not None else None
        log.append(anchor.signed_line(key, anchor.VERIFIED, report.last_seq, report.last_hash,
                                      _now(), failure))


def open_failure(store: Store) -> str | None:
    """The failure the anchor file holds open, if any (for ``ledger verify`` to report)."""
    line = _read_last(store.settings.anchor_path)
    return line.failure if line is not None else None


def screen_note(note: str) -> str:
    """An incident note fit for the ledger: one short line, no number of five or more
    digits (a TIN, ZIP, date of birth), no control characters. Never echoed back."""
    text = " ".join(note.split())
    if not text:
        raise BadInput("the incident note is empty")
    if len(text) > NOTE_MAX:
        raise BadInput(f"the incident note is longer than {NOTE_MAX} characters")
    if any(unicodedata.category(c).startswith("C") for c in text):
        raise BadInput("the incident note holds control or invisible characters")
    if _LONG_NUMBER.search(text):
        raise BadInput("the incident note holds a number of five or more digits; the ledger "
                       "holds no taxpayer values (the event records its own seqs and time)")
    return text


def record_incident(store: Store, operator: str, note: str) -> LedgerEntry:
    """Log an INCIDENT_RECORDED event (operator, screened note, the failure and the
    anchor it supersedes, the ledger's head) and start the anchor afresh after it."""
    if not _OPERATOR.fullmatch(operator):
        raise BadInput("--operator must be a user name: a letter, then letters, digits "
                       "or . _ @ - (at most 64)")
    text = screen_note(note)
    line = _read_last(store.settings.anchor_path)
    problem = _check_line(store, line)
    if line is not None and line.failure and not (problem or "").startswith(UNSIGNED):
        problem = line.failure  # the failure that blocked the commands comes first
    head_seq, head_hash = _head(store)
    store.append_events([IncidentRecorded(
        operator=operator, note=text, failure=problem,
        anchor_seq=line.seq if line else None,
        anchor_hash=line.entry_hash if line else None,
        head_seq=head_seq, head_hash=head_hash,
    ).to_event()], rebase_anchor=True)
    head = store.ledger_head()
    assert head is not None
    return head
