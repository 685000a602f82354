"""Administrative operations, by name, with plain JSON results: one registry for the
command line and the admin channel of a running service.

Each operation takes the :class:`~taxgate.gateway.Gateway` and keyword arguments and
returns data made of dicts, lists, text, numbers and booleans only, so that the same
result is printed whether the command opened the store itself or a running
``taxgate serve`` ran it (:mod:`taxgate.gateway.channel`). No result holds a secret's
hash or salt, or a taxpayer value. ``AFTER`` names what a service must forget after an
operation (cached credentials, the sessions of a disabled account).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import inspect
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from taxgate.errors import BadInput

if TYPE_CHECKING:
    from taxgate.gateway.accounts import Principal
    from taxgate.gateway.core import Gateway

Op = Callable[..., Any]
OPS: dict[str, Op] = {}
AFTER: dict[str, str] = {}  # operation -> "credentials" or "sessions"


def op(name: str, after: str | None = None) -> Callable[[Op], Op]:
    def register(fn: Op) -> Op:
        OPS[name] = fn
        if after:
            AFTER[name] = after
        return fn
    return register


def plain(obj: Any, drop: tuple[str, ...] = ("salt", "hash", "sealed")) -> Any:
    """``obj`` as JSON data: dataclasses as dicts (without ``drop``), dates as text."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: plain(getattr(obj, f.name)) for f in dataclasses.fields(obj)
                if f.name not in drop}
    if isinstance(obj, list | tuple):
        return [plain(v) for v in obj]
    if isinstance(obj, dict):
        return {str(k): plain(v) for k, v in obj.items()}
    if isinstance(obj, dt.date | Path):
        return str(obj)
    return obj


# --- web accounts --------------------------------------------------------------------------

@op("users.list")
def users_list(gw: Gateway) -> list[dict[str, Any]]:
    with gw.lock() as store:
        return [plain(u) for u in store.users()]


@op("users.add")
def users_add(gw: Gateway, username: str, role: str, password: str,
              agency: str | None = None, *, actor: str) -> None:
    gw.add_user(username, role, password, agency=agency, actor=actor)


@op("users.disable", after="sessions")
def users_disable(gw: Gateway, username: str, actor: str) -> None:
    from taxgate.gateway import accounts

    with gw.lock() as store:
        accounts.set_disabled(store, username, True, actor)


@op("users.enable")
def users_enable(gw: Gateway, username: str, actor: str) -> None:
    from taxgate.gateway import accounts

    with gw.lock() as store:
        accounts.set_disabled(store, username, False, actor)


@op("users.reset", after="sessions")
def users_reset(gw: Gateway, username: str, password: str, actor: str) -> None:
    from taxgate.gateway import accounts

    with gw.lock() as store:
        accounts.reset_password(store, username, password, actor)


@op("users.role", after="sessions")
def users_role(gw: Gateway, username: str, role: str, agency: str | None = None,
               *, actor: str) -> None:
    from taxgate.gateway import accounts

    with gw.lock() as store:
        accounts.change_role(store, username, role, agency, actor)


@op("users.reset_mfa", after="sessions")
def users_reset_mfa(gw: Gateway, username: str, actor: str) -> None:
    gw.reset_mfa(username, actor)


# --- agencies: credentials, safeguards ---------------------------------------------------------

@op("credentials.list")
def credentials_list(gw: Gateway, agency: str | None = None) -> list[dict[str, Any]]:
    with gw.lock() as store:
        return [plain(c) for c in store.api_credentials(agency)]


@op("credentials.rotate", after="credentials")
def credentials_rotate(gw: Gateway, agency: str, actor: str,
                       holder: str | None = None) -> str:
    return gw.issue_credential(agency, actor, holder=holder)


@op("credentials.revoke", after="credentials")
def credentials_revoke(gw: Gateway, cred_id: str, actor: str) -> None:
    from taxgate.gateway import accounts

    with gw.lock() as store:
        accounts.revoke_credential(store, cred_id, actor)


@op("agencies.list")
def agencies_list(gw: Gateway) -> list[dict[str, Any]]:
    """Every agency known (officials, credentials, safeguards): its safeguards status,
    officials and live credentials."""
    with gw.lock() as store:
        officials, creds = store.officials(), store.api_credentials()
        status = {s.agency: s for s in store.safeguards()}
    names = sorted({o.agency for o in officials} | {c.agency for c in creds} | set(status))
    today = dt.date.today()
    return [{"agency": a,
             "safeguards_current": status[a].current if a in status else True,
             "safeguards_changed_at": status[a].changed_at if a in status else None,
             "officials_valid": sum(o.agency == a and o.valid_on(today) for o in officials),
             "credentials_live": sum(c.agency == a and c.revoked_at is None for c in creds)}
            for a in names]


@op("safeguards.show")
def safeguards_show(gw: Gateway, agency: str) -> dict[str, Any]:
    with gw.lock() as store:
        found = store.safeguards(agency)
    if not found:
        return {"agency": agency, "current": True, "changed_at": None, "changed_by": None,
                "note": "never set: current"}
    return plain(found[0])  # type: ignore[no-any-return]


@op("safeguards.set")
def safeguards_set(gw: Gateway, agency: str, current: bool, note: str,
                   actor: str) -> dict[str, Any]:
    from taxgate.identifiers import check_registered_name

    if not note.strip():
        raise BadInput("--note must say why")
    with gw.lock() as store:
        known = {o.agency for o in store.officials()}
        check_registered_name("agency", agency, known)
        if agency not in known:
            raise BadInput(f"agency {agency} has no registered official")
        store.set_safeguards(agency, current, actor, note.strip())
    return safeguards_show(gw, agency)


# --- officials, loads, the ledger, the review desk, the gateway's key --------------------------

@op("officials.list")
def officials_list(gw: Gateway) -> list[dict[str, Any]]:
    return [plain(o, drop=("public_key_pem",)) for o in gw.officials()]


@op("officials.revoke")
def officials_revoke(gw: Gateway, agency: str, official_id: str,
                     actor: str) -> dict[str, Any]:
    last_day = dt.date.today() - dt.timedelta(days=1)
    with gw.lock() as store:
        official = store.revoke_official(agency, official_id, last_day, actor)
    return plain(official, drop=("public_key_pem",))  # type: ignore[no-any-return]


@op("loads.list")
def loads_list(gw: Gateway) -> list[dict[str, Any]]:
    with gw.lock() as store:
        return [plain(ld) for ld in store.loads()]


@op("ledger.verify")
def ledger_verify(gw: Gateway, anchor: str | None = None) -> dict[str, Any]:
    found = gw.verify_ledger(Path(anchor) if anchor else None)
    r = found.report
    return {"entries": r.entries, "checkpoints": r.checkpoints, "last_seq": r.last_seq,
            "last_hash": r.last_hash, "seconds": round(found.seconds, 3),
            "anchor": ({"seq": found.anchor.seq, "at": found.anchor.at}
                       if found.anchor else None),
            "open_failure": gw.open_failure()}


@op("review.queue")
def review_queue(gw: Gateway, include_released: bool = False) -> list[dict[str, Any]]:
    return [plain(e) for e in gw.review_queue(include_released=include_released)]


@op("gateway.key")
def gateway_key(gw: Gateway) -> str:
    return gw.public_key_pem()


@op("officials.add")
def officials_add(gw: Gateway, official_id: str, agency: str, title: str, public_key_pem: str,
                  valid_from: str, valid_to: str | None = None, *, actor: str) -> None:
    from taxgate.domain import Official

    gw.add_official(Official(official_id, agency, title, public_key_pem,
                             dt.date.fromisoformat(valid_from),
                             dt.date.fromisoformat(valid_to) if valid_to else None), actor)


@op("ledger.incident")
def ledger_incident(gw: Gateway, operator: str, note: str) -> dict[str, Any]:
    head = gw.record_incident(operator, note)
    return {"seq": head.seq, "entry_hash": head.entry_hash}


@op("accounting")
def accounting(gw: Gateway, tin: str) -> list[dict[str, Any]]:
    return [plain(d) for d in gw.accounting(tin)]


@op("report.annual")
def report_annual(gw: Gateway, year: int) -> dict[str, Any]:
    r = gw.annual_report(year)
    return {"year": r.year, "rows": plain(r.rows), "by_month": plain(r.by_month)}


@op("load")
def load(gw: Gateway, path: str, force: bool = False, retrain: bool = False
         ) -> dict[str, Any]:
    result = gw.load(Path(path), force=force, retrain=retrain)
    return {"rows": result.rows, "total_filings": result.total_filings,
            "model_version": result.model_version, "model_trained": result.model_trained,
            "seconds": result.timings.stages}


@op("model.train")
def model_train(gw: Gateway) -> dict[str, Any]:
    result = gw.train_model()
    return {"version": result.version, "previous": result.previous,
            "filing_count": result.filing_count, "seconds": result.timings.stages}


@op("model.list")
def model_list(gw: Gateway) -> list[dict[str, Any]]:
    return [plain(m) for m in gw.models()]


def _principal(gw: Gateway, user: str, password: str) -> Principal:
    from taxgate.errors import NotAllowed

    p = gw.check_password(user, password)
    if p is None:
        raise NotAllowed("unknown user or wrong password")
    return p


@op("review.propose")
def review_propose(gw: Gateway, user: str, password: str, request_id: str, row: int,
                   outcome: str, reason: str, note: str | None = None) -> None:
    gw.propose(_principal(gw, user, password), request_id, row, outcome, reason, note)


@op("review.send_back")
def review_send_back(gw: Gateway, user: str, password: str, request_id: str, row: int,
                     proposal: str | None, reason: str, note: str | None = None) -> None:
    gw.send_back(_principal(gw, user, password), request_id, row, proposal, reason, note)


@op("review.release")
def review_release(gw: Gateway, user: str, password: str, request_id: str, row: int,
                   proposal: str | None = None) -> dict[str, Any]:
    return plain(gw.release(_principal(gw, user, password), request_id, row,  # type: ignore[no-any-return]
                            proposal))


@op("operator.action")
def operator_action(gw: Gateway, actor: str, command: str, target: str | None,
                    outcome: str) -> None:
    """An OPERATOR_ACTION for a command this service ran for a command line (R33); none
    while the ledger has a failure no incident has followed."""
    if gw.open_failure() is None:
        gw.record_operator_action(actor, command, target, outcome)


@op("review.follow_up")
def review_follow_up(gw: Gateway, request_id: str, seq: int) -> dict[str, Any]:
    return plain(gw.follow_up(request_id, seq))  # type: ignore[no-any-return]


def run(gw: Gateway, name: str, args: dict[str, Any]) -> Any:
    """Run operation ``name`` on ``gw`` (BadInput for an unknown one or bad arguments)."""
    fn = OPS.get(name)
    if fn is None:
        raise BadInput(f"unknown administrative operation {name}")
    try:
        inspect.signature(fn).bind(gw, **args)
    except TypeError:
        raise BadInput(f"bad arguments for {name}") from None
    return fn(gw, **args)
