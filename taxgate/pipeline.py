"""The only orchestrator: init, load and process, wiring the stages together.

Shells (CLI, HTTP API, web pages) call these functions and nothing deeper; each
turns :class:`taxgate.errors.TaxgateError` into an exit code or an HTTP status in
one place.
"""

from __future__ import annotations

import datetime as dt
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import duckdb

from taxgate import filings as filings_io
from taxgate import faults, intake, matching, policy, response, standardize, statute
from taxgate.canonical import canonical_json, sha256_hex
from taxgate.errors import RequestRefused, StoreError
from taxgate.records import Outcome
from taxgate.settings import Settings
from taxgate.store import open_store
from taxgate.store.base import LedgerEvent, Official, RequestOutcome, Store
from taxgate.store.duck import new_connection


class Progress(Protocol):
    """What a shell shows while a stage runs (the CLI draws Rich progress bars)."""

    def stage(self, name: str, total: int | None = None) -> None: ...
    def advance(self, n: int = 1) -> None: ...


class _Quiet:
    def stage(self, name: str, total: int | None = None) -> None: ...
    def advance(self, n: int = 1) -> None: ...


@dataclass
class Timings:
    """Wall time per stage, in seconds, in the order the stages ran."""

    stages: dict[str, float] = field(default_factory=dict)

    @contextmanager
    def stage(self, name: str, progress: Progress, total: int | None = None) -> Iterator[None]:
        progress.stage(name, total)
        start = time.perf_counter()
        try:
            yield
        finally:
            self.stages[name] = self.stages.get(name, 0.0) + time.perf_counter() - start


@dataclass
class ProcessResult:
    """What ``process`` did: exit code 0 (answered) or 2 (refused), counts, where."""

    exit_code: int
    request_id: str | None
    counts: dict[str, int]
    out_dir: Path
    message: str
    replayed: bool = False
    timings: Timings = field(default_factory=Timings)


@dataclass
class LoadResult:
    rows: int
    total_filings: int
    model_version: str
    timings: Timings


def _now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


# --- init / officials --------------------------------------------------------------------


def init(settings: Settings) -> Path | str:
    """Create the store (and its at-rest key and the gateway's signing key)."""
    store = open_store(settings, create=True)
    try:
        store.initialize()
    finally:
        store.close()
    return settings.store


def add_official(settings: Settings, official: Official, actor: str) -> None:
    store = open_store(settings)
    try:
        store.add_official(official, actor)
    finally:
        store.close()


# --- load ----------------------------------------------------------------------------


def load(settings: Settings, path: Path, progress: Progress | None = None) -> LoadResult:
    """Load (or add to) taxpayer filings: check, standardize once, store, retrain."""
    progress = progress or _Quiet()
    timings = Timings()
    store = open_store(settings)
    try:
        # A scratch connection with the store's limits: memory_limit, threads, and
        # encrypted spill files in a private temp folder (standardized rows never spill
        # to disk in the clear).
        scratch = tempfile.TemporaryDirectory(prefix="taxgate-load-")
        work = new_connection(settings, temp_dir=Path(scratch.name))
        work.execute("SET preserve_insertion_order = false")  # rows carry their filing_id
        standardize.install(work)
        with timings.stage("read", progress):
            rows = filings_io.stage_filings(work, path, "_tg_raw_filings")
        with timings.stage("standardize", progress, rows):
            first_id = store.filing_count() + 1
            load_id = sha256_hex(f"{path.name}{_now()}".encode())[:16]
            select = standardize.standardized_select_sql("_tg_raw_filings", side="filing")
            work.execute(
                f"CREATE OR REPLACE TEMP TABLE _tg_std AS SELECT "
                f"{first_id} - 1 + row_number() OVER () AS filing_id, "
                f"'{load_id}' AS load_id, * FROM ({select})"
            )
        with timings.stage("store", progress, rows):
            reader = work.execute("SELECT * FROM _tg_std").fetch_record_batch(100_000)

            def batches() -> Iterator:
                for batch in reader:
                    progress.advance(batch.num_rows)
                    yield batch

            store.append_filings(batches())
        work.close()
        scratch.cleanup()
        with timings.stage("train", progress):
            con = store.matching_connection()
            standardize.install(con)
            model_json = matching.train(con)
            version = "model-" + sha256_hex(model_json.encode())[:12]
            store.save_model(version, model_json)
        total = store.filing_count()
    finally:
        store.close()
    return LoadResult(rows=rows, total_filings=total, model_version=version, timings=timings)


# --- process ------------------------------------------------------------------------------


def process(
    settings: Settings, request_dir: Path, out_dir: Path, progress: Progress | None = None
) -> ProcessResult:
    """The main job: a request package in, a signed response package out."""
    progress = progress or _Quiet()
    store = open_store(settings)
    try:
        return _process(settings, store, request_dir, out_dir, progress)
    finally:
        store.close()


def process_with_store(
    settings: Settings,
    store: Store,
    request_dir: Path,
    out_dir: Path,
    progress: Progress | None = None,
) -> ProcessResult:
    """``process`` on a store the caller already holds open (the server's job worker)."""
    return _process(settings, store, request_dir, out_dir, progress or _Quiet())


def _process(
    settings: Settings, store: Store, request_dir: Path, out_dir: Path, progress: Progress
) -> ProcessResult:
    timings = Timings()
    received_at = _now()
    with timings.stage("intake", progress):
        pkg = intake.read_package(request_dir)
        if pkg.request_id:
            stored = store.find_request(pkg.request_id)
            if stored is not None:
                if stored.package_sha256 == pkg.package_sha256:
                    return _replay(store, stored, out_dir, timings, request_dir)
                return _refuse(
                    settings,
                    store,
                    pkg,
                    out_dir,
                    received_at,
                    timings,
                    RequestRefused("REQUEST_ID_REUSED", "request_id was already used"),
                    remember=False,
                )
        if store.filing_count() == 0:
            raise StoreError("the store holds no taxpayer filings: run `taxgate load` first")
        con = store.matching_connection()
        try:
            manifest = _verify_request(settings, store, pkg, con)
        except RequestRefused as refusal:
            return _refuse(settings, store, pkg, out_dir, received_at, timings, refusal, con=con)
    faults.crash_point("after-intake")
    assert pkg.manifest is not None
    created = manifest.created.date().isoformat()
    periods = list(manifest.raw["taxable_periods"])
    with timings.stage("statutory checks", progress):
        standardize.install(con)
        statute.evaluate_records(
            con, "_tg_req", "_tg_rules", created=created, policy=settings.policy
        )
    with timings.stage("standardization", progress):
        select = standardize.standardized_select_sql(
            "(SELECT r.* FROM _tg_req r JOIN _tg_rules u USING (row_number) "
            "WHERE len(u.rejections) = 0 AND len(u.holds) = 0)",
            side="request",
        )
        con.execute(f"CREATE OR REPLACE TEMP TABLE _tg_lawful AS {select}")
    model = store.current_model()
    model_version = model[0] if model else None
    with timings.stage("matching", progress):
        if model is None:
            raise RequestRefused("NO_MODEL", "no taxpayer records are loaded")  # pragma: no cover
        n_taxpayers = con.execute("SELECT count(DISTINCT tin) FROM filings").fetchone()[0]
        prior = 0.5 / max(int(n_taxpayers), 1)
        with matching.splink_phases() as phases:
            matching.scorer(settings.engine, settings.spark_master)(
                con,
                requests="_tg_lawful",
                filings="filings",
                model_json=model[1],
                prior=prior,
                out="_tg_pairs",
            )
    # report Splink's two phases as stages of their own
    both = timings.stages.pop("matching")
    blocking = min(phases.get("candidate generation", 0.0), both)
    timings.stages["candidate generation"] = blocking
    timings.stages["scoring"] = both - blocking
    with timings.stage("decisions", progress):
        policy.decide(
            con,
            requests="_tg_lawful",
            pairs="_tg_pairs",
            periods=periods,
            policy=settings.policy,
            out="_tg_decided",
        )
        decisions = _assemble(con, manifest.raw["request_id"], model_version, settings)
    faults.crash_point("after-matching")
    return _answer(
        settings, store, pkg, out_dir, received_at, timings, decisions, con, model_version
    )


def _verify_request(
    settings: Settings, store: Store, pkg: intake.Package, con: duckdb.DuckDBPyConnection
) -> intake.Manifest:
    """Every whole-request rule, in order; raises RequestRefused on the first failure."""
    if pkg.problem is not None:
        raise pkg.problem
    manifest = pkg.manifest
    assert manifest is not None and pkg.records_path is not None
    now = dt.datetime.now(dt.UTC)
    if manifest.created > now + dt.timedelta(minutes=5):
        raise RequestRefused("CREATED_AT_INVALID", "created_at lies in the future")
    intake.check_signature(manifest, store.officials(manifest.raw["requesting_agency"]))
    intake.check_records_digest(pkg)
    count = intake.load_records(con, pkg.records_path, "_tg_req")
    if count != manifest.raw["record_count"]:
        raise RequestRefused("RECORD_COUNT_MISMATCH", "record_count does not match the file")
    p = settings.policy
    statute.check_request_size(count, p)
    statute.check_safeguards(store.safeguards_current(manifest.raw["requesting_agency"]))
    statute.check_legal_authority(manifest.raw["legal_authority"], p)
    statute.check_criminal_statute(manifest.raw["criminal_statute"], p)
    statute.check_taxable_periods(manifest.raw["taxable_periods"], manifest.created.year, p)
    statute.check_reason(manifest.raw["reason"], p)
    return manifest


def _assemble(
    con: duckdb.DuckDBPyConnection, request_id: str, model_version: str | None, settings: Settings
) -> duckdb.DuckDBPyRelation:
    """One decision row per submitted record, in file order."""
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE _tg_decisions AS
        SELECT ? AS request_id, r.row_number, coalesce(r.record_id, '') AS record_id,
               CASE WHEN len(u.rejections) > 0 THEN 'REJECTED'
                    WHEN len(u.holds) > 0 THEN 'REVIEW'
                    ELSE d.outcome END AS outcome,
               CASE WHEN len(u.rejections) > 0 THEN array_to_string(u.rejections, ';')
                    WHEN len(u.holds) > 0 THEN array_to_string(u.holds, ';')
                    WHEN d.outcome = 'REVIEW' THEN 'DISCLOSURE_OFFICER_REVIEW'
                    ELSE '' END AS reasons,
               d.tin AS tin,
               d.match_probability AS match_probability,
               CAST(d.evidence AS VARCHAR) AS evidence,
               ? AS model_version, ? AS policy_version
        FROM _tg_req r
        JOIN _tg_rules u USING (row_number)
        LEFT JOIN _tg_decided d USING (row_number)
        ORDER BY r.row_number
        """,
        [request_id, model_version, settings.policy.version()],
    )
    return con.table("_tg_decisions")


def _answer(
    settings: Settings,
    store: Store,
    pkg: intake.Package,
    out_dir: Path,
    received_at: str,
    timings: Timings,
    decisions: duckdb.DuckDBPyRelation,
    con: duckdb.DuckDBPyConnection,
    model_version: str | None,
) -> ProcessResult:
    manifest = pkg.manifest
    assert manifest is not None
    request_id = manifest.raw["request_id"]
    with timings.stage("ledger", _Quiet()):
        counts = dict(
            con.execute("SELECT outcome, count(*) FROM _tg_decisions GROUP BY outcome").fetchall()
        )
        with tempfile.TemporaryDirectory(prefix="taxgate-") as tmp:
            results = Path(tmp) / "results.csv"
            n = _write_results(con, "_tg_decisions", results)
            digest = response.results_digest(results)
            completed_at = _now()
            resp = response.build_response(
                request_id=request_id,
                received_at=received_at,
                completed_at=completed_at,
                counts=counts,
                policy_version=settings.policy.version(),
                model_version=model_version,
                records_sha256=digest,
                record_count=n,
                signing_key=store.signing_key(),
            )
            events = _events(
                manifest,
                pkg,
                con,
                counts,
                digest,
                received_at,
                completed_at,
                model_version,
                settings,
            )
            faults.crash_point("before-commit")
            committed = store.commit_request(
                RequestOutcome(
                    request_id=request_id,
                    package_sha256=pkg.package_sha256,
                    received_at=received_at,
                    completed_at=completed_at,
                    response_json=canonical_json(resp).decode("utf-8"),
                    decisions=decisions.fetch_arrow_table(),
                    events=events,
                )
            )
            if not committed:  # another run answered this request first: give its answer
                stored = store.find_request(request_id)
                assert stored is not None
                return _replay(store, stored, out_dir, timings, pkg.directory)
            faults.crash_point("after-commit")
            _hold_for_review(store, request_id, counts, pkg.directory)
            with timings.stage("response", _Quiet()):
                response.publish(out_dir, results, resp)
    return ProcessResult(0, request_id, counts, out_dir, "answered", timings=timings)


def _write_results(con: duckdb.DuckDBPyConnection, table: str, path: Path) -> int:
    rows = con.execute(
        f"SELECT record_id, outcome, reasons FROM {table} ORDER BY row_number"
    ).fetchall()
    return response.write_results_csv(path, rows)


def _events(
    manifest: intake.Manifest,
    pkg: intake.Package,
    con: duckdb.DuckDBPyConnection,
    counts: dict[str, int],
    results_sha: str,
    received_at: str,
    completed_at: str,
    model_version: str | None,
    settings: Settings,
) -> list[LedgerEvent]:
    m = manifest.raw
    rid = m["request_id"]
    events = [
        LedgerEvent(
            "REQUEST_RECEIVED",
            {
                "request_id": rid,
                "package_sha256": pkg.package_sha256,
                "manifest_sha256": sha256_hex(pkg.manifest_bytes),
                "received_at": received_at,
                "requesting_agency": m["requesting_agency"],
                "signing_official": m["signing_official"],
                "legal_authority": m["legal_authority"],
                "criminal_statute": m["criminal_statute"],
                "taxable_periods": m["taxable_periods"],
                "reason": m["reason"],
                "created_at": m["created_at"],
                "record_count": m["record_count"],
            },
            rid,
        ),
        LedgerEvent(
            "DECISIONS_RECORDED",
            {
                "request_id": rid,
                "counts": counts,
                "results_sha256": results_sha,
                "model_version": model_version,
                "policy_version": settings.policy.version(),
                "completed_at": completed_at,
            },
            rid,
        ),
    ]
    for record_id, tin, officer, case, prob in con.execute(
        "SELECT d.record_id, d.tin, r.officer_id, r.case_number, d.match_probability "
        "FROM _tg_decisions d JOIN _tg_req r USING (row_number) "
        "WHERE d.outcome = 'CONFIRMED' ORDER BY d.row_number"
    ).fetchall():
        events.append(
            disclosure_event(
                m,
                record_id=record_id,
                tin=tin,
                officer_id=officer,
                case_number=case,
                disclosed_at=completed_at,
                match_probability=prob,
                model_version=model_version,
                policy_version=settings.policy.version(),
            )
        )
    return events


def disclosure_event(
    manifest: dict,
    *,
    record_id: str,
    tin: str,
    officer_id: str | None,
    case_number: str | None,
    disclosed_at: str,
    match_probability: float | None,
    model_version: str | None,
    policy_version: str,
) -> LedgerEvent:
    """The DISCLOSURE ledger event of one CONFIRMED record (R27): written by ``process``
    and by the release of a REVIEW record (:mod:`taxgate.service.review`) alike."""
    m = manifest
    rid = m["request_id"]
    prob = match_probability
    return LedgerEvent(
        "DISCLOSURE",
        {
            "request_id": rid,
            "record_id": record_id,
            "tin": tin,
            "requesting_agency": m["requesting_agency"],
            "signing_official": m["signing_official"],
            "officer_id": officer_id,
            "case_number": case_number,
            "legal_authority": m["legal_authority"],
            "criminal_statute": m["criminal_statute"],
            "purpose": m["reason"],
            "taxable_periods": m["taxable_periods"],
            "disclosed_at": disclosed_at,
            "data_elements": ["address confirmation"],
            "match_probability": round(float(prob), 6) if prob is not None else None,
            "model_version": model_version,
            "policy_version": policy_version,
        },
        rid,
    )


def _refuse(
    settings: Settings,
    store: Store,
    pkg: intake.Package,
    out_dir: Path,
    received_at: str,
    timings: Timings,
    refusal: RequestRefused,
    *,
    remember: bool = True,
    con: duckdb.DuckDBPyConnection | None = None,
) -> ProcessResult:
    """Answer a refused request: every readable record REJECTED with the request's code."""
    record_ids = _readable_record_ids(pkg, con)
    with tempfile.TemporaryDirectory(prefix="taxgate-") as tmp:
        results = Path(tmp) / "results.csv"
        n = response.write_results_csv(
            results, ((rid, Outcome.REJECTED.value, refusal.reason) for rid in record_ids)
        )
        digest = response.results_digest(results)
        completed_at = _now()
        resp = response.build_response(
            request_id=pkg.request_id,
            received_at=received_at,
            completed_at=completed_at,
            counts={Outcome.REJECTED.value: n},
            policy_version=settings.policy.version(),
            model_version=None,
            records_sha256=digest,
            record_count=n,
            signing_key=store.signing_key(),
            request_reason=refusal.reason,
        )
        event = LedgerEvent(
            "REQUEST_REFUSED",
            {
                "request_id": pkg.request_id,
                "package_sha256": pkg.package_sha256,
                "reason": refusal.reason,
                "received_at": received_at,
                "record_count": n,
                "results_sha256": digest,
            },
            pkg.request_id,
        )
        if remember and pkg.request_id:
            store.record_refusal(
                pkg.request_id,
                pkg.package_sha256,
                received_at,
                canonical_json(resp).decode("utf-8"),
                [event],
                _refusal_decisions(pkg.request_id, record_ids, refusal.reason),
            )
        else:
            store.append_events([event])
        response.publish(out_dir, results, resp)
    return ProcessResult(
        2, pkg.request_id, {Outcome.REJECTED.value: n}, out_dir, str(refusal), timings=timings
    )


def _refusal_decisions(request_id: str, record_ids: list[str], reason: str):  # noqa: ANN202
    import pyarrow as pa

    n = len(record_ids)
    return pa.table(
        {
            "request_id": [request_id] * n,
            "row_number": list(range(1, n + 1)),
            "record_id": record_ids,
            "outcome": ["REJECTED"] * n,
            "reasons": [reason] * n,
            "tin": pa.nulls(n, pa.string()),
            "match_probability": pa.nulls(n, pa.float64()),
            "evidence": pa.nulls(n, pa.string()),
            "model_version": pa.nulls(n, pa.string()),
            "policy_version": pa.nulls(n, pa.string()),
        }
    )


def _readable_record_ids(pkg: intake.Package, con: duckdb.DuckDBPyConnection | None) -> list[str]:
    if pkg.records_path is None:
        return []
    work = con or duckdb.connect()
    try:
        if not _table_exists(work, "_tg_req"):
            intake.load_records(work, pkg.records_path, "_tg_req")
        return [
            r[0] or ""
            for r in work.execute("SELECT record_id FROM _tg_req ORDER BY row_number").fetchall()
        ]
    except RequestRefused:
        return []


def _table_exists(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    return bool(
        con.execute(
            "SELECT count(*) FROM duckdb_tables() WHERE table_name = ? AND temporary", [name]
        ).fetchone()[0]
    )


def _hold_for_review(
    store: Store, request_id: str, counts: dict[str, int], request_dir: Path
) -> None:
    """Put the request's REVIEW records on the disclosure officers' desk (idempotent, so a
    re-run after a crash between commit and here completes it)."""
    if counts.get("REVIEW"):
        from taxgate.service import review  # the desk's orchestration; imports this module

        review.capture(store, request_id, request_dir)


def _replay(
    store: Store, stored, out_dir: Path, timings: Timings, request_dir: Path | None = None  # noqa: ANN001
) -> ProcessResult:
    """Give the stored answer again, byte for byte; discloses nothing new."""
    import json

    resp = json.loads(stored.response_json)
    if stored.status == "COMPLETE" and request_dir is not None:
        _hold_for_review(store, stored.request_id, resp.get("counts", {}), request_dir)
    table = store.decisions(stored.request_id).sort_by("row_number")
    rows = zip(
        *(table.column(c).to_pylist() for c in ("record_id", "outcome", "reasons")), strict=True
    )
    with tempfile.TemporaryDirectory(prefix="taxgate-") as tmp:
        results = Path(tmp) / "results.csv"
        response.write_results_csv(results, rows)
        response.publish(out_dir, results, resp)
    code = 2 if stored.status == "REFUSED" else 0
    return ProcessResult(
        code,
        stored.request_id,
        dict(resp.get("counts", {})),
        out_dir,
        "replayed the stored response",
        replayed=True,
        timings=timings,
    )
