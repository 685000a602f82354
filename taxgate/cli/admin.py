"""Administration: web accounts, agencies' credentials and safeguards, officials'
revocation, loads, the model's versions. Each command runs one operation of
:mod:`taxgate.gateway.admin`, on the store itself or, when a running ``taxgate serve``
holds the embedded store, through that service's admin channel
(:mod:`taxgate.gateway.channel`). Every change is logged in the ledger (R33).
"""

from __future__ import annotations

import secrets
import sys
from enum import StrEnum
from typing import Annotated

import typer

from taxgate.cli._common import (
    JsonOpt,
    StoreOpt,
    admin_call,
    err,
    operator,
    out,
    print_json,
    print_rows,
    print_timings,
    settings_for,
)
from taxgate.cli.service import read_password
from taxgate.untrusted import for_terminal as shown

users_app = typer.Typer(help="Web accounts of disclosure officers, auditors and agencies: "
                        "add, list, disable, enable, reset, role.", no_args_is_help=True)
agencies_app = typer.Typer(help="Agencies: their API credentials (salted hashes only) and "
                           "safeguards status (R7).", no_args_is_help=True)
loads_app = typer.Typer(help="Loads of taxpayer filings.", no_args_is_help=True)
model_app = typer.Typer(help="The person-match model: train a new version, list versions.",
                        no_args_is_help=True)

ActorOpt = Annotated[str | None, typer.Option(
    help="Who makes the change (for the ledger); default: the operator of `taxgate`.")]
HolderOpt = Annotated[str | None, typer.Option(
    "--holder", help="The person it is issued to, as requests name them (an officer id): "
    "only a named recipient downloads results (R4).")]


class Role(StrEnum):
    reviewer = "reviewer"
    releaser = "releaser"
    auditor = "auditor"
    agency = "agency"


class Safeguards(StrEnum):
    current = "current"
    lapsed = "lapsed"


_USER_COLUMNS = {"username": "user", "role": "role", "agency": "agency",
                 "created_at": "created", "disabled_at": "disabled"}


def _done(as_json: bool, message: str, **data: object) -> None:
    if as_json:
        print_json({"ok": True, **data})
    else:
        out.print(message)


# --- users ----------------------------------------------------------------------------------

@users_app.command("add")
def users_add(
    username: Annotated[str, typer.Argument(help="The person's unique user name.")],
    role: Annotated[Role, typer.Option(help="The account's one role (R36).")],
    agency: Annotated[str | None, typer.Option(help="For role agency: which agency.")] = None,
    generate: Annotated[bool, typer.Option(
        "--generate", help="Generate a password and print it once, instead of reading stdin."
    )] = False,
    actor: ActorOpt = None, store: StoreOpt = None, as_json: JsonOpt = False,
) -> None:
    """Create a web account; refused (exit 3) when the name is taken: `users reset` gives
    a new password, `users role` another role. The password comes from stdin, or is
    generated with --generate. Logged in the ledger (R33)."""
    password = secrets.token_urlsafe(18) if generate else read_password(username)
    admin_call(settings_for(store), "users.add", username=username, role=role.value,
               password=password, agency=agency, actor=actor or operator(),
               audit="users add", target=f"{username} ({role.value})")
    _done(as_json, f"user {shown(username)} ({role.value}) added", username=username,
          **({"password": password} if generate else {}))
    if generate and not as_json:
        sys.stdout.write(password + "\n")


@users_app.command("list")
def users_list(store: StoreOpt = None, as_json: JsonOpt = False) -> None:
    """List web accounts: role, agency, created, disabled (never a password hash)."""
    print_rows(admin_call(settings_for(store), "users.list"), _USER_COLUMNS, as_json)


@users_app.command("disable")
def users_disable(username: Annotated[str, typer.Argument()], actor: ActorOpt = None,
                  store: StoreOpt = None, as_json: JsonOpt = False) -> None:
    """Disable an account: it cannot sign in, and a running service ends its sessions."""
    admin_call(settings_for(store), "users.disable", username=username,
               actor=actor or operator(), audit="users disable", target=username)
    _done(as_json, f"user {shown(username)} disabled", username=username)


@users_app.command("enable")
def users_enable(username: Annotated[str, typer.Argument()], actor: ActorOpt = None,
                 store: StoreOpt = None, as_json: JsonOpt = False) -> None:
    """Enable a disabled account again."""
    admin_call(settings_for(store), "users.enable", username=username,
               actor=actor or operator(), audit="users enable", target=username)
    _done(as_json, f"user {shown(username)} enabled", username=username)


@users_app.command("reset")
def users_reset(
    username: Annotated[str, typer.Argument()],
    generate: Annotated[bool, typer.Option(
        "--generate", help="Generate the new password and print it once.")] = False,
    actor: ActorOpt = None, store: StoreOpt = None, as_json: JsonOpt = False,
) -> None:
    """Give an account a new password (stdin, or --generate); its sessions end."""
    password = secrets.token_urlsafe(18) if generate else read_password(username)
    admin_call(settings_for(store), "users.reset", username=username, password=password,
               actor=actor or operator(), audit="users reset", target=username)
    _done(as_json, f"user {shown(username)}: new password set", username=username,
          **({"password": password} if generate else {}))
    if generate and not as_json:
        sys.stdout.write(password + "\n")


@users_app.command("role")
def users_role(
    username: Annotated[str, typer.Argument()],
    role: Annotated[Role, typer.Option(help="The new role.")],
    agency: Annotated[str | None, typer.Option(help="For role agency: which agency.")] = None,
    actor: ActorOpt = None, store: StoreOpt = None, as_json: JsonOpt = False,
) -> None:
    """Give an account another role (logged as USER_CHANGED); its sessions end."""
    admin_call(settings_for(store), "users.role", username=username, role=role.value,
               agency=agency, actor=actor or operator(), audit="users role",
               target=f"{username} ({role.value})")
    _done(as_json, f"user {shown(username)} is now {role.value}", username=username)


@users_app.command("reset-mfa")
def users_reset_mfa(
    username: Annotated[str, typer.Argument(help="The account whose second factor is lost.")],
    actor: ActorOpt = None, store: StoreOpt = None, as_json: JsonOpt = False,
) -> None:
    """Remove an account's second factor (a lost device): it enrols a new one at its next
    sign-in (R36). Logged in the ledger (MFA_CHANGED, with the operator)."""
    admin_call(settings_for(store), "users.reset_mfa", username=username,
               actor=actor or operator(), audit="users reset-mfa", target=username)
    _done(as_json, f"second factor of {shown(username)} removed; it enrols again at sign-in",
          username=username)


# --- agencies -------------------------------------------------------------------------------

@agencies_app.command("list")
def agencies_list(store: StoreOpt = None, as_json: JsonOpt = False) -> None:
    """Agencies known to the gateway: safeguards status, valid officials, live credentials."""
    print_rows(admin_call(settings_for(store), "agencies.list"), {
        "agency": "agency", "safeguards_current": "safeguards current",
        "safeguards_changed_at": "set at", "officials_valid": "officials valid today",
        "credentials_live": "live credentials"}, as_json)


@agencies_app.command("rotate")
def agencies_rotate(
    agency: Annotated[str, typer.Argument(help="The agency, as in manifests (e.g. DHS-ICE).")],
    holder: HolderOpt = None,
    actor: ActorOpt = None, store: StoreOpt = None, as_json: JsonOpt = False,
) -> None:
    """Issue a new API credential for an agency, or for one person of it (printed once),
    and revoke the earlier ones of that agency or person."""
    token = admin_call(settings_for(store), "credentials.rotate", agency=agency,
                       holder=holder, actor=actor or operator(), audit="agencies rotate",
                       target=agency + (f" for {holder}" if holder else ""))
    if as_json:
        print_json({"agency": agency, "credential": token})
        return
    err.print(f"new API credential for {shown(agency)} (shown once; earlier ones are revoked):")
    sys.stdout.write(token + "\n")


agencies_app.command("credential", hidden=True)(agencies_rotate)  # the earlier name


@agencies_app.command("credentials")
def agencies_credentials(
    agency: Annotated[str | None, typer.Option(help="Only this agency's.")] = None,
    store: StoreOpt = None, as_json: JsonOpt = False,
) -> None:
    """List API credentials, live and revoked (ids only: a secret is never stored)."""
    print_rows(admin_call(settings_for(store), "credentials.list", agency=agency), {
        "cred_id": "credential id", "agency": "agency", "created_at": "issued",
        "revoked_at": "revoked"}, as_json)


@agencies_app.command("revoke")
def agencies_revoke(
    cred_id: Annotated[str, typer.Argument(help="The credential id (`agencies credentials`).")],
    actor: ActorOpt = None, store: StoreOpt = None, as_json: JsonOpt = False,
) -> None:
    """Revoke one API credential now (a running service stops accepting it at once)."""
    admin_call(settings_for(store), "credentials.revoke", cred_id=cred_id,
               actor=actor or operator(), audit="agencies revoke", target=cred_id)
    _done(as_json, f"credential {shown(cred_id)} revoked", cred_id=cred_id)


@agencies_app.command("safeguards")
def agencies_safeguards(
    agency: Annotated[str, typer.Argument()],
    set_: Annotated[Safeguards | None, typer.Option(
        "--set", help="Set the status: current, or lapsed (its requests are refused, R7).")
    ] = None,
    note: Annotated[str | None, typer.Option(help="Why (required with --set).")] = None,
    actor: ActorOpt = None, store: StoreOpt = None, as_json: JsonOpt = False,
) -> None:
    """Show an agency's 6103(p)(4) safeguards status, or set it with --set (R7)."""
    settings = settings_for(store)
    if set_ is None:
        got = admin_call(settings, "safeguards.show", agency=agency)
    else:
        got = admin_call(settings, "safeguards.set", agency=agency,
                         current=set_ is Safeguards.current, note=note or "",
                         actor=actor or operator(), audit="agencies safeguards",
                         target=agency)
    if as_json:
        print_json(got)
        return
    state = "current" if got["current"] else "LAPSED"
    out.print(f"{shown(agency)}: safeguards {state}"
              + (f" (set {shown(got['changed_at'])} by {shown(got['changed_by'])}: "
                 f"{shown(got['note'])})" if got["changed_at"] else " (never set)"))


# --- officials and loads --------------------------------------------------------------------

def officials_revoke(
    official_id: Annotated[str, typer.Argument(help="The official's id.")],
    agency: Annotated[str, typer.Option(help="The agency they were registered for.")],
    actor: ActorOpt = None, store: StoreOpt = None, as_json: JsonOpt = False,
) -> None:
    """Revoke an official's authority to sign: valid to yesterday, so nothing they signed
    is received from now on (R1, R2); logged."""
    got = admin_call(settings_for(store), "officials.revoke", agency=agency,
                     official_id=official_id, actor=actor or operator(),
                     audit="officials revoke", target=f"{official_id} for {agency}")
    _done(as_json, f"official {shown(official_id)} of {shown(agency)} revoked (valid to "
          f"{got['valid_to']})", official=got)


@loads_app.command("list")
def loads_list(store: StoreOpt = None, as_json: JsonOpt = False) -> None:
    """List loads of filings: when, how many, and the file's name and sha256."""
    print_rows(admin_call(settings_for(store), "loads.list"), {
        "load_id": "load", "loaded_at": "loaded", "row_count": "filings",
        "source": "file", "sha256": "sha256"}, as_json)


# --- the model ------------------------------------------------------------------------------

@model_app.command("train")
def model_train(store: StoreOpt = None, as_json: JsonOpt = False) -> None:
    """Train the person-match model on every stored filing and make it the one in force:
    a new version when the filings changed, the same version for the same filings. The
    next decisions record it. Exit 5 when no filings are loaded. Logged (MODEL_TRAINED,
    and the operator's action, R33)."""
    got = admin_call(settings_for(store), "model.train", audit="model train")
    if as_json:
        print_json(got)
        return
    before = got["previous"] or "none"
    same = " (unchanged: the same filings give the same model)" if got["previous"] == \
        got["version"] else ""
    out.print(f"model {got['version']} trained on {got['filing_count']:,} filings and in "
              f"force; before: {before}{same}")
    print_timings(got["seconds"])


@model_app.command("list")
def model_list(store: StoreOpt = None, as_json: JsonOpt = False) -> None:
    """Stored model versions, the one in force first: when trained, on how many filings
    (blank for a model stored before that was recorded)."""
    rows = admin_call(settings_for(store), "model.list")
    if not as_json:
        rows = [{**r, "in_force": "yes" if r["current"] else ""} for r in rows]
    print_rows(rows, {"version": "version", "trained_at": "trained",
                      "filing_count": "filings", "in_force": "in force"}, as_json)


def register(app: typer.Typer, officials_app: typer.Typer) -> None:
    app.add_typer(users_app, name="users")
    app.add_typer(agencies_app, name="agencies")
    app.add_typer(loads_app, name="loads")
    app.add_typer(model_app, name="model")
    officials_app.command("revoke")(officials_revoke)
