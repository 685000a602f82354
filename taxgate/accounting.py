"""The accounting of disclosures (R27–R29, R31), read from the ledger alone.

Every figure here is computed from the hash-chained ledger, so the reports
reconcile exactly with the permanent accounting (R29): a DISCLOSURE entry is one
instance disclosed; its ``tin_digest`` (a keyed digest, never the TIN) tells
taxpayers apart. Nothing here writes to the store.
"""

from __future__ import annotations

import csv
import html
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from taxgate.integrity import guard
from taxgate.ledger_events import Disclosure as DisclosureEvent
from taxgate.ledger_events import RequestReceived, RequestRefused
from taxgate.store.base import Store
from taxgate.untrusted import for_csv_cell, visible

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


@dataclass
class AnnualReport:
    """Counts per (agency, legal authority) for one calendar year (R29)."""

    year: int
    rows: list[dict[str, Any]]
    by_month: dict[str, int]

    @property
    def totals(self) -> dict[str, int]:
        keys = ("requests", "requests_refused", "instances_disclosed", "taxpayers_disclosed")
        return {k: sum(int(r[k]) for r in self.rows) for k in keys}


def annual_report(store: Store, year: int, *, agency: str | None = None,
                  since: str | None = None, until: str | None = None) -> AnnualReport:
    """Requests received and refused, instances and taxpayers disclosed, per agency and
    authority, for requests and disclosures dated in ``year`` (UTC); only ``agency``'s,
    and only dated from ``since`` to ``until`` (YYYY-MM-DD, both included), when given."""
    guard(store)  # never report from a ledger that failed its last check
    prefix = f"{year:04d}-"
    first, last = since or "0000-00-00", until or "9999-99-99"
    requests: Counter[tuple[str, str]] = Counter()
    refused: Counter[tuple[str, str]] = Counter()
    instances: Counter[tuple[str, str]] = Counter()
    taxpayers: defaultdict[tuple[str, str], set[str]] = defaultdict(set)
    purposes: defaultdict[tuple[str, str], set[str]] = defaultdict(set)
    by_month: Counter[str] = Counter()
    for e in store.ledger_entries():
        p = e.payload
        when = str(p.get("disclosed_at") or p.get("received_at") or e.recorded_at)
        if not when.startswith(prefix) or not first <= when[:10] <= last:
            continue
        # a refusal whose signature did not verify is no agency's request: "(unknown)"
        sender = p.get("requesting_agency", "") if p.get("signer_verified", True) else ""
        key = (str(sender or ""), str(p.get("legal_authority", "")))
        if agency is not None and key[0] != agency:
            continue
        if e.event_type == RECEIVED:
            requests[key] += 1
            purposes[key].add(str(p.get("criminal_statute", "")))
        elif e.event_type == REFUSED:
            refused[key] += 1
        elif e.event_type == DISCLOSURE:
            instances[key] += 1
            taxpayers[key].add(str(_tin_key(p)))
            by_month[when[:7]] += 1
    keys = sorted(set(requests) | set(instances) | set(refused))
    rows = [{
        "year": year, "requesting_agency": a or "(unknown)", "legal_authority": auth or "(unknown)",
        "requests": requests[(a, auth)], "requests_refused": refused[(a, auth)],
        "instances_disclosed": instances[(a, auth)],
        "taxpayers_disclosed": len(taxpayers[(a, auth)]),
        "general_purposes": "; ".join(sorted(x for x in purposes[(a, auth)] if x)),
    } for a, auth in keys]
    return AnnualReport(year, rows, dict(sorted(by_month.items())))


REPORT_COLUMNS = ("year", "requesting_agency", "legal_authority", "requests", "requests_refused",
                  "instances_disclosed", "taxpayers_disclosed", "general_purposes")


def write_report(report: AnnualReport, out_dir: Path) -> tuple[Path, Path]:
    """Write disclosures-YEAR.csv and disclosures-YEAR.html (with a bar chart) to out_dir."""
    out_dir.mkdir(parents=True, exist_ok=True)
    csv_path = out_dir / f"disclosures-{report.year}.csv"
    with csv_path.open("w", encoding="utf-8", newline="") as f:
        w = csv.DictWriter(f, fieldnames=REPORT_COLUMNS, lineterminator="\n")
        w.writeheader()
        w.writerows({k: for_csv_cell(v) for k, v in r.items()} for r in report.rows)
    html_path = out_dir / f"disclosures-{report.year}.html"
    html_path.write_text(_html(report), encoding="utf-8")
    return csv_path, html_path


def _h(value: object) -> str:
    """Agency and authority names come from manifests: visible, then HTML-escaped."""
    return html.escape(visible(value))


def _bar_chart(series: dict[str, int], width: int = 640, bar_h: int = 22) -> str:
    """An inline SVG bar chart: no script, readable anywhere the page is."""
    if not series:
        return "<p>No disclosures in this year.</p>"
    top = max(series.values()) or 1
    rows = []
    for i, (label, value) in enumerate(series.items()):
        w = int((width - 160) * value / top)
        y = i * (bar_h + 6)
        rows.append(
            f'<text x="0" y="{y + 16}" font-size="13">{_h(label)}</text>'
            f'<rect x="90" y="{y}" width="{max(w, 1)}" height="{bar_h}" fill="#1f4e79">'
            f"<title>{_h(label)}: {value}</title></rect>"
            f'<text x="{96 + w}" y="{y + 16}" font-size="13">{value:,}</text>'
        )
    height = len(series) * (bar_h + 6)
    return (f'<svg role="img" aria-label="disclosures per month" width="{width}" '
            f'height="{height}" xmlns="http://www.w3.org/2000/svg">{"".join(rows)}</svg>')


def _html(report: AnnualReport) -> str:
    head = "".join(f"<th>{html.escape(c.replace('_', ' '))}</th>" for c in REPORT_COLUMNS[1:])
    body = "".join(
        "<tr>" + "".join(f"<td>{_h(r[c])}</td>" for c in REPORT_COLUMNS[1:])
        + "</tr>" for r in report.rows
    )
    t = report.totals
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>Disclosures under 26 U.S.C. 6103 — {report.year}</title>
<style>body{{font-family:system-ui,sans-serif;margin:2rem;color:#222}}
table{{border-collapse:collapse}}td,th{{border:1px solid #bbb;padding:.3rem .6rem;text-align:left}}
th{{background:#eef3f8}}</style></head><body>
<h1>Disclosures of return information — calendar year {report.year}</h1>
<p>Computed from the gateway's hash-chained ledger (R27–R29). Requests: {t['requests']:,};
refused: {t['requests_refused']:,}; instances disclosed: {t['instances_disclosed']:,};
taxpayers disclosed: {t['taxpayers_disclosed']:,}.</p>
<h2>By agency and authority</h2>
<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>
<h2>Disclosures per month</h2>
{_bar_chart(report.by_month)}
</body></html>
"""
