"""Refusing a whole request: every readable record REJECTED with the request's code."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import duckdb

from taxgate import intake, response
from taxgate.canonical import canonical_json
from taxgate.domain import LedgerEvent
from taxgate.errors import RequestRefused
from taxgate.ledger_events import RequestRefused as RefusedEvent
from taxgate.pipeline.common import ProcessResult, Submission, now
from taxgate.pipeline.delivery import Sender, delivering
from taxgate.records import Outcome


def refuse(
    sub: Submission,
    refusal: RequestRefused,
    *,
    sender: Sender | None = None,
    remember: bool = True,
    con: duckdb.DuckDBPyConnection | None = None,
) -> ProcessResult:
    """Answer a refused request: every readable record REJECTED with the request's code
    (``records_unreadable`` in response.json when the records could not be read).

    The refusal is stored under its request_id (so identical bytes replay it) only when
    ``remember`` and the signature proved the sender: an unproven sender never takes a
    request_id. Either way a REQUEST_REFUSED event names the agency and signer as sent
    (``sender``: None when nothing proved them)."""
    pkg = sub.pkg
    sender = sender or Sender(pkg.requesting_agency, pkg.signing_official, False)
    record_ids = _readable_record_ids(pkg, con)
    keep = remember and sender.verified and pkg.request_id is not None
    with tempfile.TemporaryDirectory(prefix="taxgate-") as tmp:
        results = Path(tmp) / "results.csv"
        n = response.write_results_csv(
            results, ((rid, Outcome.REJECTED.value, refusal.reason) for rid in record_ids or [])
        )
        digest = response.results_digest(results)
        resp = _refusal_response(sub, refusal, n, digest, unreadable=record_ids is None)
        event = RefusedEvent(
            request_id=pkg.request_id,
            package_sha256=pkg.package_sha256,
            reason=refusal.reason,
            received_at=sub.received_at,
            record_count=n,
            results_sha256=digest,
            **sender.payload(),
        ).to_event(filed=keep)
        _file_refusal(sub, refusal, resp, event, record_ids, sender, keep)
        committed = (f"request {pkg.request_id} was refused ({refusal.reason}) and stored"
                     if keep else f"the refusal ({refusal.reason}) was logged in the ledger")
        with delivering(committed, sub.out_dir):
            response.publish(sub.out_dir, results, resp)
    return ProcessResult(
        2, pkg.request_id, {Outcome.REJECTED.value: n}, sub.out_dir, str(refusal),
        timings=sub.timings,
    )


def _refusal_response(
    sub: Submission, refusal: RequestRefused, n: int, digest: str, *, unreadable: bool
) -> dict[str, Any]:
    """The signed response.json of a refusal: ``n`` records REJECTED, no model."""
    return response.build_response(
        request_id=sub.pkg.request_id,
        received_at=sub.received_at,
        completed_at=now(),
        counts={Outcome.REJECTED.value: n},
        policy_version=sub.settings.policy.version(),
        model_version=None,
        records_sha256=digest,
        record_count=n,
        signing_key=sub.store.signing_key(),
        request_reason=refusal.reason,
        records_unreadable=unreadable,
    )


def _file_refusal(
    sub: Submission,
    refusal: RequestRefused,
    resp: dict[str, Any],
    event: LedgerEvent,
    record_ids: list[str] | None,
    sender: Sender,
    keep: bool,
) -> None:
    """Store the refusal under its request_id with its event (``keep``), or only append
    the event to the ledger."""
    pkg = sub.pkg
    if not keep:
        sub.store.append_events([event])
        return
    assert pkg.request_id is not None
    sub.store.record_refusal(
        pkg.request_id,
        pkg.package_sha256,
        sub.received_at,
        canonical_json(resp).decode("utf-8"),
        [event],
        _refusal_decisions(pkg.request_id, record_ids or [], refusal.reason),
        agency=sender.agency,
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


def _readable_record_ids(
    pkg: intake.Package, con: duckdb.DuckDBPyConnection | None
) -> list[str] | None:
    """The record_id of every record of *this* package in file order; None when the records
    cannot be read. Read afresh into a table of its own: a connection the server holds
    may still carry an earlier job's tables, which another agency may have sent."""
    if pkg.records_path is None:
        return None
    work = con or duckdb.connect()
    try:
        intake.load_records(work, pkg.records_path, "_tg_refused_records", any_columns=True)
        rows = work.execute(
            "SELECT record_id FROM _tg_refused_records ORDER BY row_number").fetchall()
        return [r[0] or "" for r in rows]
    except RequestRefused:
        return None
    finally:
        work.execute("DROP TABLE IF EXISTS _tg_refused_records")


