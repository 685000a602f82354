"""Server-rendered pages for disclosure officers and auditors (no JavaScript build).

Sign-in with a web account (one role each) and the helpers every page uses; the review
desk is :mod:`taxgate.web.desk`, the auditors' pages :mod:`taxgate.web.audit`. Every
POST form carries the session's CSRF token; sessions expire when idle; failed sign-ins
lock the account and slow (never lock) the address (:class:`SignInThrottle`). Routes
call the app's one :class:`~taxgate.gateway.Gateway` only.
"""

from __future__ import annotations

import hmac
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, PackageLoader, select_autoescape

from taxgate.errors import LoginRequired, NotAllowed
from taxgate.gateway import Gateway
from taxgate.gateway.accounts import Principal, SignInThrottle
from taxgate.settings import Settings
from taxgate.untrusted import for_html
from taxgate.web.session import COOKIE, Session, Sessions

router = APIRouter(include_in_schema=False)
_STATIC = Path(__file__).parent / "static"


# every template autoescapes; every value is made visible first (R37)
TEMPLATES = Environment(loader=PackageLoader("taxgate.web", "templates"),
                        autoescape=select_autoescape(["html"], default=True),
                        finalize=for_html)


def install_web(app: FastAPI, settings: Settings) -> None:
    """The web pages' own state on ``app``: sessions and the sign-in throttle."""
    service = settings.service
    app.state.sessions = Sessions(service.session_idle_minutes * 60)
    app.state.throttle = SignInThrottle(service.login_failures,
                                        service.login_address_failures,
                                        service.login_window_seconds)


def _sessions(request: Request) -> Sessions:
    return request.app.state.sessions  # type: ignore[no-any-return]


def _gateway(request: Request) -> Gateway:
    return request.app.state.gateway  # type: ignore[no-any-return]


def render(request: Request, template: str, status: int = 200, **ctx: Any) -> HTMLResponse:
    session = _sessions(request).get(request.cookies.get(COOKIE))
    html = TEMPLATES.get_template(template).render(
        user=session.principal if session else None, csrf=session.csrf if session else "", **ctx)
    return HTMLResponse(html, status_code=status)


def error_page(request: Request, status: int, detail: str, headers: dict[str, str],
               exc: Exception | None = None) -> Response:
    if isinstance(exc, LoginRequired):
        return RedirectResponse("/login", status_code=303)
    resp = render(request, "error.html", status=status, status_code=status, detail=detail)
    resp.headers.update(headers)
    return resp


def _session(request: Request) -> Session:
    s = _sessions(request).get(request.cookies.get(COOKIE))
    if s is None:
        raise LoginRequired("sign in first")
    return s


SessionDep = Annotated[Session, Depends(_session)]


def _role(s: Session, *roles: str) -> Principal:
    if s.principal.role not in roles:
        raise NotAllowed(f"this page is for the role {' or '.join(roles)}")
    return s.principal


def _check_csrf(s: Session, token: str) -> None:
    if not hmac.compare_digest(s.csrf.encode(), token.encode("utf-8", "replace")):
        raise NotAllowed("the form has expired or did not come from this site; reload it")


def _locked(request: Request) -> Any:
    """The gateway held for this page, or StoreBusy after 30 s (a long job runs)."""
    return _gateway(request).lock(timeout=30)


def _cookie(resp: Response, request: Request, name: str, value: str) -> None:
    service = _gateway(request).settings.service
    resp.set_cookie(name, value, httponly=True, samesite="strict", path="/",
                    secure=service.secure_cookies or service.tls_cert is not None)


# --- sign in / out -----------------------------------------------------------------------------


@router.get("/static/style.css")
def style() -> FileResponse:
    return FileResponse(_STATIC / "style.css", media_type="text/css")


@router.get("/")
def home(request: Request) -> Response:
    s = _sessions(request).get(request.cookies.get(COOKIE))
    if s is None:
        return RedirectResponse("/login", status_code=303)
    target = {"reviewer": "/review", "releaser": "/review", "auditor": "/oversight"}
    return RedirectResponse(target.get(s.principal.role, "/account"), status_code=303)


@router.get("/account")
def account(request: Request, s: SessionDep) -> Response:
    return render(request, "account.html")
