"""Commands of the service: agency credentials, web accounts, the review desk, serve.

On the embedded store these need the store to themselves: run them while
``taxgate serve`` is stopped (a PostgreSQL store can be shared).
"""

from __future__ import annotations

import secrets
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from taxgate.cli._common import (
    StoreOpt,
    err,
    operator,
    out,
    run,
    settings_for,
    with_gateway,
)
from taxgate.errors import BadInput, NotAllowed
from taxgate.gateway import Gateway
from taxgate.untrusted import for_terminal as shown

agencies_app = typer.Typer(help="Agencies' API credentials (salted hashes only).",
                           no_args_is_help=True)
users_app = typer.Typer(help="Web accounts of disclosure officers and auditors.",
                        no_args_is_help=True)
review_app = typer.Typer(help="The review desk: REVIEW records, two-person decisions, "
                         "follow-up responses (R23, R36).", no_args_is_help=True)


HolderOpt = Annotated[str | None, typer.Option(
    "--holder", help="The person it is issued to, as requests name them (an officer id): "
    "only a named recipient downloads results (R4).")]


def _password(prompt_name: str) -> str:
    """One line from stdin (never an argument: it would land in shell history)."""
    if sys.stdin.isatty():
        return typer.prompt(f"password for {prompt_name}", hide_input=True)
    line = sys.stdin.readline().rstrip("\r\n")
    if not line:
        run(lambda: (_ for _ in ()).throw(BadInput("no password on stdin")))
    return line


@agencies_app.command("credential")
def agencies_credential(
    agency: Annotated[str, typer.Argument(help="The agency, as in manifests (e.g. DHS-ICE).")],
    holder: HolderOpt = None,
    store: StoreOpt = None,
) -> None:
    """Issue a new API credential for an agency, or for one person of it (printed once),
    and revoke the earlier ones of that agency or person."""
    token = with_gateway(settings_for(store), lambda gw: gw.issue_credential(
        agency, operator(), holder=holder), audit="agencies credential",
        target=f"{agency}" + (f" for {holder}" if holder else ""))
    err.print(f"new API credential for {shown(agency)} (shown once; earlier ones are revoked):")
    sys.stdout.write(token + "\n")


@users_app.command("add")
def users_add(
    username: Annotated[str, typer.Argument(help="The person's unique user name.")],
    role: Annotated[str, typer.Option(help="reviewer, releaser, auditor or agency.")],
    agency: Annotated[str | None, typer.Option(help="For role agency: which agency.")] = None,
    generate: Annotated[bool, typer.Option(
        "--generate", help="Generate a password and print it once, instead of reading stdin."
    )] = False,
    store: StoreOpt = None,
) -> None:
    """Create a web account (or replace its role and password); the password comes from
    stdin, or is generated with --generate. Logged in the ledger (R33)."""
    password = secrets.token_urlsafe(18) if generate else _password(username)
    with_gateway(settings_for(store), lambda gw: gw.add_user(
        username, role, password, agency=agency, actor=operator()),
        audit="users add", target=f"{username} ({role})")
    out.print(f"user {shown(username)} ({shown(role)}) saved")
    if generate:
        sys.stdout.write(password + "\n")


@users_app.command("reset-mfa")
def users_reset_mfa(
    username: Annotated[str, typer.Argument(help="The account whose second factor is lost.")],
    store: StoreOpt = None,
) -> None:
    """Remove an account's second factor (a lost device): it enrols a new one at its next
    sign-in (R36). Logged in the ledger (MFA_CHANGED, with the operator)."""
    with_gateway(settings_for(store), lambda gw: gw.reset_mfa(username, operator()),
                 audit="users reset-mfa", target=username)
    out.print(f"second factor of {shown(username)} removed; it enrols again at sign-in")


def _principal(gw: Gateway, username: str, password: str):  # noqa: ANN202
    p = gw.check_password(username, password)
    if p is None:
        raise NotAllowed("unknown user or wrong password")
    return p


@review_app.command("queue")
def review_queue(
    all_: Annotated[bool, typer.Option("--all", help="Include released records.")] = False,
    store: StoreOpt = None,
) -> None:
    """List REVIEW records held for disclosure officers and their state."""
    entries = with_gateway(settings_for(store),
                           lambda gw: gw.review_queue(include_released=all_))
    table = Table("request", "row", "record", "agency", "state", "proposal", "released by",
                  "proposal digest (for release --proposal)")
    for e in entries:
        table.add_row(shown(e.request_id), str(e.row_number), shown(e.record_id), shown(e.agency),
                      shown(e.state), shown(f"{e.outcome} by {e.proposed_by}" if e.outcome else ""),
                      shown(e.released_by or ""), e.proposal_digest or "")
    out.print(table)


@review_app.command("propose")
def review_propose(
    request_id: Annotated[str, typer.Argument()],
    row: Annotated[int, typer.Argument(help="The record's row number in the request.")],
    outcome: Annotated[str, typer.Option(help="CONFIRMED or NOT_CONFIRMED.")],
    reason: Annotated[str, typer.Option(help="Why (required, at least 10 characters).")],
    user: Annotated[str, typer.Option("--user", help="Your user name (role reviewer); "
                                      "the password is read from stdin.")],
    store: StoreOpt = None,
) -> None:
    """Propose the final outcome of a REVIEW record (role reviewer)."""
    password = _password(user)
    with_gateway(settings_for(store), lambda gw: gw.propose(
        _principal(gw, user, password), request_id, row, outcome, reason),
        audit="review propose", target=f"{request_id} row {row} by {user}")
    out.print(f"proposed {shown(outcome)} for row {row} of {shown(request_id)}; "
              "another person must release it")


@review_app.command("release")
def review_release(
    request_id: Annotated[str, typer.Argument()],
    row: Annotated[int, typer.Argument(help="The record's row number in the request.")],
    user: Annotated[str, typer.Option("--user", help="Your user name (role releaser, not "
                                      "the proposer); the password is read from stdin.")],
    out_dir: Annotated[Path | None, typer.Option("--out", help="Also write the follow-up "
                                                 "response here.")] = None,
    proposal: Annotated[str | None, typer.Option(
        "--proposal", help="The proposal's digest as `review queue` showed it: the release "
        "is refused if the proposal has changed since.")] = None,
    store: StoreOpt = None,
) -> None:
    """Release a proposed decision (role releaser, another person): logs it, and the
    follow-up response for the agency is signed."""
    password = _password(user)
    fu = with_gateway(settings_for(store), lambda gw: gw.release(
        _principal(gw, user, password), request_id, row, proposal),
        audit="review release", target=f"{request_id} row {row} by {user}")
    if out_dir is not None:
        Gateway.write_follow_up(fu, out_dir)
    out.print(f"released: follow-up response {fu.seq} of {shown(request_id)}")


@review_app.command("follow-up")
def review_follow_up(
    request_id: Annotated[str, typer.Argument()],
    seq: Annotated[int, typer.Argument(help="Follow-up number (1, 2, ...).")],
    out_dir: Annotated[Path, typer.Option("--out", help="Folder for the response package.")],
    store: StoreOpt = None,
) -> None:
    """Write a follow-up response (results.csv and signed response.json) to a folder."""
    fu = with_gateway(settings_for(store), lambda gw: gw.follow_up(request_id, seq),
                      audit="review follow-up", target=f"{request_id} follow-up {seq}")
    Gateway.write_follow_up(fu, out_dir)
    out.print(f"follow-up {seq} of {shown(request_id)} written to {shown(out_dir)}")


def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    store: StoreOpt = None,
) -> None:
    """Run the HTTP API for agencies and the web pages for officers and auditors
    (header and keep-alive timeouts, connection and request limits: docs/service.md;
    TLS 1.2+ and mutual TLS with TAXGATE_TLS_CERT, TAXGATE_TLS_KEY, TAXGATE_TLS_CLIENT_CA:
    docs/access.md)."""
    from taxgate.api import create_app, server

    settings = settings_for(store)
    app = run(create_app, settings)
    tls = settings.service.tls_cert is not None
    mutual = " (mutual TLS)" if settings.service.tls_client_ca is not None else ""
    err.print(f"taxgate serving {shown(settings.store)} on {'https' if tls else 'http'}://"
              f"{shown(host)}:{port}{mutual}")
    server.run(app, settings.service, host, port)


def register(app: typer.Typer) -> None:
    app.add_typer(agencies_app, name="agencies")
    app.add_typer(users_app, name="users")
    app.add_typer(review_app, name="review")
    app.command("serve")(serve)
