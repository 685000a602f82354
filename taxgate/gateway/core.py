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

import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from taxgate.errors import NotFound, StoreBusy
from taxgate.gateway.auditing import Auditing
from taxgate.settings import Settings

if TYPE_CHECKING:

    from taxgate.domain import (
        FollowUp,
        JobRow,
        ModelRow,
        Official,
        ReviewDecision,
        ReviewStep,
    )
    from taxgate.gateway.accounts import ApiCaller, Principal
    from taxgate.gateway.desk_queue import QueueFilter
    from taxgate.gateway.jobs import JobRunner
    from taxgate.gateway.oversight import OversightState
    from taxgate.gateway.review import ItemView, QueueEntry
    from taxgate.pipeline import LoadResult, ProcessResult, TrainResult
    from taxgate.progress import Progress
    from taxgate.store.base import Store

__all__ = ["Gateway"]


class Gateway(Auditing):
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

    def load(self, path: Path, progress: Progress | None = None, *, force: bool = False,
             retrain: bool = False) -> LoadResult:
        """Load (or add to) taxpayer filings: check, standardize, store; train the model
        only when there is none yet or with ``retrain``. A file loaded before is refused
        (Conflict) unless ``force``."""
        from taxgate import pipeline

        with self.lock() as store:
            return pipeline.load(self.settings, store, path, progress, force=force,
                                 retrain=retrain)

    def train_model(self, progress: Progress | None = None) -> TrainResult:
        """Train the person-match model on the stored filings and make it current (a new
        version; the same filings give the same version). NotSetUp without filings."""
        from taxgate import pipeline

        with self.lock() as store:
            return pipeline.train_model(self.settings, store, progress)

    def models(self) -> list[ModelRow]:
        """The stored model versions, the current one first."""
        with self.lock() as store:
            return store.models()

    def process(self, request_dir: Path, out_dir: Path, progress: Progress | None = None
                ) -> ProcessResult:
        """The main job: a signed request package in, a signed response package out."""
        from taxgate import pipeline
        from taxgate.gateway import incidents

        with self.lock() as store:
            result = pipeline.process(self.settings, store, request_dir, out_dir, progress)
            incidents.after_process(self.settings, store, result)  # R39
            return result

    def warm(self) -> None:
        """What the first job of this process would pay once, paid now
        (:func:`taxgate.pipeline.process.warm`); the service's worker calls it at start."""
        from taxgate.pipeline.process import warm

        with self.lock() as store:
            warm(store)

    def public_key_pem(self) -> str:
        """The gateway's Ed25519 public key (PEM), which verifies every response.json."""
        from taxgate.canonical import public_key_pem

        with self.lock() as store:
            return public_key_pem(store.signing_key())

    # --- accounts -----------------------------------------------------------------------

    def issue_credential(self, agency: str, actor: str = "cli", *,
                         holder: str | None = None) -> str:
        """A new API secret for ``agency`` or one person of it (``holder``, R4; returned
        once); revokes the earlier ones of the agency's own or of that person."""
        from taxgate.gateway import accounts

        with self.lock() as store:
            return accounts.issue_credential(store, agency, actor, holder)

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

    # the second factor (R36): taxgate.gateway.mfa
    def mfa_enrolled(self, username: str) -> bool:
        """Whether the web account has enrolled its second factor."""
        from taxgate.gateway import mfa

        with self.lock() as store:
            return mfa.enrolled(store, username)

    @staticmethod
    def new_mfa_secret() -> str:
        from taxgate.gateway import mfa

        return mfa.new_secret()

    @staticmethod
    def mfa_uri(secret: str, username: str) -> str:
        from taxgate.gateway import mfa

        return mfa.provisioning_uri(secret, username)

    def enrol_mfa(self, username: str, secret: str, code: str) -> list[str]:
        """Enrol ``secret`` once ``code`` proves it; the recovery codes (shown once)."""
        from taxgate.gateway import mfa

        with self.lock() as store:
            return mfa.enrol(store, username, secret, code)

    def check_second_factor(self, username: str, code: str) -> bool:
        """Whether ``code`` is the account's TOTP code or an unused recovery code."""
        from taxgate.gateway import mfa

        with self.lock() as store:
            return mfa.check(store, username, code)

    def reset_mfa(self, username: str, actor: str) -> None:
        """Remove a web account's second factor (it enrols again at its next sign-in)."""
        from taxgate.gateway import mfa

        with self.lock() as store:
            mfa.reset(store, username, actor)

    def record_sign_out(self, username: str) -> None:
        """R33: log a web sign-out."""
        from taxgate.ledger_events import SignOut

        with self.lock() as store:
            store.append_events([SignOut(username=username).to_event()])

    def record_operator_action(self, operator: str, command: str, target: str | None,
                               outcome: str) -> None:
        """R33: log an administrative command with its named operator and outcome."""
        from taxgate.ledger_events import OperatorAction

        with self.lock() as store:
            store.append_events([OperatorAction(operator=operator, command=command,
                                                target=target, outcome=outcome).to_event()])

    def deliver(self, caller: ApiCaller, data: bytes, *, file: str, request_id: str | None,
                job: JobRow | None = None, follow_up_seq: int | None = None) -> bytes:
        """``data`` (a response file) if ``caller`` is a named recipient of the request
        (R4), else NotAllowed; logged either way (RESULTS_DELIVERY)."""
        from taxgate.gateway import delivery

        with self.lock(timeout=10) as store:
            recipients = None if job is not None or request_id is None else (
                delivery.request_recipients(store.jobs(agency=caller.agency), request_id,
                                            caller.agency))
            return delivery.deliver(store, caller, data, file=file, request_id=request_id,
                                    job=job, follow_up_seq=follow_up_seq,
                                    recipients=recipients)

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
