"""The Gateway: one object built from settings that owns the store, its lock and every
use case (setup, process, accounts, the review desk, audit, jobs).

The shells (the CLI, the HTTP API, the web pages) and the tests hold a Gateway and call
its methods; each method takes the lock, opens the store on first use and delegates to
the function that does the work (:mod:`taxgate.pipeline`, :mod:`taxgate.accounting`,
:mod:`taxgate.integrity`, :mod:`taxgate.gateway.review`, ...). The modules behind a
method are imported when it is first called, so a shell starts without the matching
engine. The store is closed when the ``with`` block ends (:meth:`Gateway.close`).

The embedded store allows one process (flock) and a DuckDB connection must not be used
from two threads at once, so every use goes through :meth:`Gateway.lock`: one
re-entrant lock per Gateway. Callers that must answer quickly (the API, the web pages)
hold it with a ``timeout`` around their calls; when the job worker holds the store for a
long job they get :class:`~taxgate.errors.StoreBusy` (HTTP 503, Retry-After).
"""

from __future__ import annotations

import datetime as dt
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from taxgate.errors import NotFound, StoreBusy
from taxgate.settings import Settings

if TYPE_CHECKING:
    from datetime import date

    from taxgate.accounting import AnnualReport, Disclosure
    from taxgate.certifications import Due
    from taxgate.disclosure_report import PublicReport
    from taxgate.domain import FollowUp, LedgerEntry, Official, ReviewDecision, ReviewStep
    from taxgate.gateway.accounts import Principal
    from taxgate.gateway.desk_queue import QueueFilter
    from taxgate.gateway.evidence import Evidence
    from taxgate.gateway.jobs import JobRunner
    from taxgate.gateway.notify import Affected, Selection
    from taxgate.gateway.oversight import Oversight, OversightState
    from taxgate.gateway.recheck import RecheckReport
    from taxgate.gateway.review import ItemView, QueueEntry
    from taxgate.integrity import Verified
    from taxgate.pipeline import LoadResult, ProcessResult
    from taxgate.progress import Progress
    from taxgate.settings import Policy
    from taxgate.store.base import Store
    from taxgate.witness import TreeHead as WitnessHead

__all__ = ["Gateway"]


class Gateway:
    """One gateway: ``with Gateway(settings) as gw: gw.process(request_dir, out_dir)``."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._lock = threading.RLock()
        self._store: Store | None = None
        self._reason_cache: dict[str, Counter[str]] = {}  # oversight: per request, reasons
        self._held_cache: dict[str, dict[int, tuple[str, ...]]] = {}  # desk: why held
        self._audit: OversightState | None = None  # oversight: verified so far

    def __enter__(self) -> Gateway:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- the store and its lock ---------------------------------------------------------

    @contextmanager
    def lock(self, timeout: float | None = None, *, create: bool = False) -> Iterator[Store]:
        """The open store, held by this thread alone (re-entrant); opened on first use.
        ``timeout``: seconds to wait for another thread, then StoreBusy."""
        if not self._lock.acquire(timeout=-1 if timeout is None else timeout):
            raise StoreBusy("the store is busy with a job; retry shortly")
        try:
            if self._store is None:
                from taxgate.store import open_store

                self._store = open_store(self.settings, create=create)
            yield self._store
        finally:
            self._lock.release()

    def close(self) -> None:
        """Stop the job worker if one runs, then close the store (it reopens on next use)."""
        if "jobs" in self.__dict__:
            self.jobs.stop()
        with self._lock:
            if self._store is not None:
                self._store.close()
                self._store = None

    @cached_property
    def jobs(self) -> JobRunner:
        """The job board and its worker (request packages uploaded over HTTP)."""
        from taxgate.gateway.jobs import JobRunner

        return JobRunner(self)

    # --- setup: the store, officials, filings, the main job -----------------------------

    def init(self) -> Path | str:
        """Create the store (its at-rest key and signing key) or migrate it; start the
        head anchor. Returns where the store is."""
        from taxgate import pipeline

        with self.lock(create=True) as store:
            pipeline.init(store)
        return self.settings.store

    def add_official(self, official: Official, actor: str = "cli") -> None:
        """Register an official who may sign requests for an agency (R1, R2)."""
        from taxgate import pipeline

        with self.lock() as store:
            pipeline.add_official(store, official, actor)

    def officials(self) -> list[Official]:
        """The registered officials."""
        with self.lock() as store:
            return store.officials()

    def load(self, path: Path, progress: Progress | None = None, *, force: bool = False
             ) -> LoadResult:
        """Load (or add to) taxpayer filings: check, standardize, store, retrain; a file
        loaded before is refused (Conflict) unless ``force``."""
        from taxgate import pipeline

        with self.lock() as store:
            return pipeline.load(self.settings, store, path, progress, force=force)

    def process(self, request_dir: Path, out_dir: Path, progress: Progress | None = None
                ) -> ProcessResult:
        """The main job: a signed request package in, a signed response package out."""
        from taxgate import pipeline
        from taxgate.gateway import incidents

        with self.lock() as store:
            result = pipeline.process(self.settings, store, request_dir, out_dir, progress)
            incidents.after_process(self.settings, store, result)  # R39
            return result

    def public_key_pem(self) -> str:
        """The gateway's Ed25519 public key (PEM), which verifies every response.json."""
        from taxgate.canonical import public_key_pem

        with self.lock() as store:
            return public_key_pem(store.signing_key())

    # --- accounts -----------------------------------------------------------------------

    def issue_credential(self, agency: str, actor: str = "cli") -> str:
        """A new API secret for ``agency`` (returned once); revokes its earlier ones."""
        from taxgate.gateway import accounts

        with self.lock() as store:
            return accounts.issue_credential(store, agency, actor)

    def check_api_token(self, token: str) -> str | None:
        """The agency a presented API secret belongs to, or None."""
        from taxgate.gateway import accounts

        with self.lock() as store:
            return accounts.check_api_token(store, token)

    def add_user(self, username: str, role: str, password: str, *,
                 agency: str | None = None, actor: str = "cli") -> None:
        """Create a web account; logged (R33). Conflict when the name is taken."""
        from taxgate.gateway import accounts

        with self.lock() as store:
            accounts.add_user(store, username, role, password, agency=agency, actor=actor)

    def check_password(self, username: str, password: str) -> Principal | None:
        """The person signing in, or None (unknown, disabled or wrong password)."""
        from taxgate.gateway import accounts

        with self.lock() as store:
            return accounts.check_password(store, username, password)

    def record_sign_in(self, username: str, outcome: str, source: str) -> None:
        """R33: log a web sign-in (SUCCESS, FAILURE or RATE_LIMITED)."""
        from taxgate.ledger_events import SignIn

        with self.lock() as store:
            store.append_events([SignIn(
                username=username[:100], outcome=outcome, source=source).to_event()])

    def record_sign_out(self, username: str) -> None:
        """R33: log a web sign-out."""
        from taxgate.ledger_events import SignOut

        with self.lock() as store:
            store.append_events([SignOut(username=username).to_event()])

    # --- the review desk ----------------------------------------------------------------

    def review_queue(self, *, include_released: bool = False,
                     filters: QueueFilter | None = None) -> list[QueueEntry]:
        """The REVIEW records, their state and why held (ids and codes, no taxpayer
        data), narrowed and sorted by ``filters`` (default: all, oldest first)."""
        from taxgate.gateway import review
        from taxgate.gateway.desk_queue import QueueFilter

        with self.lock() as store:
            entries = review.queue(store, include_released=include_released,
                                   cache=self._held_cache)
        return (filters or QueueFilter()).apply(entries)

    def view_item(self, principal: Principal, request_id: str, row_number: int) -> ItemView:
        """One REVIEW record beside its candidates; each view is logged (R33)."""
        from taxgate.gateway import review

        with self.lock() as store:
            return review.view_item(store, principal, request_id, row_number)

    def propose(self, principal: Principal, request_id: str, row_number: int, outcome: str,
                reason: str, note: str | None = None) -> ReviewDecision:
        """Propose the final outcome of a REVIEW record (role reviewer): a reason code of
        docs/review-reasons.md and an optional note, screened of taxpayer values."""
        from taxgate.gateway import review

        with self.lock() as store:
            return review.propose(store, principal, request_id, row_number, outcome, reason,
                                  note)

    def send_back(self, principal: Principal, request_id: str, row_number: int,
                  proposal: str | None, reason: str, note: str | None = None) -> ReviewStep:
        """Send a proposal back to the reviewers (role releaser, another person)."""
        from taxgate.gateway import review

        with self.lock() as store:
            return review.send_back(store, principal, request_id, row_number, proposal,
                                    reason, note)

    def release(self, principal: Principal, request_id: str, row_number: int,
                proposal: str | None = None) -> FollowUp:
        """Release a proposal (role releaser, another person, R23): a signed follow-up."""
        from taxgate.gateway import review

        with self.lock() as store:
            return review.release(store, self.settings, principal, request_id, row_number,
                                  proposal)

    def follow_ups(self, request_id: str, agency: str | None = None) -> list[FollowUp]:
        """The follow-up responses of a request (only ``agency``'s, when given)."""
        from taxgate.gateway import review

        with self.lock() as store:
            return review.follow_ups(store, request_id, agency)

    def follow_up(self, request_id: str, seq: int, agency: str | None = None) -> FollowUp:
        """Follow-up ``seq`` of a request; NotFound when there is none."""
        for f in self.follow_ups(request_id, agency):
            if f.seq == seq:
                return f
        raise NotFound("no such follow-up response")

    @staticmethod
    def write_follow_up(fu: FollowUp, out_dir: Path) -> None:
        """Write a follow-up's results.csv and signed response.json to ``out_dir``."""
        from taxgate.gateway import review

        review.write_follow_up(fu, out_dir)

    # --- audit --------------------------------------------------------------------------

    def verify_ledger(self, anchor: Path | None = None) -> Verified:
        """Walk the hash chain and its checkpoints up to the head anchor (IntegrityError
        on the first entry edited, deleted, inserted or reordered)."""
        from taxgate import integrity

        with self.lock() as store:
            return integrity.verify_against_anchor(store, anchor)

    def open_failure(self) -> str | None:
        """The integrity failure no incident has been recorded for since, if any (what
        to do about it: ``LEDGER_REMEDY``)."""
        from taxgate import integrity

        with self.lock() as store:
            return integrity.open_failure(store)

    def record_incident(self, operator: str, note: str) -> LedgerEntry:
        """Log an integrity incident and start the head anchor afresh after it."""
        from taxgate import integrity

        with self.lock() as store:
            return integrity.record_incident(store, operator, note)

    # --- checkpoints for outsiders (taxgate/ledger_tree.py, docs/ledger.md) ---------------
    def witness_path(self, given: Path | None = None) -> Path:
        """The witness log: ``given``, else the configured one (BadInput when neither)."""
        from taxgate.errors import BadInput

        path = given or self.settings.witness_path
        if path is None:
            raise BadInput("no witness log: set TAXGATE_WITNESS (a file or folder the "
                           "overseer controls) or give --witness")
        return path

    def checkpoint(self, witness: Path | None = None) -> tuple[WitnessHead, bool]:
        """Sign a checkpoint of the ledger's Merkle tree and append it to the witness log;
        a ledger that does not extend the last witnessed checkpoint is an integrity
        failure (recorded in the head anchor, IntegrityError) and nothing is published."""
        from taxgate import integrity, ledger_tree
        from taxgate.errors import IntegrityError

        path = self.witness_path(witness)
        with self.lock() as store:
            try:
                return ledger_tree.publish(store, path)
            except ledger_tree.WitnessMismatch as exc:
                integrity.record_failure(store, str(exc))
                raise IntegrityError(f"ledger {exc}; {integrity.REMEDY}") from None

    def prove(self, *, entry: int | None = None, first: int | None = None,
              size: int | None = None, witness: Path | None = None) -> dict[str, object]:
        """An inclusion proof of ``entry`` (in the witnessed checkpoint of ``size``, else
        the last), or a consistency proof from checkpoint ``first`` to ``size`` (else the last)."""
        from taxgate import ledger_tree

        path = self.witness_path(witness)
        with self.lock() as store:
            if entry is not None:
                return ledger_tree.prove_entry(store, path, entry, size)
            assert first is not None
            return ledger_tree.prove_consistency(store, path, first, size)

    def accounting(self, tin: str) -> list[Disclosure]:
        """Every disclosure about one taxpayer (R27)."""
        from taxgate import accounting

        with self.lock() as store:
            return accounting.disclosures_for_tin(store, tin)

    def annual_report(self, year: int, *, agency: str | None = None, since: str | None = None,
                      until: str | None = None) -> AnnualReport:
        """The year's counts per agency and authority, from the ledger (R29); only one
        agency's, or only from ``since`` to ``until`` (YYYY-MM-DD), when given."""
        from taxgate import accounting

        with self.lock() as store:
            return accounting.annual_report(store, year, agency=agency, since=since,
                                            until=until)

    def export_ledger(self, out: Path, actor: str) -> tuple[int, str]:
        """Write the whole ledger, checkpoints included, as JSON Lines to ``out`` (for an
        overseer: ``taxgate ledger verify-export``); logged (LEDGER_EXPORTED, R33).
        Returns the last seq and hash exported."""
        from taxgate.gateway import export

        with self.lock() as store:
            return export.write_export(store, out, actor)

    def public_report(self, year: int) -> PublicReport:
        """The year's public report (R29(b)): aggregate counts per agency, small cells
        suppressed under the policy's ``public_report_min_cell``."""
        from taxgate import accounting

        with self.lock() as store:
            return accounting.public_report(
                store, year, self.settings.policy.public_report_min_cell)

    def certifications(self, *, overdue_only: bool = False, agency: str | None = None
                       ) -> list[Due]:
        """R32: every request that disclosed data, its return/destroy due date and
        certification (only those overdue today, only ``agency``'s, when asked)."""
        import datetime as dt

        from taxgate import certifications

        due_days = self.settings.policy.certification_due_days
        today = dt.datetime.now(dt.UTC).date()
        with self.lock() as store:
            rows = certifications.dues(store.ledger_entries(), due_days)
        return [d for d in rows if (not overdue_only or d.overdue(today))
                and (agency is None or d.agency == agency)]

    def certify(self, request_id: str, *, disposition: str, certified_by: str,
                certified_on: date, operator: str) -> Due:
        """R32: record the agency's certification that a request's disclosed data was
        returned or destroyed (a RETURN_CERTIFIED ledger entry)."""
        import datetime as dt

        from taxgate import certifications

        with self.lock() as store:
            return certifications.record(
                store, request_id, disposition=disposition, certified_by=certified_by,
                certified_on=certified_on, recorded_by=operator,
                today=dt.datetime.now(dt.UTC).date(),
                due_days=self.settings.policy.certification_due_days)

    @staticmethod
    def write_report(report: AnnualReport, out_dir: Path) -> tuple[Path, Path]:
        """Write an annual report as CSV and HTML; returns both paths."""
        from taxgate import accounting

        return accounting.write_report(report, out_dir)

    def oversight(self, viewer: str | None = None) -> Oversight:
        """The auditors' figures from the ledger; a ``viewer`` is logged (OVERSIGHT_VIEWED)."""
        from taxgate.gateway import oversight
        from taxgate.ledger_events import OversightViewed

        with self.lock() as store:
            if self._audit is None:
                self._audit = oversight.OversightState()
            o = oversight.oversight(store, self._reason_cache, self._audit)
            if viewer is not None:
                store.append_events([OversightViewed(viewer=viewer).to_event()])
        return o

    # --- evidence, re-checks and notices (R3, R30, R31) ---------------------------------

    def evidence(self, request_id: str, viewer: str, *, reveal: bool = False) -> Evidence:
        """What was asked, who signed it, what decided each record and why; logged."""
        from taxgate.gateway import evidence

        with self.lock() as store:
            return evidence.evidence(store, request_id, viewer=viewer, reveal=reveal)

    def purge_evidence(self, actor: str) -> list[str]:
        """Delete kept packages past the policy's retention; logged."""
        from taxgate.gateway import evidence

        with self.lock() as store:
            return evidence.purge(store, actor)

    def recheck(self, policy: Policy, *, since: dt.date | None = None,
                agency: str | None = None, actor: str = "cli") -> RecheckReport:
        """Re-decide past confirmations under ``policy``; changes nothing but its event."""
        from taxgate.gateway import recheck

        with self.lock() as store:
            return recheck.recheck(store, self.settings, policy, since=since, agency=agency,
                                   actor=actor)

    def affected(self, selection: Selection, actor: str, out: Path | None = None
                 ) -> list[Affected]:
        """The taxpayers a selection of disclosures affects (R31); logged."""
        from taxgate.gateway import letters

        with self.lock() as store:
            return letters.list_affected(store, selection, actor, out)

    def notify(self, selection: Selection, out_dir: Path, issued_by: str,
               tins: set[str] | None = None) -> list[Path]:
        """Notification letters (7431(e)) to the taxpayers affected; each one logged."""
        from taxgate.gateway import letters

        with self.lock() as store:
            return letters.issue_letters(store, selection, out_dir, issued_by, tins)
