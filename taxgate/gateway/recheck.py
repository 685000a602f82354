"""Re-check past disclosures under other rules (R30, R31): which confirmations would the
gateway not make today, and why.

For every answered request chosen (received on or after ``since``, sent by ``agency``)
that confirmed a record, the kept package (:mod:`taxgate.pipeline.keep`) goes again
through the production code, under the new policy: the whole-request rules and the
signature as of the day of receipt (:func:`taxgate.pipeline.process.verify_request`),
then the statutory checks, matching with the model kept under the version that decided
the request, and the policy (:func:`taxgate.pipeline.process.decide_records`). Each
record confirmed then is listed when it is not CONFIRMED now, or confirmed for another
taxpayer, with the reasons the new decision gives; a record a disclosure officer
confirmed after REVIEW is listed unless the rules would still hold the same taxpayer
for an officer (or confirm it). The filings and the agencies'
safeguards status are the store's as they stand now.

Nothing in the store changes but one ledger event, RECHECK_RUN, holding the policy's
values and the counts; the scratch tables go with the matching connection's session.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from dataclasses import dataclass, field, replace
from typing import Any

from taxgate.domain import StoredRequest
from taxgate.errors import RequestRefused
from taxgate.ledger_events import RecheckRun
from taxgate.pipeline.common import Quiet, Submission, Timings
from taxgate.pipeline.keep import kept_package, policy_values
from taxgate.pipeline.process import decide_records, verify_request
from taxgate.records import Outcome
from taxgate.settings import Policy, Settings
from taxgate.store.base import Store

CONFIRMED = Outcome.CONFIRMED.value
ANOTHER_TAXPAYER = "CONFIRMED_ANOTHER_TAXPAYER"  # a label of this report, not a reason code


@dataclass(frozen=True)
class Withdrawn:
    """A record confirmed then that the rules would not confirm now (``tin``: the
    taxpayer confirmed then; internal, never printed by the shells)."""

    request_id: str
    agency: str | None
    row_number: int
    record_id: str
    tin: str | None
    outcome_now: str
    reasons: tuple[str, ...]
    by_officer: bool = False  # confirmed by a disclosure officer's release after REVIEW


@dataclass
class RecheckReport:
    """What a re-check found."""

    policy_version: str
    requests: int = 0
    confirmed: int = 0
    withdrawn: list[Withdrawn] = field(default_factory=list)
    per_reason: Counter[str] = field(default_factory=Counter)
    not_rechecked: dict[str, str] = field(default_factory=dict)  # request_id -> why


def recheck(store: Store, settings: Settings, policy: Policy, *, since: dt.date | None = None,
            agency: str | None = None, actor: str = "cli") -> RecheckReport:
    """Re-decide the confirmations of the chosen requests under ``policy``; log the run."""
    report = RecheckReport(policy.version())
    for stored in _chosen(store, since, agency):
        confirmed = _confirmed(store, stored.request_id)
        if not confirmed:
            continue
        now = _redecide(store, replace(settings, policy=policy), stored, confirmed)
        if isinstance(now, str):
            report.not_rechecked[stored.request_id] = now
            continue
        report.requests += 1
        report.confirmed += len(confirmed)
        for then in confirmed:
            withdrawn = _compare(stored, then, now[int(then["row_number"])])
            if withdrawn is not None:
                report.withdrawn.append(withdrawn)
                report.per_reason.update(withdrawn.reasons)
    store.append_events([RecheckRun(
        actor=actor, policy_version=report.policy_version,
        policy_values=json.loads(policy_values(policy)),
        selection={"since": since.isoformat() if since else None, "agency": agency},
        requests=report.requests, confirmed=report.confirmed,
        no_longer_confirmed=len(report.withdrawn),
        per_reason=dict(sorted(report.per_reason.items()))).to_event()])
    return report


def _confirmed(store: Store, request_id: str) -> list[dict[str, Any]]:
    """The request's confirmed decision rows: the machine's, and the REVIEW records a
    disclosure officer released as CONFIRMED (``released``)."""
    released = {d.row_number for d in store.review_decisions(request_id)
                if d.released_by and d.outcome == CONFIRMED}
    return [dict(r, released=int(r["row_number"]) in released)
            for r in store.decisions(request_id).to_pylist()
            if r["outcome"] == CONFIRMED or int(r["row_number"]) in released]


def _chosen(store: Store, since: dt.date | None, agency: str | None) -> list[StoredRequest]:
    return [r for r in store.stored_requests()
            if r.status == "COMPLETE"
            and (since is None or r.received_at[:10] >= since.isoformat())
            and (agency is None or r.agency == agency)]


Decided = dict[int, tuple[str, tuple[str, ...], str | None]]  # row -> outcome, reasons, tin


def _redecide(store: Store, settings: Settings, stored: StoredRequest,
              confirmed: list[dict[str, Any]]) -> Decided | str:
    """The decision now of every record of a kept request, or why it cannot be made."""
    version = confirmed[0]["model_version"]
    model_json = store.model_json(version) if version else None
    if model_json is None:
        return "the model that decided it is not kept"
    with kept_package(store, stored.request_id) as pkg:
        if pkg is None:
            return "its package is not kept (purged, or answered before evidence was kept)"
        con = store.matching_connection()
        try:
            manifest, records = verify_request(settings, store, pkg, con, stored.received_at)
        except RequestRefused as refused:
            return {int(r["row_number"]): ("REJECTED", (refused.reason,), None)
                    for r in confirmed}
        sub = Submission(settings, store, pkg, pkg.directory, stored.received_at, Timings())
        table = decide_records(sub, con, manifest, records, (version, model_json), Quiet())
        rows = con.execute(f"SELECT row_number, outcome, reasons, tin, evidence "
                           f"FROM {table.name}").fetchall()
        for name in (table.name, records.name):
            con.execute(f"DROP TABLE IF EXISTS {name}")
    return {int(r[0]): (r[1], _reasons(r[1], r[2], r[4]), r[3]) for r in rows}


def _reasons(outcome: str, reasons: str | None, evidence: str | None) -> tuple[str, ...]:
    """Why a record is not CONFIRMED now: its reason codes; a REVIEW by the matcher, the
    review reasons in its evidence; NOT_CONFIRMED, which never says why, its outcome."""
    codes = tuple(c for c in (reasons or "").split(";") if c)
    if outcome == "REVIEW" and evidence:
        held = json.loads(evidence).get("review_reasons") or []
        codes = tuple(held) or codes
    return codes or (outcome,)


def _compare(stored: StoredRequest, then: dict[str, Any],
             now: tuple[str, tuple[str, ...], str | None]) -> Withdrawn | None:
    outcome, reasons, tin = now
    if outcome == CONFIRMED and tin == then["tin"]:
        return None
    if then["released"] and outcome == "REVIEW" and tin == then["tin"]:
        return None  # held for an officer again, as when one released it
    if outcome == CONFIRMED:
        reasons = (ANOTHER_TAXPAYER,)
    return Withdrawn(stored.request_id, stored.agency, int(then["row_number"]),
                     then["record_id"] or "", then["tin"], outcome, reasons,
                     by_officer=bool(then["released"]))
