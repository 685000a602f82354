"""Oversight for auditors, computed from the ledger (and decision reason codes).

A pass over the ledger gives outcome counts per request, request-level refusals,
volume per signing official, per named officer and per disclosure officer, and
disclosures per day; the same pass verifies the hash chain and its signed
checkpoints. The pass is incremental: an :class:`OversightState` (one per Gateway)
remembers the last signed checkpoint verified and the figures up to it, so each view
reads and verifies only the entries after it (one indexed read checks that the
checkpoint is still the stored one; if not, everything is verified again). The full
walk up to the head anchor stays ``taxgate ledger verify``. Record-level rejection
reasons come from the stored decisions (reason codes only). Nothing here carries a
taxpayer value.
"""

from __future__ import annotations

import copy
from collections import Counter
from collections.abc import Iterable, Iterator
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


@dataclass
class Tally:
    """The figures of one pass over ledger entries; :meth:`add` carries it on."""

    reqs: dict[str, RequestRow] = field(default_factory=dict)
    per_official: Counter[str] = field(default_factory=Counter)
    per_officer: Counter[str] = field(default_factory=Counter)
    per_do: Counter[str] = field(default_factory=Counter)
    views: Counter[str] = field(default_factory=Counter)
    per_day: Counter[str] = field(default_factory=Counter)

    def add(self, entries: Iterable[LedgerEntry]) -> None:
        for e in entries:
            self._one(e.event_type, e.payload, e.request_id or "", e.seq)

    def _row(self, rid: str) -> RequestRow:
        return self.reqs.setdefault(rid, RequestRow(rid))

    def _one(self, kind: str, p: dict[str, Any], rid: str, seq: int) -> None:
        if kind == ev.RequestReceived.TYPE:
            r = self._row(rid)
            r.agency, r.official = p.get("requesting_agency", ""), p.get("signing_official", "")
            r.received_at, r.records = p.get("received_at", ""), int(p.get("record_count") or 0)
            self.per_official[f"{r.agency} / {r.official}"] += 1
        elif kind == ev.DecisionsRecorded.TYPE:
            self._row(rid).counts = dict(p.get("counts") or {})
        elif kind == ev.RequestRefused.TYPE:
            # an unfiled refusal (an unproven sender) is a row of its own, not one for all
            r = self.reqs.setdefault(rid or f"#{seq}", RequestRow(str(p.get("request_id") or "")))
            r.refused, r.records = str(p.get("reason", "")), int(p.get("record_count") or 0)
            r.received_at = r.received_at or p.get("received_at", "")
            _sender(r, p)
        elif kind == ev.Disclosure.TYPE:
            self.per_officer[str(p.get("officer_id"))] += 1
            self.per_day[str(p.get("disclosed_at", ""))[:10]] += 1
        elif kind == ev.ReviewDecided.TYPE:
            self._row(rid).reviewed += 1
            self.per_do[f"{p.get('proposed_by')} (proposed)"] += 1
            self.per_do[f"{p.get('released_by')} (released)"] += 1
        elif kind == ev.FtiViewed.TYPE:
            self.views[str(p.get("viewer"))] += 1


def _sender(r: RequestRow, p: dict[str, Any]) -> None:
    """A refused request's agency and signer as its package named them (R27), the signer
    marked "(claimed)" when no signature proved them."""
    if not r.agency:
        r.agency = str(p.get("requesting_agency") or "")
        official = str(p.get("signing_official") or "")
        r.official = official if p.get("signer_verified") or not official else (
            f"{official} (claimed)")


@dataclass
class OversightState:
    """What earlier views verified and counted: the ledger up to a signed checkpoint
    (``checkpoint``), its figures, and how many entries and checkpoints that was."""

    checkpoint: LedgerEntry | None = None
    tally: Tally = field(default_factory=Tally)
    entries: int = 0
    checkpoints: int = 0


def _verify_since(store: Store, state: OversightState
                  ) -> tuple[ledger.VerifyReport, list[LedgerEntry], int]:
    """Verify the entries after the state's checkpoint (all of them when it is gone or
    was replaced: a rewritten history is verified, and found, from the genesis).
    Returns the report, the entries read and the seq verification started after."""
    cp = state.checkpoint
    if cp is not None:
        held = store.ledger_entry(cp.seq)
        if held is None or held.entry_hash != cp.entry_hash:
            state.checkpoint, state.tally = None, Tally()  # again from the genesis
            state.entries = state.checkpoints = 0
            cp = None
    seen: list[LedgerEntry] = []

    def tee(it: Iterable[LedgerEntry]) -> Iterator[LedgerEntry]:
        for e in it:
            seen.append(e)
            yield e

    after = cp.seq if cp else 0
    key = store.signing_key().public_key()
    return ledger.verify(tee(store.ledger_entries(after)), key, start=cp), seen, after


def oversight(store: Store, reason_cache: dict[str, Counter[str]] | None = None,
              state: OversightState | None = None) -> Oversight:
    """The figures and the ledger's verification, carried on from ``state`` (updated in
    place): only the entries after its last verified checkpoint are read and verified,
    so a view costs what was added since the last one, not the whole ledger."""
    state = state if state is not None else OversightState()
    cache = reason_cache if reason_cache is not None else {}
    report, seen, after = _verify_since(store, state)
    good = seen[:report.entries]
    last_cp = max((i for i, e in enumerate(good) if e.event_type == ledger.CHECKPOINT),
                  default=-1)
    signed, tail = good[:last_cp + 1], good[last_cp + 1:]
    state.tally.add(e for e in signed if e.event_type != ledger.CHECKPOINT)
    state.entries += len(signed)
    state.checkpoints += report.checkpoints
    if last_cp >= 0:
        state.checkpoint = signed[-1]
    tally = copy.deepcopy(state.tally) if tail else state.tally
    tally.add(e for e in tail if e.event_type != ledger.CHECKPOINT)
    if report.ok:
        detail = (f"verified: {state.entries + len(tail):,} entries, {state.checkpoints:,} "
                  f"signed checkpoints, head seq {report.last_seq} (this view verified the "
                  f"{len(good):,} entries after seq {after})")
    else:
        p = report.problem
        assert p is not None
        detail = f"BROKEN: {p.kind} at seq {p.seq}: {p.detail}"
    return Oversight(
        requests=sorted(tally.reqs.values(), key=lambda r: r.received_at),
        rejection_reasons=_rejections(store, tally.reqs, cache),
        per_official=tally.per_official, per_officer=tally.per_officer,
        per_disclosure_officer=tally.per_do, fti_views=tally.views,
        disclosures_per_day=dict(sorted(tally.per_day.items())), ledger_ok=report.ok,
        ledger_detail=detail, entries=state.entries + len(tail))


def _rejections(store: Store, reqs: dict[str, RequestRow], cache: dict[str, Counter[str]]
                ) -> Counter[str]:
    """Record-level rejections per reason code (from the decisions, cached per request)."""
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
    return reasons


def bars(series: dict[str, int], label: str, width: int = 640, bar_h: int = 20) -> dict[str, Any]:
    """Geometry of an inline SVG bar chart (rendered by templates/_bars.html)."""
    top = max(series.values(), default=0) or 1
    rows = [{"label": k, "value": v, "y": i * (bar_h + 6),
             "w": max(int((width - 260) * v / top), 1)} for i, (k, v) in enumerate(series.items())]
    return {"label": label, "rows": rows, "width": width, "bar_h": bar_h,
            "height": max(len(rows) * (bar_h + 6), bar_h)}


