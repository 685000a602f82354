"""Refusing a whole request: every readable record REJECTED with the request's code."""

from __future__ import annotations

from collections.abc import Iterable

import duckdb

from taxgate import intake
from taxgate.domain import LedgerEvent
from taxgate.errors import RequestRefused
from taxgate.ledger_events import RequestRefused as RefusedEvent
from taxgate.pipeline.common import ProcessResult, Submission
from taxgate.pipeline.delivery import Sender
from taxgate.pipeline.keep import package_parts
from taxgate.pipeline.publish import Commit, Files, Publication, ResponseFields, Signed, publish
from taxgate.records import Outcome


def refuse(
    sub: Submission,
    refusal: RequestRefused,
    *,
    sender: Sender | None = None,
    remember: bool = True,
) -> ProcessResult:
    """Answer a refused request: every readable record REJECTED with the request's code
    (``records_unreadable`` in response.json when the records could not be read).

    The refusal is stored under its request_id (so identical bytes replay it) only when
    ``remember`` and the signature proved the sender: an unproven sender never takes a
    request_id. Either way a REQUEST_REFUSED event names the agency and signer as sent
    (``sender``: None when nothing proved them)."""
    pkg = sub.pkg
    sender = sender or Sender(pkg.requesting_agency, pkg.signing_official, False)
    record_ids = _readable_record_ids(pkg)
    keep = remember and sender.verified and pkg.request_id is not None
    n = len(record_ids or [])
    committed = (f"request {pkg.request_id} was refused ({refusal.reason}) and stored"
                 if keep else f"the refusal ({refusal.reason}) was logged in the ledger")
    publish(Publication(
        results=((rid, Outcome.REJECTED.value, refusal.reason) for rid in record_ids or []),
        response=ResponseFields(
            pkg.request_id, sub.received_at, {Outcome.REJECTED.value: n},
            sub.settings.policy.version(), None, sub.store.signing_key(),
            request_reason=refusal.reason, records_unreadable=record_ids is None),
        commit=Commit(
            events=lambda signed: [_event(sub, refusal, signed, sender, keep)],
            store=lambda signed, events: _file_refusal(
                sub, refusal, signed, events, record_ids, sender, keep)),
        files=Files(sub.out_dir, committed),
    ))
    return ProcessResult(
        2, pkg.request_id, {Outcome.REJECTED.value: n}, sub.out_dir, str(refusal),
        timings=sub.timings,
    )


def _event(
    sub: Submission, refusal: RequestRefused, signed: Signed, sender: Sender, keep: bool
) -> LedgerEvent:
    """The REQUEST_REFUSED event: the package, the code, and the results it was given."""
    return RefusedEvent(
        request_id=sub.pkg.request_id,
        package_sha256=sub.pkg.package_sha256,
        reason=refusal.reason,
        received_at=sub.received_at,
        record_count=signed.count,
        results_sha256=signed.digest,
        **sender.payload(),
    ).to_event(filed=keep)


def _file_refusal(
    sub: Submission,
    refusal: RequestRefused,
    signed: Signed,
    events: Iterable[LedgerEvent],
    record_ids: list[str] | None,
    sender: Sender,
    keep: bool,
) -> bool:
    """Store the refusal under its request_id with its event (``keep``), or only append
    the event to the ledger."""
    pkg = sub.pkg
    if not keep:
        sub.store.append_events(list(events))
        return True
    assert pkg.request_id is not None
    sub.store.record_refusal(
        pkg.request_id,
        pkg.package_sha256,
        sub.received_at,
        signed.response_json,
        list(events),
        _refusal_decisions(pkg.request_id, record_ids or [], refusal.reason),
        agency=sender.agency,
        evidence=package_parts(pkg, pkg.request_id, sub.received_at, sub.settings.policy),
    )
    return True


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


def _readable_record_ids(pkg: intake.Package) -> list[str] | None:
    """The record_id of every record of *this* package in file order; None when the records
    cannot be read. Read afresh, on a connection of its own: nothing another job left
    behind, from another agency perhaps, can be read for them."""
    if pkg.records_path is None:
        return None
    work = duckdb.connect()
    try:
        intake.load_records(work, pkg.records_path, "records", any_columns=True)
        rows = work.table("records").order("row_number").project("record_id").fetchall()
        return [r[0] or "" for r in rows]
    except RequestRefused:
        return None
    finally:
        work.close()
