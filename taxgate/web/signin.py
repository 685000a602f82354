"""Signing in and out of the web pages: the password, then the second factor (R36).

``POST /login`` checks the password and opens a pending sign-in (``Sessions.begin``);
``/login/second-factor`` asks for the TOTP code (or a recovery code) of an enrolled
account, or enrols one that has none (a new secret shown once, proven by a code, then
the recovery codes shown once). Only then is a session opened. Failed passwords and
failed codes count alike against the account (:class:`SignInThrottle`); every outcome
is a SIGN_IN ledger event (R33), the second factor's failures as SECOND_FACTOR_FAILURE.
"""

from __future__ import annotations

import asyncio
import hmac
import secrets
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from taxgate.errors import BadInput, NotAllowed, TooMany
from taxgate.gateway.accounts import Principal
from taxgate.web.routes import (
    SessionDep,
    _check_csrf,
    _cookie,
    _gateway,
    _locked,
    _sessions,
    render,
)
from taxgate.web.session import COOKIE, LOGIN_COOKIE, PENDING_COOKIE, Pending

router = APIRouter(include_in_schema=False)


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


@router.get("/login")
def login_form(request: Request) -> Response:
    token = secrets.token_urlsafe(24)
    resp = render(request, "login.html", login_csrf=token, message="")
    _cookie(resp, request, LOGIN_COOKIE, _sessions(request).sign(token))
    return resp


@router.post("/login")
async def login(request: Request, username: Annotated[str, Form(max_length=100)],
                password: Annotated[str, Form(max_length=200)],
                csrf: Annotated[str, Form(max_length=100)]) -> Response:
    """The first step: the password. Success opens a pending sign-in, not a session."""
    sessions, throttle = _sessions(request), request.app.state.throttle
    expected = sessions.unsign(request.cookies.get(LOGIN_COOKIE))
    if expected is None or not hmac.compare_digest(expected.encode(), csrf.encode()):
        raise NotAllowed("the sign-in form has expired; reload it")
    client = _client(request)
    if throttle.locked(username):  # this account only; others behind the address go on
        await run_in_threadpool(_log_sign_in, request, username, client, "RATE_LIMITED")
        raise TooMany("too many failed sign-ins for this account; wait a few minutes")
    await asyncio.sleep(throttle.delay(client))  # an address with many failures: slowed

    def check() -> Principal | None:
        with _locked(request):
            return _gateway(request).check_password(username, password)

    principal = await run_in_threadpool(check)
    if principal is None:
        throttle.failed(username, client)
        await run_in_threadpool(_log_sign_in, request, username, client, "FAILURE")
        return render(request, "login.html", status=401, login_csrf=csrf,
                      message="Unknown user or wrong password.")
    resp = RedirectResponse("/login/second-factor", status_code=303)
    _cookie(resp, request, PENDING_COOKIE, sessions.begin(principal))
    resp.delete_cookie(LOGIN_COOKIE, path="/")
    return resp


def _pending(request: Request) -> Pending | None:
    return _sessions(request).pending(request.cookies.get(PENDING_COOKIE))


def _step_page(request: Request, p: Pending, status: int = 200, message: str = "") -> Response:
    """The code form: enrolment (a new secret shown) or the enrolled account's code."""
    gw = _gateway(request)
    with _locked(request):
        enrolled = gw.mfa_enrolled(p.principal.name)
    if enrolled:
        return render(request, "login_code.html", status=status, pending=p, message=message)
    if p.secret is None:
        p.secret = gw.new_mfa_secret()
    return render(request, "login_enrol.html", status=status, pending=p, message=message,
                  secret=p.secret, uri=gw.mfa_uri(p.secret, p.principal.name))


@router.get("/login/second-factor")
def second_factor_form(request: Request) -> Response:
    p = _pending(request)
    if p is None:
        return RedirectResponse("/login", status_code=303)
    return _step_page(request, p)


@router.post("/login/second-factor")
async def second_factor(request: Request, code: Annotated[str, Form(max_length=40)],
                        csrf: Annotated[str, Form(max_length=100)]) -> Response:
    """The second step: a TOTP or recovery code (or, enrolling, a code of the new
    secret). Only a correct code opens the session."""
    p = _pending(request)
    if p is None:
        return RedirectResponse("/login", status_code=303)
    if not hmac.compare_digest(p.csrf.encode(), csrf.encode("utf-8", "replace")):
        raise NotAllowed("the form has expired or did not come from this site; reload it")
    throttle, name, client = request.app.state.throttle, p.principal.name, _client(request)
    if throttle.locked(name):
        await run_in_threadpool(_log_sign_in, request, name, client, "RATE_LIMITED")
        raise TooMany("too many failed sign-ins for this account; wait a few minutes")

    def check() -> tuple[bool, list[str]]:
        gw = _gateway(request)
        with _locked(request):
            if p.secret is not None and not gw.mfa_enrolled(name):
                try:
                    return True, gw.enrol_mfa(name, p.secret, code)
                except BadInput:
                    return False, []
            return gw.check_second_factor(name, code), []

    ok, recovery = await run_in_threadpool(check)
    if not ok:
        throttle.failed(name, client)
        await run_in_threadpool(_log_sign_in, request, name, client, "SECOND_FACTOR_FAILURE")
        return _step_page(request, p, 401, "That code is not right; try the next one.")
    throttle.succeeded(name)
    await run_in_threadpool(_log_sign_in, request, name, client, "SUCCESS")
    cookie = _sessions(request).finish(request.cookies.get(PENDING_COOKIE))
    resp: Response = (render(request, "login_recovery.html", codes=recovery) if recovery
                      else RedirectResponse("/", status_code=303))
    if cookie is not None:
        _cookie(resp, request, COOKIE, cookie)
    resp.delete_cookie(PENDING_COOKIE, path="/")
    return resp


def _log_sign_in(request: Request, username: str, client: str, outcome: str) -> None:
    """R33: every sign-in, success or failure, is an audit event."""
    with _locked(request):
        _gateway(request).record_sign_in(username, outcome, client)


@router.post("/logout")
def logout(request: Request, s: SessionDep, csrf: Annotated[str, Form(max_length=100)]
           ) -> Response:
    _check_csrf(s, csrf)
    p = _sessions(request).end(request.cookies.get(COOKIE))
    if p is not None:
        with _locked(request):
            _gateway(request).record_sign_out(p.name)
    resp = RedirectResponse("/login", status_code=303)
    resp.delete_cookie(COOKIE, path="/")
    return resp
