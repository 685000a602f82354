"""Answering a request: commit decisions, response and ledger events in one
transaction, then publish; refusing a whole request; replaying a stored answer."""

from __future__ import annotations

import itertools
import json
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb

from taxgate import faults, response
from taxgate.canonical import canonical_json, sha256_hex
from taxgate.domain import LedgerEvent, RequestOutcome, StoredRequest
from taxgate.ledger_events import DecisionsRecorded, RequestReceived, RequestReplayed
from taxgate.pipeline.capture import capture
from taxgate.pipeline.common import ProcessResult, Progress, Quiet, Submission, now
from taxgate.pipeline.delivery import REUSED, Sender, delivering, is_replay
from taxgate.pipeline.disclosures import DisclosureTemplate
from taxgate.pipeline.refusal import refuse
from taxgate.records import REQUEST_COLUMNS, Outcome
from taxgate.store.base import Store


def answer(
    sub: Submission,
    decisions: duckdb.DuckDBPyRelation,
    con: duckdb.DuckDBPyConnection,
    model_version: str | None,
    progress: Progress | None = None,
) -> ProcessResult:
    """Commit the decisions, the response and the ledger events in one transaction, then
    publish the response. ``progress`` counts the ledger events as the store takes them."""
    manifest = sub.pkg.manifest
    assert manifest is not None
    request_id = manifest.raw["request_id"]
    progress = progress or Quiet()
    counts = dict(
        con.execute("SELECT outcome, count(*) FROM _tg_decisions GROUP BY outcome").fetchall()
    )
    # the ledger's events: REQUEST_RECEIVED, DECISIONS_RECORDED and one DISCLOSURE each
    events_total = 2 + counts.get(Outcome.CONFIRMED.value, 0)
    with (
        sub.timings.stage("ledger", progress, events_total),
        tempfile.TemporaryDirectory(prefix="taxgate-") as tmp,
    ):
        results = Path(tmp) / "results.csv"
        resp, digest, completed_at = _sign(sub, con, results, counts, model_version)
        events = _events(sub, con, counts, digest, completed_at, model_version, progress)
        faults.crash_point("before-commit")
        committed = _commit(sub, resp, completed_at, decisions, events)
        # the signature was verified: the sender is the manifest's agency and official
        sender = Sender(manifest.raw["requesting_agency"], manifest.raw["signing_official"], True)
        if not committed:  # another run stored this request_id first: its answer, if ours
            stored = sub.store.find_request(request_id)
            assert stored is not None
            return answer_again(sub, stored, sender, con)
        faults.crash_point("after-commit")
        _publish(sub, request_id, counts, results, resp, con)
    return ProcessResult(0, request_id, counts, sub.out_dir, "answered", timings=sub.timings)


def answer_again(
    sub: Submission,
    stored: StoredRequest,
    sender: Sender,
    con: duckdb.DuckDBPyConnection | None = None,
) -> ProcessResult:
    """A request_id already stored: its stored answer again for the same bytes from the
    same agency, else the package refused as REQUEST_ID_REUSED (remembered by nobody)."""
    if is_replay(stored, sub.pkg):
        return replay(sub, stored, sender)
    return refuse(sub, REUSED, sender=sender, remember=False, con=con)


def _sign(
    sub: Submission,
    con: duckdb.DuckDBPyConnection,
    results: Path,
    counts: dict[str, int],
    model_version: str | None,
) -> tuple[dict[str, Any], str, str]:
    """Write results.csv and sign the response over it: (response, digest, completed_at)."""
    manifest = sub.pkg.manifest
    assert manifest is not None
    n = _write_results(con, "_tg_decisions", results)
    digest = response.results_digest(results)
    completed_at = now()
    resp = response.build_response(
        request_id=manifest.raw["request_id"],
        received_at=sub.received_at,
        completed_at=completed_at,
        counts=counts,
        policy_version=sub.settings.policy.version(),
        model_version=model_version,
        records_sha256=digest,
        record_count=n,
        signing_key=sub.store.signing_key(),
    )
    return resp, digest, completed_at


def _commit(
    sub: Submission,
    resp: dict[str, Any],
    completed_at: str,
    decisions: duckdb.DuckDBPyRelation,
    events: Iterator[LedgerEvent],
) -> bool:
    """Store the decisions, the response and the events in one transaction; False when
    another run stored this request_id first."""
    manifest = sub.pkg.manifest
    assert manifest is not None
    return sub.store.commit_request(
        RequestOutcome(
            request_id=manifest.raw["request_id"],
            package_sha256=sub.pkg.package_sha256,
            received_at=sub.received_at,
            completed_at=completed_at,
            response_json=canonical_json(resp).decode("utf-8"),
            decisions=decisions.fetch_arrow_table(),
            events=events,
            agency=manifest.raw["requesting_agency"],
        )
    )


def _publish(
    sub: Submission,
    request_id: str,
    counts: dict[str, int],
    results: Path,
    resp: dict[str, Any],
    con: duckdb.DuckDBPyConnection,
) -> None:
    """After the commit: REVIEW records onto the desk, then the response files written."""
    shown = ", ".join(f"{o.value} {counts.get(o.value, 0):,}" for o in Outcome)
    with delivering(f"request {request_id} was answered and committed ({shown}; "
                     f"{counts.get(Outcome.CONFIRMED.value, 0):,} disclosures in the "
                     "ledger)", sub.out_dir):
        _hold_for_review(sub.store, request_id, counts, sub.pkg.directory, con)
        with sub.timings.stage("response", Quiet()):
            response.publish(sub.out_dir, results, resp)


def _write_results(con: duckdb.DuckDBPyConnection, table: str, path: Path) -> int:
    rows = con.execute(
        f"SELECT record_id, outcome, reasons FROM {table} ORDER BY row_number"
    ).fetchall()
    return response.write_results_csv(path, rows)


def _events(
    sub: Submission,
    con: duckdb.DuckDBPyConnection,
    counts: dict[str, int],
    results_sha: str,
    completed_at: str,
    model_version: str | None,
    progress: Progress,
) -> Iterator[LedgerEvent]:
    """REQUEST_RECEIVED, DECISIONS_RECORDED, then one DISCLOSURE per CONFIRMED record,
    made lazily while the ledger takes them (``progress`` counts them)."""
    manifest = sub.pkg.manifest
    assert manifest is not None
    m = manifest.raw
    policy_version = sub.settings.policy.version()
    events = [
        _received(sub),
        DecisionsRecorded(
            request_id=m["request_id"],
            counts=counts,
            results_sha256=results_sha,
            model_version=model_version,
            policy_version=policy_version,
            completed_at=completed_at,
        ).to_event(),
    ]
    # The disclosures, read now (the store writes on this connection next) as a compact
    # Arrow table, and made into events lazily while the ledger takes them.
    confirmed = con.execute(
        "SELECT d.record_id, d.tin, r.officer_id, r.case_number, d.match_probability "
        "FROM _tg_decisions d JOIN _tg_req r USING (row_number) "
        "WHERE d.outcome = 'CONFIRMED' ORDER BY d.row_number"
    ).fetch_arrow_table()

    template = DisclosureTemplate(
        m, disclosed_at=completed_at, model_version=model_version,
        policy_version=policy_version, tin_digest=sub.store.tin_digest,
    )

    def disclosures() -> Iterator[LedgerEvent]:
        progress.advance(len(events))
        for batch in confirmed.to_batches(max_chunksize=50_000):
            yield from itertools.starmap(
                template.event, zip(*(batch.column(i).to_pylist() for i in range(5)), strict=True)
            )
            progress.advance(batch.num_rows)

    return itertools.chain(events, disclosures())


def _received(sub: Submission) -> LedgerEvent:
    """The REQUEST_RECEIVED event: the package, its manifest and its request as sent."""
    assert sub.pkg.manifest is not None
    m = sub.pkg.manifest.raw
    return RequestReceived(
        request_id=m["request_id"],
        package_sha256=sub.pkg.package_sha256,
        manifest_sha256=sha256_hex(sub.pkg.manifest_bytes),
        received_at=sub.received_at,
        requesting_agency=m["requesting_agency"],
        signing_official=m["signing_official"],
        legal_authority=m["legal_authority"],
        criminal_statute=m["criminal_statute"],
        taxable_periods=m["taxable_periods"],
        reason=m["reason"],
        created_at=m["created_at"],
        record_count=m["record_count"],
    ).to_event()


def _hold_for_review(
    store: Store,
    request_id: str,
    counts: dict[str, int],
    request_dir: Path,
    con: duckdb.DuckDBPyConnection | None = None,
) -> None:
    """Put the request's REVIEW records on the disclosure officers' desk (idempotent, so a
    re-run after a crash between commit and here completes it). ``con``: the connection
    that answered the request (its records and decisions are read from it)."""
    if counts.get("REVIEW"):
        records = None
        if con is not None:
            cols = ", ".join(f"r.{c}" for c in ("row_number", *REQUEST_COLUMNS))
            records = con.execute(
                f"SELECT {cols} FROM _tg_decisions d JOIN _tg_req r USING (row_number) "
                "WHERE d.outcome = 'REVIEW' ORDER BY row_number").fetchall()
        capture(store, request_id, request_dir, records)


def replay(sub: Submission, stored: StoredRequest, sender: Sender) -> ProcessResult:
    """Give the stored answer again, byte for byte; discloses nothing new. A
    REQUEST_REPLAYED event names the agency and signer of this submission."""
    store, pkg, out_dir = sub.store, sub.pkg, sub.out_dir
    assert stored.response_json is not None  # every stored request keeps its response
    resp = json.loads(stored.response_json)
    store.append_events([RequestReplayed(
        request_id=stored.request_id,
        package_sha256=pkg.package_sha256,
        received_at=sub.received_at,
        status=stored.status,
        response_sha256=sha256_hex(stored.response_json.encode("utf-8")),
        **sender.payload(),
    ).to_event()])
    if stored.status == "COMPLETE":
        _hold_for_review(store, stored.request_id, resp.get("counts", {}), pkg.directory)
    table = store.decisions(stored.request_id).sort_by("row_number")
    rows = zip(
        *(table.column(c).to_pylist() for c in ("record_id", "outcome", "reasons")), strict=True
    )
    with tempfile.TemporaryDirectory(prefix="taxgate-") as tmp:
        results = Path(tmp) / "results.csv"
        response.write_results_csv(results, rows)
        with delivering(f"the stored response of request {stored.request_id} was found "
                         "(nothing new committed)", out_dir):
            response.publish(out_dir, results, resp)
    code = 2 if stored.status == "REFUSED" else 0
    return ProcessResult(
        code,
        stored.request_id,
        dict(resp.get("counts", {})),
        out_dir,
        "replayed the stored response",
        replayed=True,
        timings=sub.timings,
    )
