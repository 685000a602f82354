"""Commands for the reports and tracking the statute names: the JCT and public reports
(R29) and return/destroy certifications (R32)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from taxgate.cli import audit
from taxgate.cli._common import StoreOpt, out, run, settings_for, with_gateway
from taxgate.errors import BadInput
from taxgate.untrusted import for_terminal as shown

certifications_app = typer.Typer(
    help="Return/destroy certifications of disclosed data (R32).", no_args_is_help=True)

YearOpt = Annotated[int, typer.Option(help="Calendar year (UTC).")]
OutOpt = Annotated[Path, typer.Option("--out", help="Folder for the report files.")]
FormatOpt = Annotated[str, typer.Option(
    "--format", help="Comma-separated formats among csv, html, json.")]


def _formats(text: str) -> tuple[str, ...]:
    from taxgate.report_files import FORMATS

    chosen = tuple(dict.fromkeys(f.strip().lower() for f in text.split(",") if f.strip()))
    if not chosen or any(f not in FORMATS for f in chosen):
        run(lambda: (_ for _ in ()).throw(BadInput(
            f"--format must name one or more of {', '.join(FORMATS)}")))
    return chosen


def _write(doc, out_dir: Path, formats: tuple[str, ...]) -> None:  # noqa: ANN001
    from taxgate.report_files import write

    for path in run(write, doc, out_dir, formats):
        out.print(f"wrote {shown(path)}")


def report_jct(year: YearOpt, out_dir: OutOpt = Path("."), fmt: FormatOpt = "csv,html,json",
               store: StoreOpt = None) -> None:
    """The JCT report (R29(a)): per agency the requests answered and refused (each refusal
    attributed to the agency and signer its package named, verified or only claimed),
    instances and taxpayers disclosed and the general purposes, with the refusals per
    signer; files jct-YEAR.csv, jct-YEAR-refusals.csv, .html, .json."""
    from taxgate.accounting import jct_document

    formats = _formats(fmt)
    report = with_gateway(settings_for(store), lambda gw: gw.annual_report(year))
    t = report.totals
    out.print(f"{year}: {t['requests']:,} requests answered, {t['requests_refused']:,} "
              f"refused (verified), {t['refusals_claimed']:,} refused (claimed), "
              f"{t['instances_disclosed']:,} instances disclosed")
    _write(jct_document(report), out_dir, formats)


def report_public(year: YearOpt, out_dir: OutOpt = Path("."), fmt: FormatOpt = "csv,html,json",
                  store: StoreOpt = None) -> None:
    """The public report (R29(b)): aggregate counts per agency only (no signer, request,
    case or taxpayer), small instance and taxpayer counts suppressed as the policy's
    public_report_min_cell says; files public-YEAR.csv, .html, .json."""
    from taxgate.accounting import public_document

    formats = _formats(fmt)
    report = with_gateway(settings_for(store), lambda gw: gw.public_report(year))
    out.print(f"{year}: {len(report.rows)} agencies; counts of 1 to "
              f"{max(report.min_cell - 1, 0)} suppressed")
    _write(public_document(report), out_dir, formats)


@certifications_app.command("record")
def certifications_record(
    request_id: Annotated[str, typer.Argument(help="The request whose data it covers.")],
    disposition: Annotated[str, typer.Option(help="RETURNED or DESTROYED.")],
    certified_by: Annotated[str, typer.Option(help="The agency official who certified.")],
    operator: Annotated[str, typer.Option(help="Your user name, recorded in the ledger.")],
    on: Annotated[str | None, typer.Option(
        "--date", help="The certification's date, YYYY-MM-DD (default: today, UTC).")] = None,
    store: StoreOpt = None,
) -> None:
    """Record an agency's certification that a request's disclosed data was returned or
    destroyed (RETURN_CERTIFIED in the ledger). Exit 2 when the request disclosed nothing."""
    try:
        day = dt.date.fromisoformat(on) if on else dt.datetime.now(dt.UTC).date()
    except ValueError:
        day = run(lambda: (_ for _ in ()).throw(BadInput("--date must be YYYY-MM-DD")))
    due = with_gateway(settings_for(store), lambda gw: gw.certify(
        request_id, disposition=disposition, certified_by=certified_by, certified_on=day,
        operator=operator))
    out.print(f"request {shown(due.request_id)}: {due.disposition} certified on "
              f"{due.certified_on} by {shown(due.certified_by)} (was due {due.due_on})")


@certifications_app.command("list")
def certifications_list(
    overdue: Annotated[bool, typer.Option(
        "--overdue", help="Only those past their due date and not certified.")] = False,
    agency: Annotated[str | None, typer.Option(help="Only this agency's.")] = None,
    store: StoreOpt = None,
) -> None:
    """Every request that disclosed data: agency, instances, last disclosure, due date and
    certification (R32). Exit 0 whatever is found."""
    rows = with_gateway(settings_for(store), lambda gw: gw.certifications(
        overdue_only=overdue, agency=agency))
    today = dt.datetime.now(dt.UTC).date()
    table = Table("request", "agency", "instances", "last disclosed", "due", "status",
                  title=f"{len(rows)} request(s)" + (" overdue" if overdue else ""))
    for d in rows:
        status = (f"{d.disposition} {d.certified_on} ({d.certified_by})" if d.disposition
                  else "OVERDUE" if d.overdue(today) else "open")
        table.add_row(*(shown(v) for v in (d.request_id, d.agency, str(d.instances),
                                           d.last_disclosed_at[:10], str(d.due_on), status)))
    out.print(table)


def register(app: typer.Typer) -> None:
    """Add the report commands to ``report`` and the ``certifications`` group to ``app``."""
    audit.report_app.command("jct")(report_jct)
    audit.report_app.command("public")(report_public)
    app.add_typer(certifications_app, name="certifications")
