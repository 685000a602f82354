"""Commands for auditors and the Disclosure Office: ledger verification, the
accounting of disclosures about one taxpayer, and the annual disclosure report."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from taxgate.cli._common import (
    JsonOpt,
    StoreOpt,
    admin_call,
    err,
    out,
    print_json,
    print_rows,
    run,
    settings_for,
    with_gateway,
)
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
    store: StoreOpt = None, as_json: JsonOpt = False,
) -> None:
    """Walk the whole hash chain and the signed checkpoints up to the head anchor; report
    the first entry that was edited, deleted, inserted or reordered, or a store behind
    or beside its anchor (exit 4 when the ledger fails; the failure is recorded and
    process, accounting, report and release refuse until an incident is recorded)."""
    found = admin_call(settings_for(store), "ledger.verify",
                       anchor=str(anchor.resolve()) if anchor else None,
                       audit="ledger verify")
    still_open = found["open_failure"]
    if as_json:
        print_json(found)
    else:
        at = found["anchor"]
        where = (f"anchor seq {at['seq']} of {at['at']} reached"
                 if at else "no head anchor yet (one is written now)")
        out.print(f"ledger verified: {found['entries']:,} entries, {found['checkpoints']:,} "
                  f"signed checkpoints, head seq {found['last_seq']} hash "
                  f"{found['last_hash'][:16]}…, {where} ({found['seconds']:.2f} s)")
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
    store: StoreOpt = None, as_json: JsonOpt = False,
) -> None:
    """Record an integrity incident in the ledger (INCIDENT_RECORDED: operator, note, the
    failure and the anchor it supersedes) and start the head anchor afresh after it, so
    process, accounting, report and release run again."""
    head = admin_call(settings_for(store), "ledger.incident",
                      operator=operator or current_operator(), note=note,
                      audit="ledger incident")
    if as_json:
        print_json(head)
        return
    out.print(f"incident recorded at seq {head['seq']}; the head anchor starts afresh there")


@ledger_app.command("export")
def ledger_export(
    out_file: Annotated[Path, typer.Option("--out", help="The JSON Lines file to write.")],
    operator: Annotated[str, typer.Option(help="Your user name, recorded in the ledger.")],
    store: StoreOpt = None,
) -> None:
    """Export the whole ledger, its signed checkpoints included, as JSON Lines for an
    overseer, who checks it with `taxgate ledger verify-export` and the gateway's public
    key alone (logged: LEDGER_EXPORTED)."""
    seq, digest = with_gateway(settings_for(store),
                               lambda gw: gw.export_ledger(out_file, operator))
    out.print(f"exported seq 1..{seq} (head hash {digest[:16]}…) to {shown(out_file)}")


@ledger_app.command("verify-export")
def ledger_verify_export(
    export_file: Annotated[Path, typer.Argument(help="A ledger export (JSON Lines).")],
    public_key: Annotated[Path, typer.Option(
        "--public-key", help="The gateway's public key (PEM), e.g. from GET /v1/public-key "
        "or `taxgate` on the gateway's side.")],
) -> None:
    """Verify a ledger export offline, with no store: every hash link and checkpoint
    signature, ending on a signed checkpoint (exit 4 when it fails)."""
    from taxgate.gateway.export import verify_export

    report = run(verify_export, export_file, public_key)
    out.print(f"export verified: {report.entries:,} entries, {report.checkpoints:,} signed "
              f"checkpoints, head seq {report.last_seq} hash {report.last_hash[:16]}…")


def accounting(
    tin: Annotated[str, typer.Argument(help="The taxpayer's TIN (9 digits).")],
    store: StoreOpt = None, as_json: JsonOpt = False,
) -> None:
    """List every disclosure about one taxpayer: date, recipient agency, official,
    officer, legal authority, purpose and request (R27, 26 U.S.C. 6103(p)(3))."""
    from taxgate.errors import BadInput

    if not (tin.isdigit() and len(tin) == 9):
        run(lambda: (_ for _ in ()).throw(BadInput("TIN must be 9 digits")))
    rows = admin_call(settings_for(store), "accounting", tin=tin,
                      audit="accounting")  # the TIN itself is never logged (R34)
    print_rows(rows, {"disclosed_at": "disclosed at", "requesting_agency": "agency",
                      "signing_official": "official", "officer_id": "officer",
                      "legal_authority": "authority", "request_id": "request",
                      "record_id": "record", "purpose": "purpose"}, as_json,
               title=f"{len(rows)} disclosure(s)")


@report_app.command("disclosures")
def report_disclosures(
    year: Annotated[int, typer.Option(help="Calendar year (UTC).")],
    out_dir: Annotated[Path, typer.Option("--out", help="Folder for the CSV and HTML.")] = Path(
        "."),
    store: StoreOpt = None, as_json: JsonOpt = False,
) -> None:
    """Write the annual counts of requests, instances and taxpayers disclosed per agency and
    authority, as CSV and as an HTML page with a chart (R29)."""
    from taxgate.accounting import AnnualReport  # imported on use, as each command's work

    report = AnnualReport(**admin_call(settings_for(store), "report.annual", year=year,
                                       audit="report disclosures", target=f"year {year}"))
    csv_path, html_path = Gateway.write_report(report, out_dir)
    t = report.totals
    if as_json:
        print_json({"year": year, "totals": t, "csv": str(csv_path), "html": str(html_path)})
        return
    out.print(f"{year}: {t['requests']:,} requests, {t['instances_disclosed']:,} instances "
              f"disclosed, {t['taxpayers_disclosed']:,} taxpayers")
    out.print(f"wrote {shown(csv_path)} and {shown(html_path)}")
