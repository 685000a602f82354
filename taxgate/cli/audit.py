"""Commands for auditors and the Disclosure Office: ledger verification, the
accounting of disclosures about one taxpayer, and the annual disclosure report."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from taxgate.cli._common import StoreOpt, err, out, run, settings_for, with_gateway
from taxgate.cli._common import operator as current_operator
from taxgate.gateway import Gateway
from taxgate.untrusted import for_terminal as shown

ledger_app = typer.Typer(help="The tamper-evident ledger of every request and disclosure.",
                         no_args_is_help=True)
report_app = typer.Typer(help="Reports built from the ledger (R29).", no_args_is_help=True)


@ledger_app.command("verify")
def ledger_verify(
    anchor: Annotated[Path | None, typer.Option(
        "--anchor", help="A head anchor file to check against (default: the configured one, "
        "TAXGATE_ANCHOR or <store>.anchor.jsonl beside the store).")] = None,
    store: StoreOpt = None,
) -> None:
    """Walk the whole hash chain and the signed checkpoints up to the head anchor; report
    the first entry that was edited, deleted, inserted or reordered, or a store behind
    or beside its anchor (exit 4 when the ledger fails; the failure is recorded and
    process, accounting, report and release refuse until an incident is recorded)."""
    def _verify(gw: Gateway):  # noqa: ANN202
        return gw.verify_ledger(anchor), gw.open_failure()

    found, still_open = with_gateway(settings_for(store), _verify, audit="ledger verify")
    report = found.report
    where = (f"anchor seq {found.anchor.seq} of {found.anchor.at} reached"
             if found.anchor else "no head anchor yet (one is written now)")
    out.print(f"ledger verified: {report.entries:,} entries, {report.checkpoints:,} signed "
              f"checkpoints, head seq {report.last_seq} hash {report.last_hash[:16]}…, "
              f"{where} ({found.seconds:.2f} s)")
    if still_open:
        from taxgate.gateway import LEDGER_REMEDY

        err.print("taxgate: an earlier check failed and no incident has been recorded "
                  f"since ({still_open}); {LEDGER_REMEDY}", soft_wrap=True)


@ledger_app.command("incident")
def ledger_incident(
    note: Annotated[str, typer.Option(help="What happened and what was done: one line, at most "
                                      "200 characters, no taxpayer values (no number of five "
                                      "or more digits).")],
    operator: Annotated[str | None, typer.Option(help="Your user name, recorded in the ledger "
                                             "(default: the operator of `taxgate`).")] = None,
    store: StoreOpt = None,
) -> None:
    """Record an integrity incident in the ledger (INCIDENT_RECORDED: operator, note, the
    failure and the anchor it supersedes) and start the head anchor afresh after it, so
    process, accounting, report and release run again."""
    head = with_gateway(settings_for(store), lambda gw: gw.record_incident(
        operator or current_operator(), note), audit="ledger incident")
    out.print(f"incident recorded at seq {head.seq}; the head anchor starts afresh there")


def accounting(
    tin: Annotated[str, typer.Argument(help="The taxpayer's TIN (9 digits).")],
    store: StoreOpt = None,
) -> None:
    """List every disclosure about one taxpayer: date, recipient agency, official,
    officer, legal authority, purpose and request (R27, 26 U.S.C. 6103(p)(3))."""
    from taxgate.errors import BadInput

    if not (tin.isdigit() and len(tin) == 9):
        run(lambda: (_ for _ in ()).throw(BadInput("TIN must be 9 digits")))
    rows = with_gateway(settings_for(store), lambda gw: gw.accounting(tin),
                        audit="accounting")  # the TIN itself is never logged (R34)
    table = Table("disclosed at", "agency", "official", "officer", "authority", "request",
                  "record", "purpose", title=f"{len(rows)} disclosure(s)")
    for d in rows:
        table.add_row(*(shown(v) for v in (
            d.disclosed_at, d.requesting_agency, d.signing_official, d.officer_id,
            d.legal_authority, d.request_id, d.record_id, d.purpose[:60])))
    out.print(table)


@report_app.command("disclosures")
def report_disclosures(
    year: Annotated[int, typer.Option(help="Calendar year (UTC).")],
    out_dir: Annotated[Path, typer.Option("--out", help="Folder for the CSV and HTML.")] = Path(
        "."),
    store: StoreOpt = None,
) -> None:
    """Write the annual counts of requests, instances and taxpayers disclosed per agency and
    authority, as CSV and as an HTML page with a chart (R29)."""
    report = with_gateway(settings_for(store), lambda gw: gw.annual_report(year),
                          audit="report disclosures", target=f"year {year}")
    csv_path, html_path = Gateway.write_report(report, out_dir)
    t = report.totals
    out.print(f"{year}: {t['requests']:,} requests, {t['instances_disclosed']:,} instances "
              f"disclosed, {t['taxpayers_disclosed']:,} taxpayers")
    out.print(f"wrote {shown(csv_path)} and {shown(html_path)}")
