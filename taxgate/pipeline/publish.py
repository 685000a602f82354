"""The one way an answer leaves taxgate: rows -> results.csv -> signed response.json ->
ledger events -> one store commit -> the files, written atomically.

Every answer takes this path: the first answer to a request (:mod:`.answer`), a refusal
(:mod:`.refusal`), a replay of a stored answer (:mod:`.answer`), and on the review desk
the follow-up response of a released REVIEW record and the writing out of a stored one.
A route only describes its answer in a :class:`Publication`; :func:`publish` runs the
steps in their fixed order, so that every disclosure is accounted for in the same commit
that stores the answer (R27, R28) and a crash at any step leaves nothing half-written:

1. results.csv is written into a private temporary folder, from the rows or from the
   text a stored answer kept;
2. response.json is signed over its digest (or a stored one is taken as it is);
3. the ledger events are made from the digest and the completion time;
4. the store takes the answer and its events in one transaction (crash points
   ``before-commit`` and ``after-commit`` around it); when another run stored it first,
   nothing is written and :func:`publish` returns None;
5. the work that follows the commit (the REVIEW records onto the desk) runs, and the files
   are moved into place (results.csv, then response.json), under the guard that says what
   was committed when they cannot be written.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from taxgate import faults, response
from taxgate.canonical import canonical_json
from taxgate.domain import LedgerItem
from taxgate.pipeline.common import Quiet, Timings, now
from taxgate.pipeline.delivery import delivering

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

R = TypeVar("R")
E = TypeVar("E", bound=LedgerItem)  # what the ledger takes: events, or batches of them

Rows = Iterable[tuple[str, str, str]]  # (record_id, outcome, reasons) in file order


@dataclass(frozen=True)
class ResponseFields:
    """The fields of a new response.json particular to one answer; :func:`publish` adds
    the digest and row count of results.csv and the completion time (``clock``), then
    signs it with ``signing_key``."""

    request_id: str | None
    received_at: str
    counts: dict[str, int]
    policy_version: str
    model_version: str | None
    signing_key: Ed25519PrivateKey
    request_reason: str | None = None
    records_unreadable: bool = False
    follow_up_of: str | None = None
    follow_up_seq: int | None = None
    clock: Callable[[], str] = now


@dataclass(frozen=True)
class Signed:
    """What the step made before the commit: results.csv (in the step's temporary folder,
    gone once :func:`publish` returns), its digest, its row count (a stored text's as its
    response states it), the completion time and the signed response."""

    results: Path
    digest: str
    count: int
    completed_at: str
    response: dict[str, Any]

    @property
    def response_json(self) -> str:
        """The response as the store keeps it: canonical JSON."""
        return canonical_json(self.response).decode("utf-8")

    def results_text(self) -> str:
        """results.csv as text, for a store that keeps it whole (a follow-up)."""
        return self.results.read_text(encoding="utf-8")


def _nothing() -> None:
    return None


@dataclass(frozen=True)
class Commit(Generic[R, E]):
    """How the store takes the answer: ``events`` makes the ledger events (or batches of
    them) from what was signed; ``store`` commits the answer and those events in one
    transaction and returns what it stored, or None when another run stored it first
    (then nothing was written); ``then`` is the work that follows the commit, before the
    files."""

    events: Callable[[Signed], Iterable[E]]
    store: Callable[[Signed, Iterable[E]], R | None]
    then: Callable[[], object] = _nothing


@dataclass(frozen=True)
class Files:
    """Where the response package goes. ``committed``: what the delivering guard says was
    committed when the files cannot be written (None: no guard, the error as it is);
    ``timings``: the writing is timed there as the ``response`` stage."""

    out_dir: Path
    committed: str | None = None
    timings: Timings | None = None


@dataclass(frozen=True)
class Publication(Generic[R]):
    """One answer: its results (the rows, or results.csv's text as stored), its response
    (the fields to sign, or the signed response as stored), how the store commits it and
    where its files go (each may be absent: a stored answer is not committed again, a
    follow-up is kept by the store for the agency to fetch)."""

    results: Rows | str
    response: ResponseFields | dict[str, Any]
    commit: Commit[R, Any] | None = None
    files: Files | None = None


def publish(answer: Publication[R]) -> R | None:
    """Run the steps of one answer in their fixed order (module docstring). Returns what
    the store committed; None when there was no commit or another run stored it first
    (nothing was written then)."""
    stored: R | None = None
    with tempfile.TemporaryDirectory(prefix="taxgate-") as tmp:
        signed = _sign(answer, Path(tmp) / "results.csv")
        commit = answer.commit
        if commit is not None:
            events = commit.events(signed)
            faults.crash_point("before-commit")
            stored = commit.store(signed, events)
            if stored is None:
                return None
            faults.crash_point("after-commit")
        with _guard(answer.files):
            if commit is not None:
                commit.then()
            if answer.files is not None:
                _write(answer.files, signed)
    return stored


def _sign(answer: Publication[Any], path: Path) -> Signed:
    """results.csv written to ``path``, and the response signed over it (or as stored)."""
    fields = answer.response
    if isinstance(answer.results, str):  # a stored answer's text goes with its response
        if isinstance(fields, ResponseFields):
            raise TypeError("a stored results.csv is published with its stored response")
        path.write_text(answer.results, encoding="utf-8")
        count = int(fields["record_count"])
    else:
        count = response.write_results_csv(path, answer.results)
    digest = response.results_digest(path)
    if not isinstance(fields, ResponseFields):  # a stored answer, given as it was signed
        return Signed(path, digest, count, fields["completed_at"], fields)
    completed_at = fields.clock()
    signed = response.build_response(
        request_id=fields.request_id,
        received_at=fields.received_at,
        completed_at=completed_at,
        counts=fields.counts,
        policy_version=fields.policy_version,
        model_version=fields.model_version,
        records_sha256=digest,
        record_count=count,
        signing_key=fields.signing_key,
        request_reason=fields.request_reason,
        records_unreadable=fields.records_unreadable,
        follow_up_of=fields.follow_up_of,
        follow_up_seq=fields.follow_up_seq,
    )
    return Signed(path, digest, count, completed_at, signed)


def _guard(files: Files | None) -> AbstractContextManager[None]:
    """After a commit, a failure says what was committed and how to fetch it again."""
    if files is None or files.committed is None:
        return nullcontext()
    return delivering(files.committed, files.out_dir)


def _write(files: Files, signed: Signed) -> None:
    """Move results.csv then response.json into the folder (timed when asked)."""
    timed: AbstractContextManager[None] = (
        files.timings.stage("response", Quiet()) if files.timings is not None else nullcontext())
    with timed:
        response.publish(files.out_dir, signed.results, signed.response)

