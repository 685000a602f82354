"""Oversight for auditors, computed from the ledger (and decision reason codes).

One pass over the ledger gives outcome counts per request, request-level refusals,
volume per signing official, per named officer and per disclosure officer, and
disclosures per day; the same pass verifies the hash chain and its signed
checkpoints. Record-level rejection reasons come from the stored decisions (reason
codes only). Nothing here carries a taxpayer value.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from taxgate import ledger
from taxgate import ledger_events as ev
from taxgate.domain import LedgerEntry
from taxgate.store.base import Store


@dataclass
class RequestRow:
    request_id: str
    agency: str = ""
    official: str = ""
    received_at: str = ""
    records: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    refused: str = ""
    reviewed: int = 0


@dataclass
class Oversight:
    requests: list[RequestRow]
    rejection_reasons: Counter[str]
    per_official: Counter[str]
    per_officer: Counter[str]  # disclosures per officer named on the records
    per_disclosure_officer: Counter[str]  # review decisions proposed or released
    fti_views: Counter[str]
    disclosures_per_day: dict[str, int]
    ledger_ok: bool
    ledger_detail: str
    entries: int


def _tally(entries: Any) -> tuple[dict[str, RequestRow], Counter[str], Counter[str],
                                  Counter[str], Counter[str], Counter[str]]:
    reqs: dict[str, RequestRow] = {}
    per_official: Counter[str] = Counter()
    per_officer: Counter[str] = Counter()
    per_do: Counter[str] = Counter()
    views: Counter[str] = Counter()
    per_day: Counter[str] = Counter()
    for e in entries:
        p, rid = e.payload, e.request_id or ""
        if e.event_type == ev.RequestReceived.TYPE:
            r = reqs.setdefault(rid, RequestRow(rid))
            r.agency, r.official = p.get("requesting_agency", ""), p.get("signing_official", "")
            r.received_at, r.records = p.get("received_at", ""), int(p.get("record_count") or 0)
            per_official[f"{r.agency} / {r.official}"] += 1
        elif e.event_type == ev.DecisionsRecorded.TYPE:
            reqs.setdefault(rid, RequestRow(rid)).counts = dict(p.get("counts") or {})
        elif e.event_type == ev.RequestRefused.TYPE:
            # an unfiled refusal (an unproven sender) is a row of its own, not one for all
            r = reqs.setdefault(rid or f"#{e.seq}", RequestRow(str(p.get("request_id") or "")))
            r.refused, r.records = str(p.get("reason", "")), int(p.get("record_count") or 0)
            r.received_at = r.received_at or p.get("received_at", "")
            _sender(r, p)
        elif e.event_type == ev.Disclosure.TYPE:
            per_officer[str(p.get("officer_id"))] += 1
            per_day[str(p.get("disclosed_at", ""))[:10]] += 1
        elif e.event_type == ev.ReviewDecided.TYPE:
            reqs.setdefault(rid, RequestRow(rid)).reviewed += 1
            per_do[f"{p.get('proposed_by')} (proposed)"] += 1
            per_do[f"{p.get('released_by')} (released)"] += 1
        elif e.event_type == ev.FtiViewed.TYPE:
            views[str(p.get("viewer"))] += 1
    return reqs, per_official, per_officer, per_do, views, per_day


def _sender(r: RequestRow, p: dict[str, Any]) -> None:
    """A refused request's agency and signer as its package named them (R27), the signer
    marked "(claimed)" when no signature proved them."""
    if not r.agency:
        r.agency = str(p.get("requesting_agency") or "")
        official = str(p.get("signing_official") or "")
        r.official = official if p.get("signer_verified") or not official else (
            f"{official} (claimed)")


def oversight(store: Store, reason_cache: dict[str, Counter[str]] | None = None) -> Oversight:
    cache = reason_cache if reason_cache is not None else {}
    seen: list[LedgerEntry] = []

    def tee(it: Any) -> Any:
        for e in it:
            if e.event_type != ledger.CHECKPOINT:
                seen.append(e)
            yield e

    report = ledger.verify(tee(store.ledger_entries()), store.signing_key().public_key())
    reqs, per_official, per_officer, per_do, views, per_day = _tally(seen)
    reasons: Counter[str] = Counter()
    for rid, r in reqs.items():
        if r.refused:
            reasons[r.refused] += r.records
            continue
        if rid not in cache:
            c: Counter[str] = Counter()
            for d in store.decisions(rid).select(["outcome", "reasons"]).to_pylist():
                if d["outcome"] == "REJECTED":
                    c.update(x for x in (d["reasons"] or "").split(";") if x)
            cache[rid] = c
        reasons.update(cache[rid])
    if report.ok:
        detail = (f"verified: {report.entries:,} entries, {report.checkpoints:,} signed "
                  f"checkpoints, head seq {report.last_seq}")
    else:
        p = report.problem
        assert p is not None
        detail = f"BROKEN: {p.kind} at seq {p.seq}: {p.detail}"
    return Oversight(
        requests=sorted(reqs.values(), key=lambda r: r.received_at),
        rejection_reasons=reasons, per_official=per_official, per_officer=per_officer,
        per_disclosure_officer=per_do, fti_views=views,
        disclosures_per_day=dict(sorted(per_day.items())), ledger_ok=report.ok,
        ledger_detail=detail, entries=report.entries)


def bars(series: dict[str, int], label: str, width: int = 640, bar_h: int = 20) -> dict[str, Any]:
    """Geometry of an inline SVG bar chart (rendered by templates/_bars.html)."""
    top = max(series.values(), default=0) or 1
    rows = [{"label": k, "value": v, "y": i * (bar_h + 6),
             "w": max(int((width - 260) * v / top), 1)} for i, (k, v) in enumerate(series.items())]
    return {"label": label, "rows": rows, "width": width, "bar_h": bar_h,
            "height": max(len(rows) * (bar_h + 6), bar_h)}


