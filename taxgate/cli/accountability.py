"""Commands that make the gateway accountable to a court (R3, R30, R31): the evidence of a
request, a re-check of past disclosures under other rules, the taxpayers affected and
their notification letters (26 U.S.C. 7431(e)). Thin shells over the Gateway."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from taxgate.cli._common import StoreOpt, out, run, settings_for, with_gateway
from taxgate.errors import BadInput
from taxgate.settings import Policy
from taxgate.untrusted import for_terminal as shown

if TYPE_CHECKING:  # the evidence module pulls in the pipeline: a shell starts without it
    from taxgate.gateway.evidence import Evidence

ActorOpt = Annotated[str, typer.Option("--actor", help="Your user name, for the ledger.")]
RequestsOpt = Annotated[list[str] | None, typer.Option(
    "--request", help="A request id (repeat for a batch).")]
PolicyVersionOpt = Annotated[str | None, typer.Option(
    "--policy-version", help="Disclosures decided under this policy (rule-set) version.")]
ModelVersionOpt = Annotated[str | None, typer.Option(
    "--model-version", help="Disclosures scored by this model version.")]
UserOpt = Annotated[str | None, typer.Option(
    "--user", help="Disclosures this person took part in: the signing official, the "
    "officer a record names, or the reviewer or releaser of a confirmation.")]


def register(app: typer.Typer) -> None:
    """Add this module's commands to the main application."""
    app.command("evidence")(evidence)
    app.command("evidence-purge")(evidence_purge)
    app.command("recheck")(recheck)
    app.command("affected")(affected)
    app.command("notify")(notify)


def evidence(
    request_id: Annotated[str, typer.Argument(help="The request's id.")],
    user: Annotated[str, typer.Option(
        "--user", help="Who is asking (logged); with --reveal, an enabled auditor account."
    )] = "cli",
    reveal: Annotated[bool, typer.Option(
        "--reveal", help="Also show each record as submitted and the matched TIN (taxpayer "
        "values); only for an auditor account named by --user.")] = False,
    store: StoreOpt = None,
) -> None:
    """For counsel: what a request asked, who signed it (the kept signature verified
    again), what rules and model decided each record and why (R3, R30). Taxpayer values
    only with --reveal; every use is logged (EVIDENCE_VIEWED)."""
    found = with_gateway(settings_for(store),
                         lambda gw: gw.evidence(request_id, user, reveal=reveal))
    _print_request(found)
    _print_records(found)


def _print_request(e: Evidence) -> None:
    r, s = e.request, e.signature
    out.print(f"request {shown(r.request_id)} from {shown(r.agency or '(unknown)')}: "
              f"{r.status}, received {r.received_at}, answered {r.completed_at or '-'}")
    if e.manifest is None:
        out.print("package: not kept (purged, or answered before evidence was kept)")
    else:
        m = e.manifest
        out.print(f"asked under {shown(m['legal_authority'])} for "
                  f"{shown(m['criminal_statute'])}; tax years {shown(m['taxable_periods'])}; "
                  f"{shown(m['record_count'])} records; created {shown(m['created_at'])}")
        out.print(f"reason: {shown(m['reason'])}")
        match = "matches" if e.package_matches else "DOES NOT match"
        out.print(f"package kept: its digest {match} the one recorded "
                  f"({r.package_sha256[:16]}…)")
    verdict = ("verified again" if s.verified else f"NOT verified now ({s.problem})")
    out.print(f"signed by {shown(s.official or '(unknown)')} of {shown(s.agency or '-')}: "
              f"signature {verdict}; registered key sha256 {(s.key_sha256 or '-')[:16]}…")
    for version, values in e.policies.items():
        shown_values = ("not kept" if values is None else
                        "; ".join(f"{k}={v}" for k, v in values.items()))
        out.print(f"policy {version}: {shown(shown_values)}", soft_wrap=True)
    for version, digest in e.models.items():
        kept = f"kept, sha256 {digest[:16]}…" if digest else "not kept"
        out.print(f"model {version}: {kept}")
    for d in e.reviews:
        out.print(f"review of row {d.row_number}: {d.outcome} proposed by "
                  f"{shown(d.proposed_by)}, released by {shown(d.released_by or '-')}")


def _print_records(e: Evidence) -> None:
    cols = ["row", "record", "outcome", "reasons", "probability", "evidence"]
    table = Table(*cols, *(["tin", "submitted"] if e.revealed else []),
                  title=f"{len(e.records)} record(s)")
    for rec in e.records:
        ev = rec.evidence or {}
        why = ", ".join(f"{k}={v}" for k, v in (ev.get("levels") or {}).items())
        extra = ["review: " + ",".join(ev["review_reasons"])] if ev.get("review_reasons") else []
        cells = [str(rec.row_number), shown(rec.record_id), rec.outcome, shown(rec.reasons),
                 "" if rec.match_probability is None else f"{rec.match_probability:.6f}",
                 shown("; ".join([why, *extra]).strip("; "))]
        if e.revealed:
            sub = rec.submitted or {}
            cells += [rec.tin or "", shown(" ".join(str(v) for v in sub.values() if v))]
        table.add_row(*cells)
    out.print(table)


def evidence_purge(actor: ActorOpt = "cli", store: StoreOpt = None) -> None:
    """Delete the kept request packages past the policy's evidence_retention_days
    (R40); logged (EVIDENCE_PURGED)."""
    gone = with_gateway(settings_for(store), lambda gw: gw.purge_evidence(actor))
    out.print(f"purged the kept packages of {len(gone)} request(s)")


def recheck(
    policy: Annotated[Path, typer.Option("--policy", help="A policy TOML file (docs/policy.md).")],
    since: Annotated[str | None, typer.Option("--since", help="Requests received on or after "
                                               "this day (YYYY-MM-DD).")] = None,
    agency: Annotated[str | None, typer.Option("--agency", help="Only this agency's.")] = None,
    actor: ActorOpt = "cli",
    store: StoreOpt = None,
) -> None:
    """Re-decide past confirmations under another policy from the kept evidence, and list
    those it would not confirm, with counts per reason (R30). Changes nothing but one
    ledger event (RECHECK_RUN)."""
    rules = run(Policy.from_toml, policy)
    day = run(_day, since)
    report = with_gateway(settings_for(store), lambda gw: gw.recheck(
        rules, since=day, agency=agency, actor=actor))
    out.print(f"{report.policy_version}: {report.requests} request(s), {report.confirmed} "
              f"confirmation(s) re-decided; {len(report.withdrawn)} no longer confirmed")
    table = Table("request", "agency", "row", "record", "confirmed by", "now", "reasons")
    for w in report.withdrawn:
        table.add_row(shown(w.request_id), shown(w.agency or ""), str(w.row_number),
                      shown(w.record_id), "officer" if w.by_officer else "gateway",
                      w.outcome_now, ";".join(w.reasons))
    out.print(table)
    for reason, n in sorted(report.per_reason.items()):
        out.print(f"  {reason}: {n}")
    for rid, why in report.not_rechecked.items():
        out.print(f"not re-checked: {shown(rid)}: {why}")


def _day(text: str | None) -> dt.date | None:
    try:
        return dt.date.fromisoformat(text) if text else None
    except ValueError:
        raise BadInput("--since must be a YYYY-MM-DD date") from None


def affected(
    requests: RequestsOpt = None, policy_version: PolicyVersionOpt = None,
    model_version: ModelVersionOpt = None, user: UserOpt = None,
    out_file: Annotated[Path | None, typer.Option(
        "--out", help="Write the list (TIN, name, address; taxpayer data) as CSV here.")] = None,
    actor: ActorOpt = "cli",
    store: StoreOpt = None,
) -> None:
    """List the taxpayers affected by a request, a batch, a policy or model version, or a
    user (R31); the TINs, names and addresses go to --out only. Logged (AFFECTED_LISTED)."""
    from taxgate.gateway.notify import Selection  # the ledger's readers: on use

    sel = Selection(tuple(requests or ()), policy_version, model_version, user)
    people = with_gateway(settings_for(store), lambda gw: gw.affected(sel, actor, out_file))
    n = sum(len(p.disclosures) for p in people)
    out.print(f"{len(people)} taxpayer(s) affected by {n} disclosure(s)")
    if out_file is not None:
        out.print(f"wrote {shown(out_file)}")


def notify(
    out_dir: Annotated[Path, typer.Option("--out", help="Folder for the letters (0700).")],
    issued_by: Annotated[str, typer.Option("--issued-by", help="Who issues them (logged).")],
    requests: RequestsOpt = None, policy_version: PolicyVersionOpt = None,
    model_version: ModelVersionOpt = None, user: UserOpt = None,
    tins: Annotated[list[str] | None, typer.Option(
        "--tin", help="Only these taxpayers of the selection (repeat).")] = None,
    store: StoreOpt = None,
) -> None:
    """Write a notification letter (HTML and CSV, 26 U.S.C. 7431(e)) to each taxpayer
    the selection affects; each issuance is logged (LETTER_ISSUED)."""
    from taxgate.gateway.notify import Selection  # the ledger's readers: on use

    sel = Selection(tuple(requests or ()), policy_version, model_version, user)
    paths = with_gateway(settings_for(store), lambda gw: gw.notify(
        sel, out_dir, issued_by, set(tins) if tins else None))
    out.print(f"issued {len(paths)} letter(s) in {shown(out_dir)}")
