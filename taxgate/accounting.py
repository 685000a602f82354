"""The accounting of disclosures (R27–R29, R31), read from the ledger alone.

Every figure here is computed from the hash-chained ledger, so the reports
reconcile exactly with the permanent accounting (R29): a DISCLOSURE entry is one
instance disclosed; its ``tin_digest`` (a keyed digest, never the TIN) tells
taxpayers apart. Nothing here writes to the store.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from taxgate import disclosure_report, report_files
from taxgate.disclosure_report import AnnualReport, PublicReport
from taxgate.integrity import guard
from taxgate.ledger_events import Disclosure as DisclosureEvent
from taxgate.ledger_events import RequestReceived, RequestRefused
from taxgate.report_files import Document, Table
from taxgate.store.base import Store

DISCLOSURE = DisclosureEvent.TYPE
RECEIVED = RequestReceived.TYPE
REFUSED = RequestRefused.TYPE


@dataclass(frozen=True)
class Disclosure:
    """One disclosure about one taxpayer, as the accounting lists it (R27)."""

    seq: int
    disclosed_at: str
    request_id: str
    record_id: str
    requesting_agency: str
    signing_official: str
    officer_id: str
    legal_authority: str
    purpose: str
    data_elements: str


def _tin_key(payload: dict[str, Any]) -> str | None:
    return payload.get("tin_digest") or payload.get("tin")


def disclosures_for_tin(store: Store, tin: str) -> list[Disclosure]:
    """Every disclosure about the taxpayer with this TIN, oldest first (R27, 7431(e))."""
    guard(store)  # never account from a ledger that failed its last check
    digest = store.tin_digest(tin) if hasattr(store, "tin_digest") else tin
    found = []
    for e in store.ledger_entries():
        if e.event_type != DISCLOSURE:
            continue
        p = e.payload
        if _tin_key(p) not in (digest, tin):
            continue
        found.append(Disclosure(
            seq=e.seq, disclosed_at=str(p.get("disclosed_at", e.recorded_at)),
            request_id=str(p.get("request_id", e.request_id or "")),
            record_id=str(p.get("record_id", "")),
            requesting_agency=str(p.get("requesting_agency", "")),
            signing_official=str(p.get("signing_official", "")),
            officer_id=str(p.get("officer_id", "")),
            legal_authority=str(p.get("legal_authority", "")),
            purpose=str(p.get("purpose", "")),
            data_elements=", ".join(p.get("data_elements", [])),
        ))
    return found


def annual_report(store: Store, year: int, *, agency: str | None = None,
                  since: str | None = None, until: str | None = None) -> AnnualReport:
    """The JCT report of ``year`` (UTC): per agency requests answered and refused (each
    refusal attributed to the agency and signer its package named, verified or claimed),
    instances and taxpayers disclosed, purposes (R29(a)); only ``agency``'s, and only
    dated from ``since`` to ``until`` (YYYY-MM-DD, both included), when given."""
    guard(store)  # never report from a ledger that failed its last check
    return disclosure_report.tally(store.ledger_entries(), year, agency=agency, since=since,
                                   until=until)


def public_report(store: Store, year: int, min_cell: int) -> PublicReport:
    """The public report of ``year`` (R29(b)): aggregate counts per agency, small cells
    suppressed (:func:`taxgate.disclosure_report.public`)."""
    return disclosure_report.public(annual_report(store, year), min_cell)


REPORT_COLUMNS = disclosure_report.JCT_COLUMNS


def _source(seq: int, head_hash: str) -> str:
    return (f"Computed from the gateway's hash-chained ledger up to entry {seq} "
            f"(hash {head_hash[:16]}), R27-R29.")


def jct_document(report: AnnualReport, name: str = "") -> Document:
    """The JCT report as a document (R29(a)): the agency table, the refusals per signer."""
    t = report.totals
    summary = (f"{_source(report.head_seq, report.head_hash)} Requests answered: "
               f"{t['requests']:,}; refused: {t['requests_refused']:,} (verified senders) and "
               f"{t['refusals_claimed']:,} (senders claimed, not proven by a signature); "
               f"instances disclosed: {t['instances_disclosed']:,}; taxpayers disclosed: "
               f"{report.distinct_taxpayers:,}.")
    data = {"report": "jct", "year": report.year, "ledger_head_seq": report.head_seq,
            "ledger_head_hash": report.head_hash, "rows": report.rows,
            "refusals": report.refusals, "totals": t,
            "distinct_taxpayers": report.distinct_taxpayers, "by_month": report.by_month}
    return Document(
        name or f"jct-{report.year}",
        f"Disclosures of return information under 26 U.S.C. 6103, report to the Joint "
        f"Committee on Taxation, calendar year {report.year}", summary,
        [Table("By agency", REPORT_COLUMNS, report.rows),
         Table("Refused requests by agency and signer", disclosure_report.REFUSAL_COLUMNS,
               report.refusals, "refusals")],
        data, report.by_month, "Disclosures per month")


def public_document(report: PublicReport) -> Document:
    """The public report as a document (R29(b)): no names but the agencies'."""
    t, k = report.totals, report.min_cell
    shown = {c: ("suppressed" if v is None else f"{v:,}") for c, v in t.items()}
    summary = (f"{_source(report.head_seq, report.head_hash)} Requests answered: "
               f"{shown['requests']}; refused: {shown['requests_refused']}; instances "
               f"disclosed: {shown['instances_disclosed']}; taxpayers disclosed (summed over "
               f"agencies): {shown['taxpayers_disclosed']}. Refusals whose sender no signature "
               f"proved (attributed to no agency): {report.refusals_unverified:,}. Counts of "
               f"instances and taxpayers from 1 to {k - 1} are shown as <{k}, with one more "
               f"cell per column when needed so that none can be worked out from the total.")
    data = {"report": "public", "year": report.year, "ledger_head_seq": report.head_seq,
            "ledger_head_hash": report.head_hash, "rows": report.rows, "totals": t,
            "refusals_unverified": report.refusals_unverified, "min_cell": k}
    return Document(
        f"public-{report.year}",
        f"Disclosures of return information under 26 U.S.C. 6103(p)(3)(C), public report, "
        f"calendar year {report.year}", summary,
        [Table("By agency", disclosure_report.PUBLIC_COLUMNS, report.rows)],
        data, blank=f"<{k}" if k > 1 else "")


def write_report(report: AnnualReport, out_dir: Path) -> tuple[Path, Path]:
    """Write disclosures-YEAR.csv and disclosures-YEAR.html (with a bar chart) to out_dir:
    the JCT report under its earlier name."""
    csv_path, _, html_path = report_files.write(
        jct_document(report, f"disclosures-{report.year}"), out_dir, ("csv", "html"))
    return csv_path, html_path
