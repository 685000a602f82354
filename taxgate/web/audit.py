"""The auditors' pages: oversight (verified incrementally), the accounting of
disclosures about one taxpayer (R27), the annual report with date and agency filters
as a page and as CSV and HTML downloads (R29), and the ledger export (JSON Lines with
its signed checkpoints) that an overseer verifies offline (R28).

A TIN is sent only in a POST body, never in an address (which proxies and browsers
keep); a refused TIN is not repeated.
"""

from __future__ import annotations

import datetime as dt
import re
import tempfile
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import FileResponse, Response
from starlette.background import BackgroundTask

from taxgate.errors import BadInput
from taxgate.gateway.oversight import bars
from taxgate.web.routes import SessionDep, _check_csrf, _gateway, _locked, _role, render

audit_router = APIRouter(include_in_schema=False)
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


@audit_router.get("/oversight")
def oversight_page(request: Request, s: SessionDep) -> Response:
    _role(s, "auditor")
    with _locked(request):
        o = _gateway(request).oversight(viewer=s.principal.name)
    charts = [
        bars(o.disclosures_per_day, "disclosures per day"),
        bars(dict(o.per_official.most_common(20)), "requests per signing official"),
        bars(dict(o.per_officer.most_common(20)), "disclosures per named officer"),
        bars(dict(o.per_disclosure_officer.most_common(20)),
             "review decisions per disclosure officer"),
        bars(dict(o.rejection_reasons.most_common(20)), "rejections per reason code"),
    ]
    return render(request, "oversight.html", o=o, charts=charts)


@audit_router.get("/audit/accounting")
def accounting_form(request: Request, s: SessionDep) -> Response:
    _role(s, "auditor")
    return render(request, "accounting.html", rows=None, error="")


@audit_router.post("/audit/accounting")
def accounting_page(request: Request, s: SessionDep,
                    tin: Annotated[str, Form(max_length=20)],
                    csrf: Annotated[str, Form(max_length=100)]) -> Response:
    """Every disclosure about the taxpayer with this TIN (R27, 26 U.S.C. 6103(p)(3))."""
    _check_csrf(s, csrf)
    _role(s, "auditor")
    digits = tin.replace("-", "").strip()
    if not (digits.isdigit() and len(digits) == 9):
        return render(request, "accounting.html", status=400, rows=None,
                      error="A TIN is 9 digits (dashes allowed).")
    with _locked(request):
        rows = _gateway(request).accounting(digits)
    return render(request, "accounting.html", rows=rows, error="")


def _report_args(request: Request) -> tuple[int, str | None, str | None, str | None]:
    q = request.query_params
    year_text = q.get("year", "")
    year = int(year_text) if year_text.isdigit() and len(year_text) == 4 else (
        dt.datetime.now(dt.UTC).year)
    dates = []
    for name in ("since", "until"):
        value = q.get(name) or None
        if value is not None and not _DATE.fullmatch(value):
            raise BadInput(f"{name} must be a date YYYY-MM-DD")
        dates.append(value)
    return year, q.get("agency") or None, dates[0], dates[1]


def _report(request: Request):  # noqa: ANN202
    year, agency, since, until = _report_args(request)
    with _locked(request):
        report = _gateway(request).annual_report(year, agency=agency, since=since,
                                                 until=until)
    return report, {"year": year, "agency": agency or "", "since": since or "",
                    "until": until or ""}


@audit_router.get("/audit/report")
def report_page(request: Request, s: SessionDep) -> Response:
    _role(s, "auditor")
    report, args = _report(request)
    query = request.url.query
    chart = bars(report.by_month, "disclosures per month")
    return render(request, "report.html", report=report, args=args, query=query,
                  chart=chart)


@audit_router.get("/audit/report.{kind}")
def report_download(request: Request, s: SessionDep, kind: str) -> Response:
    """The report as the CLI writes it (``taxgate report disclosures``): CSV or HTML."""
    _role(s, "auditor")
    if kind not in ("csv", "html"):
        raise BadInput("the report downloads as csv or html")
    report, _ = _report(request)
    gw = _gateway(request)
    with tempfile.TemporaryDirectory() as tmp:
        csv_path, html_path = gw.write_report(report, Path(tmp))
        body = (csv_path if kind == "csv" else html_path).read_bytes()
        name = (csv_path if kind == "csv" else html_path).name
    media = "text/csv; charset=utf-8" if kind == "csv" else "text/html; charset=utf-8"
    return Response(body, media_type=media,
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


@audit_router.get("/audit/export")
def export_form(request: Request, s: SessionDep) -> Response:
    _role(s, "auditor")
    return render(request, "export.html")


@audit_router.post("/audit/export")
def export_download(request: Request, s: SessionDep,
                    csrf: Annotated[str, Form(max_length=100)]) -> Response:
    """The whole ledger as JSON Lines, checkpoints included; logged (LEDGER_EXPORTED)."""
    _check_csrf(s, csrf)
    p = _role(s, "auditor")
    tmp = Path(tempfile.mkdtemp(prefix="taxgate-export-"))
    out = tmp / "ledger.jsonl"
    with _locked(request):
        seq, _ = _gateway(request).export_ledger(out, p.name)

    def cleanup() -> None:
        out.unlink(missing_ok=True)
        tmp.rmdir()

    return FileResponse(out, media_type="application/x-ndjson",
                        filename=f"taxgate-ledger-1-{seq}.jsonl",
                        background=BackgroundTask(cleanup))
