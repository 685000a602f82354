"""Commands of the service: the review desk and serve.

The review commands run in a running service when it holds the embedded store (its
admin channel, taxgate/gateway/channel.py); a PostgreSQL store is shared by every
process.
"""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from types import SimpleNamespace
from typing import Annotated

import typer
from rich.table import Table

from taxgate.cli._common import (
    JsonOpt,
    StoreOpt,
    admin_call,
    err,
    out,
    print_json,
    run,
    settings_for,
)
from taxgate.errors import BadInput
from taxgate.gateway import Gateway
from taxgate.untrusted import for_terminal as shown

review_app = typer.Typer(help="The review desk: REVIEW records, two-person decisions, "
                         "follow-up responses (R23, R36).", no_args_is_help=True)


class Outcome(StrEnum):
    CONFIRMED = "CONFIRMED"
    NOT_CONFIRMED = "NOT_CONFIRMED"


def read_password(prompt_name: str) -> str:
    """One line from stdin (never an argument: it would land in shell history)."""
    if sys.stdin.isatty():
        return typer.prompt(f"password for {prompt_name}", hide_input=True)
    line = sys.stdin.readline().rstrip("\r\n")
    if not line:
        run(lambda: (_ for _ in ()).throw(BadInput("no password on stdin")))
    return line


@review_app.command("queue")
def review_queue(
    all_: Annotated[bool, typer.Option("--all", help="Include released records.")] = False,
    store: StoreOpt = None, as_json: JsonOpt = False,
) -> None:
    """List REVIEW records held for disclosure officers and their state."""
    rows = admin_call(settings_for(store), "review.queue", include_released=all_)
    if as_json:
        print_json(rows)
        return
    entries = [SimpleNamespace(**r) for r in rows]
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
    outcome: Annotated[Outcome, typer.Option(help="The final outcome.")],
    reason: Annotated[str, typer.Option(help="A reason code for the outcome "
                                        "(docs/review-reasons.md, \"Officers' reasons\").")],
    user: Annotated[str, typer.Option("--user", help="Your user name (role reviewer); "
                                      "the password is read from stdin.")],
    note: Annotated[str | None, typer.Option(help="An optional note, at most 300 "
                                             "characters, with no taxpayer value (refused "
                                             "otherwise).")] = None,
    store: StoreOpt = None,
) -> None:
    """Propose the final outcome of a REVIEW record (role reviewer), with a reason code
    and an optional note screened of taxpayer values."""
    password = read_password(user)
    admin_call(settings_for(store), "review.propose", user=user, password=password,
               request_id=request_id, row=row, outcome=outcome.value, reason=reason,
               note=note, audit="review propose",
               target=f"{request_id} row {row} by {user}")
    out.print(f"proposed {outcome.value} for row {row} of {shown(request_id)}; "
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
    store: StoreOpt = None, as_json: JsonOpt = False,
) -> None:
    """Release a proposed decision (role releaser, another person): logs it, and the
    follow-up response for the agency is signed."""
    password = read_password(user)
    from taxgate.domain import FollowUp  # imported on use, as each command's work

    fu = FollowUp(**admin_call(settings_for(store), "review.release", user=user,
                               password=password, request_id=request_id, row=row,
                               proposal=proposal, audit="review release",
                               target=f"{request_id} row {row} by {user}"))
    if out_dir is not None:
        Gateway.write_follow_up(fu, out_dir)
    if as_json:
        print_json({"request_id": request_id, "follow_up_seq": fu.seq})
        return
    out.print(f"released: follow-up response {fu.seq} of {shown(request_id)}")


@review_app.command("send-back")
def review_send_back(
    request_id: Annotated[str, typer.Argument()],
    row: Annotated[int, typer.Argument(help="The record's row number in the request.")],
    reason: Annotated[str, typer.Option(help="A send-back reason code "
                                        "(docs/review-reasons.md).")],
    user: Annotated[str, typer.Option("--user", help="Your user name (role releaser, not "
                                      "the proposer); the password is read from stdin.")],
    proposal: Annotated[str | None, typer.Option(
        "--proposal", help="The proposal's digest as `review queue` showed it.")] = None,
    note: Annotated[str | None, typer.Option(help="An optional note, screened of taxpayer "
                                             "values.")] = None,
    store: StoreOpt = None,
) -> None:
    """Send a proposal back to the reviewers instead of releasing it (role releaser):
    the record is open again; logged (REVIEW_SENT_BACK)."""
    password = read_password(user)
    admin_call(settings_for(store), "review.send_back", user=user, password=password,
               request_id=request_id, row=row, proposal=proposal, reason=reason, note=note,
               audit="review send-back", target=f"{request_id} row {row} by {user}")
    out.print(f"sent back row {row} of {shown(request_id)}; it is open for review again")


@review_app.command("follow-up")
def review_follow_up(
    request_id: Annotated[str, typer.Argument()],
    seq: Annotated[int, typer.Argument(help="Follow-up number (1, 2, ...).")],
    out_dir: Annotated[Path, typer.Option("--out", help="Folder for the response package.")],
    store: StoreOpt = None,
) -> None:
    """Write a follow-up response (results.csv and signed response.json) to a folder."""
    from taxgate.domain import FollowUp  # imported on use, as each command's work

    fu = FollowUp(**admin_call(settings_for(store), "review.follow_up", request_id=request_id,
                               seq=seq, audit="review follow-up",
                               target=f"{request_id} follow-up {seq}"))
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
    from taxgate.gateway import channel

    settings = settings_for(store)
    app = run(create_app, settings)
    served: object = app
    if not settings.is_postgres:  # a PostgreSQL store is shared: commands open it directly
        gateway, hooks = app.state.gateway, {"credentials": app.state.api_access.forget,
                                             "sessions": app.state.sessions.end_user}
        served = channel.AdminAlongside(app, lambda: channel.serving(gateway, hooks))
    tls = settings.service.tls_cert is not None
    mutual = " (mutual TLS)" if settings.service.tls_client_ca is not None else ""
    err.print(f"taxgate serving {shown(settings.store)} on {'https' if tls else 'http'}://"
              f"{shown(host)}:{port}{mutual}")
    server.run(served, settings.service, host, port)


def register(app: typer.Typer) -> None:
    app.add_typer(review_app, name="review")
    app.command("serve")(serve)
