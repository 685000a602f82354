"""The main job: a request package in, a signed response package out."""

from __future__ import annotations

from pathlib import Path

import duckdb

from taxgate import (
    certifications,
    faults,
    filing_index,
    intake,
    integrity,
    matching,
    policy,
    response,
    standardize,
    statute,
)
from taxgate.errors import NotSetUp, RequestRefused
from taxgate.pipeline.answer import answer, answer_again
from taxgate.pipeline.common import ProcessResult, Progress, Quiet, Submission, Timings, now
from taxgate.pipeline.delivery import Sender
from taxgate.pipeline.refusal import refuse
from taxgate.settings import Settings
from taxgate.stage_table import ScoredPairs, StageTable, materialize, table_of
from taxgate.store.base import Store

# The tables one request's stages make in the matching connection, each named here and
# handed on as the StageTable its stage returns.
_RECORDS, _CHECKS, _LAWFUL = "_tg_req", "_tg_rules", "_tg_lawful"
_PAIRS, _DECIDED, _DECISIONS = "_tg_pairs", "_tg_decided", "_tg_decisions"


def process(
    settings: Settings,
    store: Store,
    request_dir: Path,
    out_dir: Path,
    progress: Progress | None = None,
) -> ProcessResult:
    """The main job on the gateway's open store: a request package in, a signed
    response package out."""
    return _process(settings, store, request_dir, out_dir, progress or Quiet())


def _process(
    settings: Settings, store: Store, request_dir: Path, out_dir: Path, progress: Progress
) -> ProcessResult:
    integrity.guard(store)  # nothing is disclosed on a ledger that failed its last check
    timings = Timings()
    received_at = now()
    with timings.stage("intake", progress):
        pkg = intake.read_package(request_dir, settings.policy.max_records_file_bytes)
        response.check_out_dir(out_dir)  # before anything is committed
        sub = Submission(settings, store, pkg, out_dir, received_at, timings)
        admitted = _admit(sub)
        if isinstance(admitted, ProcessResult):
            return admitted
        con, manifest, records = admitted
    faults.crash_point("after-intake")
    assert pkg.manifest is not None
    model = store.current_model()
    decisions = decide_records(sub, con, manifest, records, model, progress)
    faults.crash_point("after-matching")
    model_version = model[0] if model else None
    return answer(sub, decisions.relation(con), records.relation(con), model_version, progress)


def warm(store: Store) -> None:
    """Pay now what the first job of a long-lived process would: the store's matching
    connection (its index brought up to date, the store's catalog read), standardization's
    lookup tables and macros on it, and this code's comparisons built for the model's
    check and the evidence labels. Nothing is decided or disclosed; a store not set up
    is left alone (its first job says why it cannot run)."""
    model = store.current_model() if store.filing_count() else None
    if model is None:
        return
    standardize.install(store.matching_connection(), store.lookup_cache())
    matching.use_kept_comparisons(store.lookup_cache())
    matching.check_model(model[1])
    matching.level_labels()


def decide_records(
    sub: Submission, con: duckdb.DuckDBPyConnection, manifest: intake.Manifest,
    records: StageTable, model: tuple[str, str] | None, progress: Progress,
) -> StageTable:
    """The decision of every record of an admitted request under ``sub.settings``'s
    policy and ``model`` (version, JSON): the statutory checks, matching and the
    policy, one row per record in the store's decision columns. The main job's, and a
    re-check's of a kept request (taxgate.gateway.recheck)."""
    settings, store = sub.settings, sub.store
    checks, lawful = _check_records(sub, con, manifest, records, progress)
    pairs = _match(sub, con, model, records, lawful, progress)
    with sub.timings.stage("decisions", progress):
        decided = policy.decide(
            con,
            requests=lawful,
            pairs=pairs,
            periods=list(manifest.raw["taxable_periods"]),
            policy=settings.policy,
            safeguards_current=store.safeguards_current(manifest.raw["requesting_agency"]),
            out=_DECIDED,
        )
        pairs.drop(con)  # the evidence kept is in the decided table
        return _assemble(con, records, checks, decided, manifest.raw["request_id"],
                         model[0] if model else None, settings)


def _admit(
    sub: Submission,
) -> ProcessResult | tuple[duckdb.DuckDBPyConnection, intake.Manifest, StageTable]:
    """The package's whole-request checks: the answer already given (replayed or
    REQUEST_ID_REUSED), a refusal, or the matching connection and its records table."""
    store, pkg = sub.store, sub.pkg
    sender = _sender(store, pkg)
    stored = store.find_request(pkg.request_id) if pkg.request_id else None
    if stored is not None:
        return answer_again(sub, stored, sender)
    if store.filing_count() == 0:
        raise NotSetUp("the store holds no taxpayer filings: run `taxgate load` first")
    con = store.matching_connection()
    try:
        manifest, records = verify_request(sub.settings, store, pkg, con, sub.received_at)
    except RequestRefused as refusal:
        return refuse(sub, refusal, sender=sender)
    return con, manifest, records


def _check_records(
    sub: Submission, con: duckdb.DuckDBPyConnection, manifest: intake.Manifest,
    records: StageTable, progress: Progress,
) -> tuple[StageTable, StageTable]:
    """The statutory checks of every record, then the lawful records standardized for
    matching: (checks, lawful)."""
    created = manifest.created.date().isoformat()
    with sub.timings.stage("statutory checks", progress):
        standardize.install(con, sub.store.lookup_cache())
        checks = statute.evaluate_records(
            con, records, _CHECKS, created=created, policy=sub.settings.policy
        )
    with sub.timings.stage("standardization", progress):
        select = standardize.standardized_select_sql(
            statute.lawful_sql(records, checks), side="request")
        lawful = materialize(con, _LAWFUL, select)
    return checks, lawful


def _match(
    sub: Submission, con: duckdb.DuckDBPyConnection, model: tuple[str, str] | None,
    records: StageTable, lawful: StageTable, progress: Progress,
) -> ScoredPairs:
    """Score the lawful records against the filings: the scored pairs, Splink's
    candidate generation and scoring timed as stages of their own."""
    settings, timings = sub.settings, sub.timings
    sizes = con.execute(f"SELECT (SELECT count(*) FROM {records.name}), "
                        f"(SELECT count(*) FROM {lawful.name})").fetchone()
    total, to_match = (int(sizes[0]), int(sizes[1])) if sizes else (0, 0)
    with timings.stage("matching", progress, total):
        progress.advance(total - to_match)  # rejected and held records need no matching
        if model is None:
            raise NotSetUp("the store holds no trained model: run `taxgate load` first")
        matching.use_kept_comparisons(sub.store.lookup_cache())
        matching.check_model(model[1])
        # the filing index's TINs: count(DISTINCT tin) of the filings, kept at load
        row = con.execute(f"SELECT count(*) FROM {filing_index.TINS}").fetchone()
        prior = 0.5 / max(int(row[0] if row else 0), 1)
        with matching.splink_phases() as phases:
            pairs = matching.scorer(settings.engine, settings.spark_master,
                                    settings.spark_driver_memory, settings.spark_partitions,
                                    settings.spark_index)(
                con,
                requests=lawful,
                filings="filings",
                model_json=model[1],
                prior=prior,
                out=_PAIRS,
                chunk_records=settings.match_chunk_records,
                progress=progress,
                names=matching.NameRules.of(settings.policy),
                kept=sub.store.lookup_cache(),
            )
    # report Splink's two phases as stages of their own
    both = timings.stages.pop("matching")
    blocking = min(phases.get("candidate generation", 0.0), both)
    timings.stages["candidate generation"] = blocking
    timings.stages["scoring"] = both - blocking
    return pairs


def _sender(store: Store, pkg: intake.Package) -> Sender:
    """The agency and signer a package names, and whether its signature proves them."""
    verified = pkg.manifest is not None and intake.signer_verified(
        pkg.manifest, store.officials(pkg.manifest.raw["requesting_agency"]))
    return Sender(pkg.requesting_agency, pkg.signing_official, verified)


def verify_request(
    settings: Settings, store: Store, pkg: intake.Package, con: duckdb.DuckDBPyConnection,
    received_at: str,
) -> tuple[intake.Manifest, StageTable]:
    """Every whole-request rule, in order; raises RequestRefused on the first failure.
    The manifest, and the records table."""
    if pkg.problem is not None:
        raise pkg.problem
    manifest = pkg.manifest
    assert manifest is not None and pkg.records_path is not None
    received = intake.parse_created_at(received_at)
    intake.check_signature(
        manifest, store.officials(manifest.raw["requesting_agency"]), received.date())
    intake.check_fresh(manifest, received, settings.policy)
    intake.check_records_digest(pkg)
    count = intake.load_records(con, pkg.records_path, _RECORDS)
    if count != manifest.raw["record_count"]:
        raise RequestRefused("RECORD_COUNT_MISMATCH", "record_count does not match the file")
    p = settings.policy
    statute.check_request_size(count, p)
    statute.check_safeguards(store.safeguards_current(manifest.raw["requesting_agency"]))
    if p.block_overdue_certifications:  # R32, optional
        certifications.check_none_overdue(store.ledger_entries(), manifest.raw[
            "requesting_agency"], p.certification_due_days, received.date())
    statute.check_legal_authority(manifest.raw["legal_authority"], p)
    statute.check_criminal_statute(manifest.raw["criminal_statute"], p)
    statute.check_taxable_periods(manifest.raw["taxable_periods"], manifest.created.year, p)
    statute.check_reason(manifest.raw["reason"], p)
    return manifest, table_of(con, _RECORDS)


def _assemble(
    con: duckdb.DuckDBPyConnection, records: StageTable, checks: StageTable,
    decided: StageTable, request_id: str, model_version: str | None, settings: Settings,
) -> StageTable:
    """One decision row per submitted record, in file order."""
    return materialize(con, _DECISIONS, _decisions_sql(records, checks, decided),
                       [request_id, model_version, settings.policy.version()])


def _decisions_sql(records: StageTable, checks: StageTable, decided: StageTable) -> str:
    """The decision of every row of ``records``: its rejections or holds (``checks``),
    else the policy's outcome (``decided``). Parameters: request_id, model_version and
    policy_version."""
    return f"""
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
               CASE WHEN len(u.rejections) = 0 AND len(u.holds) > 0
                    THEN CAST(json_object('review_reasons', u.holds) AS VARCHAR)
                    ELSE CAST(d.evidence AS VARCHAR) END AS evidence,
               ? AS model_version, ? AS policy_version
        FROM {records.name} r
        JOIN {checks.name} u USING (row_number)
        LEFT JOIN {decided.name} d USING (row_number)
        ORDER BY r.row_number
        """
