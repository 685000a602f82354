"""Jobs: request packages uploaded over HTTP, processed by a worker thread.

A package is spooled to ``<spool>/<job_id>/package/`` (folders 0700, files 0600), its
job row is stored QUEUED, and the worker runs :meth:`taxgate.gateway.core.Gateway.process`
on it under the gateway's lock, writing the response to ``<spool>/<job_id>/response/``.
The job's state transitions are stored; its progress (stage, records) is kept in memory
only, so polling never touches the store. On start, every QUEUED or RUNNING job is queued
again: a job killed mid-way is simply processed again, and because a request is
committed with its ledger events in one transaction (docs/store.md), a job that had
already committed gets the stored answer replayed — nothing is disclosed twice.

A job ends DONE (answered), REFUSED (the request refused as a whole: its signed
response lists every record REJECTED with the request's reason code) or FAILED. Once
it ends its package is deleted (R40: request inputs are not kept), the REVIEW records
it produced are handed to the review desk first, and its response stays downloadable
for ``response_retention_days``, then is deleted (state EXPIRED).

:meth:`JobRunner.precheck` tells at upload the refusal a package will get when that
needs no taxpayer filings (the agency kit's own check, :func:`taxgate.agency.request_refusals`,
with the registry's officials); the job still runs, so the refusal is answered and
logged by the one publish step like any other.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import queue
import shutil
import threading
import uuid
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from taxgate import intake
from taxgate.domain import JobRow
from taxgate.errors import (
    BadInput,
    IntegrityError,
    RequestRefused,
    StoreBusy,
    TaxgateError,
    classify,
)
from taxgate.gateway.delivery import named_recipients
from taxgate.intake import valid_request_id
from taxgate.store.common import iso_now

if TYPE_CHECKING:
    from contextlib import AbstractContextManager

    from taxgate.pipeline import ProcessResult
    from taxgate.progress import Progress
    from taxgate.settings import Settings
    from taxgate.store.base import Store

QUEUED, RUNNING, DONE, FAILED, EXPIRED = "QUEUED", "RUNNING", "DONE", "FAILED", "EXPIRED"
REFUSED = "REFUSED"
UNFINISHED = (QUEUED, RUNNING)
ANSWERED = (DONE, REFUSED)  # a signed response is kept (until EXPIRED)
STATES = (QUEUED, RUNNING, DONE, REFUSED, FAILED, EXPIRED)
PRECHECK_WAIT_S = 1.0  # an upload waits this long for the registry, else the job decides


@dataclass
class JobProgress:
    """What a poll shows while a job runs: the stage and records done of the total."""

    stage: str = "queued"
    done: int = 0
    total: int | None = None
    counting: str | None = None  # the stage that counts records (the first with a total)

    def stage_(self, name: str, total: int | None = None) -> None:
        self.stage, self.done = name, 0
        if total is not None and self.counting is None:
            self.counting, self.total = name, total  # later totals count other things

    def advance(self, n: int = 1) -> None:
        if self.stage == self.counting:
            self.done += n


class _ProgressAdapter:
    """pipeline.Progress over a JobProgress."""

    def __init__(self, p: JobProgress) -> None:
        self.p = p

    def stage(self, name: str, total: int | None = None) -> None:
        self.p.stage_(name, total)

    def advance(self, n: int = 1) -> None:
        self.p.advance(n)


@dataclass
class JobView:
    row: JobRow
    progress: JobProgress = field(default_factory=JobProgress)


def _record_count(pkg: Path) -> int | None:
    try:
        n = json.loads((pkg / "manifest.json").read_text(encoding="utf-8")).get("record_count")
    except (OSError, ValueError, AttributeError):
        return None
    return n if isinstance(n, int) and n >= 0 else None


def links_in(pkg: Path) -> bool:
    """True when the spooled package is, or holds, anything but plain files: a symbolic
    link (which could point at another agency's package or any file the server can
    read), a folder, a device or a pipe."""
    if pkg.is_symlink() or pkg.parent.is_symlink() or not pkg.is_dir():
        return True
    with os.scandir(pkg) as entries:
        return any(not e.is_file(follow_symlinks=False) for e in entries)


def private_dir(path: Path) -> Path:
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(path, 0o700)
    return path


class _Gateway(Protocol):  # what the worker needs of the Gateway
    settings: Settings

    def lock(self, timeout: float | None = None) -> AbstractContextManager[Store]: ...

    def process(self, request_dir: Path, out_dir: Path, progress: Progress | None = None
                ) -> ProcessResult: ...

    def warm(self) -> None: ...


class JobRunner:
    """The job board (in memory) and its worker thread."""

    def __init__(self, gateway: _Gateway) -> None:
        self.gateway = gateway
        self.settings = settings = gateway.settings
        self.spool = private_dir(settings.spool)
        self.board: dict[str, JobView] = {}
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self.running: str | None = None  # the job the worker runs now
        self.stage_seconds: dict[str, tuple[int, float]] = {}  # stage: (jobs, seconds)

    # --- paths -------------------------------------------------------------------------
    def job_dir(self, job_id: str) -> Path:
        return self.spool / job_id

    def package_dir(self, job_id: str) -> Path:
        return self.job_dir(job_id) / "package"

    def response_dir(self, job_id: str) -> Path:
        return self.job_dir(job_id) / "response"

    # --- lifecycle ---------------------------------------------------------------------
    def start(self) -> None:
        """Load every job (the store's, and spooled ones not stored yet), queue the
        unfinished ones again in submission order, start the worker."""
        with self.gateway.lock() as store:
            rows = {r.job_id: r for r in store.jobs()}
        for marker in self.spool.glob("job-*/job.json"):
            if marker.is_symlink() or marker.parent.is_symlink():
                continue  # the spool holds what this server wrote, never links
            if marker.parent.name not in rows:
                try:
                    row = JobRow(**json.loads(marker.read_text(encoding="utf-8")))
                except (ValueError, TypeError):
                    continue
                rows[row.job_id] = row
        for row in sorted(rows.values(), key=lambda r: (r.submitted_at, r.job_id)):
            if row.state == DONE and row.exit_code == 2:  # refused before REFUSED existed
                row = replace(row, state=REFUSED)
            self.board[row.job_id] = JobView(row)
            if row.state in UNFINISHED:
                self._queue.put(row.job_id)
        self._thread = threading.Thread(target=self._work, name="taxgate-jobs", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._queue.put(None)
        if self._thread is not None:
            self._thread.join(timeout)

    # --- submit --------------------------------------------------------------------------
    def new_job_id(self) -> str:
        return "job-" + uuid.uuid4().hex

    def accept(self, job_id: str, agency: str, request_id: object) -> JobRow:
        """Register a spooled package (already in ``package_dir``) and queue it;
        ``request_id`` as the manifest gave it (kept when it has a request id's form)."""
        request_id = request_id if valid_request_id(request_id) else None
        now = iso_now()
        row = JobRow(job_id, agency, request_id, QUEUED, now, now)
        marker = self.job_dir(job_id) / "job.json"  # survives a restart before it is stored
        tmp = marker.with_suffix(".tmp")
        tmp.write_text(json.dumps(asdict(row)), encoding="utf-8")
        os.replace(tmp, marker)
        try:  # stored now unless the worker holds the store; it stores it when it starts
            with self.gateway.lock(timeout=0.2) as store:
                store.save_job(row)
        except StoreBusy:
            pass
        self.board[job_id] = JobView(row)
        self._queue.put(job_id)
        return row

    def precheck(self, job_id: str, received: dt.datetime | None = None
                 ) -> RequestRefused | None:
        """The refusal the spooled package of ``job_id`` will get, told without the
        taxpayer filings; None when it passes, or when it cannot be told now and exactly
        as the job will tell it: the registry is busy, the request id is already stored
        (the job replays or refuses it as reused), the store is not set up or its ledger
        failed its last check (the job fails), or the only refusal is a created_at
        in the future (later it may no longer be)."""
        from taxgate import agency, integrity

        pkg = intake.read_package(self.package_dir(job_id),
                                  self.settings.policy.max_records_file_bytes)
        try:
            with self.gateway.lock(timeout=PRECHECK_WAIT_S) as store:
                if store.filing_count() == 0 or integrity.open_failure(store) or (
                        pkg.request_id and store.find_request(pkg.request_id) is not None):
                    return None
                sender = pkg.requesting_agency or ""
                officials = store.officials(sender)
                safeguards = store.safeguards_current(sender) if sender else None
        except StoreBusy:
            return None
        first = agency.first_refusal(pkg, self.settings.policy,
                                     received or dt.datetime.now(dt.UTC), officials, safeguards)
        return None if first is None or first.reason == "CREATED_AT_INVALID" else first

    def page(self, agency: str, after: str | None, limit: int) -> tuple[list[JobView], str | None]:
        """Up to ``limit`` of ``agency``'s jobs after job ``after`` (None: from the first),
        oldest first, and the job id to continue after (None on the last page)."""
        own = [v for v in list(self.board.values()) if v.row.agency == agency]
        start = 0
        if after is not None:
            ids = [v.row.job_id for v in own]
            if after not in ids:
                raise BadInput("cursor: not one this server gave for these jobs")
            start = ids.index(after) + 1
        chunk = own[start:start + limit]
        more = start + limit < len(own)
        return chunk, (chunk[-1].row.job_id if more and chunk else None)

    def view(self, job_id: str, agency: str | None = None) -> JobView | None:
        v = self.board.get(job_id)
        if v is None or (agency is not None and v.row.agency != agency):
            return None
        return v

    # --- the worker ----------------------------------------------------------------------
    def _save(self, view: JobView, **changes: object) -> None:
        view.row = replace(view.row, updated_at=iso_now(), **changes)  # type: ignore[arg-type]
        with self.gateway.lock() as store:
            store.save_job(view.row)

    def _work(self) -> None:
        self._warm()
        while not self._stop.is_set():
            try:
                job_id = self._queue.get(timeout=30)
            except queue.Empty:
                self._expire()
                continue
            if job_id is None:
                return
            view = self.board.get(job_id)
            if view is not None and view.row.state in UNFINISHED:
                self.run_one(view)
            self._expire()

    def _warm(self) -> None:
        """The worker's first act: the store's matching connection and what a first job
        builds once per process, made now, so the first request is answered as fast as
        the next (jobs queued meanwhile wait for the store, as behind any job)."""
        with contextlib.suppress(Exception):  # only a head start: a job meets any failure
            self.gateway.warm()

    def run_one(self, view: JobView) -> None:
        job_id = view.row.job_id
        pkg, out = self.package_dir(job_id), self.response_dir(job_id)
        try:
            if links_in(pkg):
                self._fail(view, "the spooled package holds a symbolic link or something "
                           "other than plain files; refused, nothing was disclosed")
                shutil.rmtree(pkg, ignore_errors=True)
                return
            view.progress.stage_("intake", _record_count(pkg))
            with self.gateway.lock():
                # "running" only while the job holds the store: once it lets go (a
                # failure is saved after), whatever holds the store is not this job
                self.running = job_id
                try:
                    self._run_held(view, pkg, out)
                finally:
                    self.running = None
        except Exception as exc:  # noqa: BLE001 - a failed job must not stop the worker
            kind = classify(exc)  # messages carry no taxpayer values (errors.py)
            self._fail(view, str(exc) if kind.shown else
                       f"internal failure ({type(exc).__name__}); nothing was disclosed",
                       4 if issubclass(kind, IntegrityError) else 1)  # FAILED: 4 or 1
        shutil.rmtree(pkg, ignore_errors=True)  # R40: the request's input is not kept

    def _run_held(self, view: JobView, pkg: Path, out: Path) -> None:
        """The job's process and its saved states, on the store the worker holds."""
        self._save(view, state=RUNNING)
        result = self.gateway.process(pkg, out, _ProgressAdapter(view.progress))
        expires = dt.datetime.now(dt.UTC) + dt.timedelta(
            days=self.settings.service.response_retention_days)
        view.progress.stage_("done")
        view.progress.done = sum(result.counts.values())
        self._timed(result.timings.stages)
        self._save(
            view, state=DONE if result.exit_code == 0 else REFUSED,
            request_id=result.request_id, exit_code=result.exit_code,
            message=result.message, counts_json=json.dumps(result.counts, sort_keys=True),
            expires_at=expires.isoformat().replace("+00:00", "Z"),
            recipients=json.dumps(named_recipients(pkg)))  # R4: who may download

    def _timed(self, stages: dict[str, float]) -> None:
        for name, seconds in stages.items():
            n, total = self.stage_seconds.get(name, (0, 0.0))
            self.stage_seconds[name] = (n + 1, total + seconds)

    def _fail(self, view: JobView, message: str, exit_code: int = 1) -> None:
        view.progress.stage_("failed")
        try:
            self._save(view, state=FAILED, exit_code=exit_code, message=message[:300])
        except TaxgateError:
            view.row = replace(view.row, state=FAILED, message=message[:300])

    def _expire(self) -> None:
        """R40: delete responses past their retention."""
        now = iso_now()
        for view in list(self.board.values()):
            r = view.row
            if r.state in ANSWERED and r.expires_at and r.expires_at < now:
                shutil.rmtree(self.job_dir(r.job_id), ignore_errors=True)
                with contextlib.suppress(TaxgateError):
                    self._save(view, state=EXPIRED)
