"""The two reports of 26 U.S.C. 6103(p)(3)(C) (R29), counted from ledger entries alone.

:func:`tally` gives the JCT report: per agency, the requests answered, the requests
refused (each refusal attributed to the agency and signer its package named: *verified*
when the signature proved them, *claimed* when it did not), the instances and taxpayers
disclosed and the general purposes; beside it the refusals per agency, signer, proof
and reason code. :func:`public` derives the public report from it: per agency counts
only (no signer, no request or case, no taxpayer), instance and taxpayer counts below
``public_report_min_cell`` suppressed (see :func:`public`). Every figure is a count of
ledger entries of the calendar year (UTC), so both reconcile exactly with the
accounting (R27). A leaf: it reads entries, never a store.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from taxgate.domain import LedgerEntry
from taxgate.ledger_events import Disclosure, RequestReceived, RequestRefused

UNKNOWN = "(unknown)"  # the package named no agency (or signer) at all
JCT_COLUMNS = ("year", "requesting_agency", "legal_authorities", "requests",
               "requests_refused", "refusals_claimed", "instances_disclosed",
               "taxpayers_disclosed", "general_purposes")
REFUSAL_COLUMNS = ("requesting_agency", "signing_official", "signer", "reason", "refusals")
PUBLIC_COLUMNS = ("year", "requesting_agency", "requests", "requests_refused",
                  "instances_disclosed", "taxpayers_disclosed", "general_purposes")
SUPPRESSED = ("instances_disclosed", "taxpayers_disclosed")


@dataclass
class AnnualReport:
    """The JCT report of one calendar year (R29): per agency rows, refusals per signer."""

    year: int
    rows: list[dict[str, Any]]
    by_month: dict[str, int]
    refusals: list[dict[str, Any]] = field(default_factory=list)
    distinct_taxpayers: int = 0  # across agencies (a taxpayer disclosed to two counts once)
    head_seq: int = 0  # the last ledger entry read
    head_hash: str = ""

    @property
    def totals(self) -> dict[str, int]:
        keys = ("requests", "requests_refused", "refusals_claimed", "instances_disclosed",
                "taxpayers_disclosed")
        return {k: sum(int(r[k]) for r in self.rows) for k in keys}


@dataclass
class _Tally:
    requests: Counter[str] = field(default_factory=Counter)
    refused: Counter[str] = field(default_factory=Counter)
    claimed: Counter[str] = field(default_factory=Counter)
    instances: Counter[str] = field(default_factory=Counter)
    taxpayers: defaultdict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    authorities: defaultdict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    purposes: defaultdict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    signers: Counter[tuple[str, str, str, str]] = field(default_factory=Counter)
    by_month: Counter[str] = field(default_factory=Counter)

    def add(self, e: LedgerEntry, when: str) -> None:
        p = e.payload
        agency = str(p.get("requesting_agency") or UNKNOWN)
        if e.event_type == RequestReceived.TYPE:
            self.requests[agency] += 1
            self.authorities[agency].add(str(p.get("legal_authority", "")))
            self.purposes[agency].add(str(p.get("criminal_statute", "")))
        elif e.event_type == RequestRefused.TYPE:
            proof = "verified" if p.get("signer_verified") else "claimed"
            (self.refused if proof == "verified" else self.claimed)[agency] += 1
            signer = str(p.get("signing_official") or UNKNOWN)
            self.signers[(agency, signer, proof, str(p.get("reason", "")))] += 1
        elif e.event_type == Disclosure.TYPE:
            self.instances[agency] += 1
            self.taxpayers[agency].add(str(p.get("tin_digest") or p.get("tin")))
            self.authorities[agency].add(str(p.get("legal_authority", "")))
            self.by_month[when[:7]] += 1


def tally(entries: Iterable[LedgerEntry], year: int, *, agency: str | None = None,
          since: str | None = None, until: str | None = None) -> AnnualReport:
    """The JCT report of ``year`` (UTC) from ledger entries, in one pass; only ``agency``'s
    (as the package named it), and only dated from ``since`` to ``until`` (YYYY-MM-DD, both
    included), when given."""
    prefix, t, last = f"{year:04d}-", _Tally(), None
    first, final = since or "0000-00-00", until or "9999-99-99"
    for e in entries:
        last = e
        p = e.payload
        when = str(p.get("disclosed_at") or p.get("received_at") or e.recorded_at)
        if not when.startswith(prefix) or not first <= when[:10] <= final:
            continue
        if agency is None or str(p.get("requesting_agency") or "") == agency:
            t.add(e, when)
    agencies = sorted(set(t.requests) | set(t.refused) | set(t.claimed) | set(t.instances))
    rows = [{
        "year": year, "requesting_agency": a,
        "legal_authorities": "; ".join(sorted(x for x in t.authorities[a] if x)),
        "requests": t.requests[a], "requests_refused": t.refused[a],
        "refusals_claimed": t.claimed[a], "instances_disclosed": t.instances[a],
        "taxpayers_disclosed": len(t.taxpayers[a]),
        "general_purposes": "; ".join(sorted(x for x in t.purposes[a] if x)),
    } for a in agencies]
    refusals = [dict(zip(REFUSAL_COLUMNS, (*k, n), strict=True))
                for k, n in sorted(t.signers.items())]
    distinct = len(set().union(*t.taxpayers.values())) if t.taxpayers else 0
    return AnnualReport(year, rows, dict(sorted(t.by_month.items())), refusals, distinct,
                        last.seq if last else 0, last.entry_hash if last else "")


@dataclass
class PublicReport:
    """The public report of one year (R29(b)): aggregate counts per agency only."""

    year: int
    rows: list[dict[str, Any]]  # a suppressed count is None
    totals: dict[str, int | None]
    refusals_unverified: int  # refusals whose sender no signature proved: no agency named
    min_cell: int
    head_seq: int
    head_hash: str


def public(report: AnnualReport, min_cell: int) -> PublicReport:
    """The public report: per agency requests, refusals (verified senders only), instances
    and taxpayers disclosed, purposes. An instance or taxpayer count above 0 and below
    ``min_cell`` is suppressed (None); so that no suppressed cell can be worked out from
    the total, a column with one suppressed cell has its next smallest non-zero cell
    suppressed too, and its total when no such cell is left (complementary suppression)."""
    rows = [{k: r[k] for k in PUBLIC_COLUMNS} for r in report.rows
            if r["requests"] or r["requests_refused"] or r["instances_disclosed"]]
    t = report.totals
    totals: dict[str, int | None] = {k: t[k] for k in ("requests", "requests_refused",
                                                       *SUPPRESSED)}
    for col in SUPPRESSED:
        small = [r for r in rows if 0 < r[col] < min_cell]
        for r in small:
            r[col] = None
        if len(small) == 1:
            others = sorted((r for r in rows if r[col]), key=lambda r: r[col])
            if others:
                others[0][col] = None
            else:
                totals[col] = None
    return PublicReport(report.year, rows, totals, t["refusals_claimed"], min_cell,
                        report.head_seq, report.head_hash)
