"""Server-rendered pages for disclosure officers and auditors (no JavaScript build).

Sign-in with a web account (one role each), the review desk (queue, one record
beside its candidates, propose, release) and the oversight page. Every POST form
carries the session's CSRF token; sessions expire when idle; failed sign-ins lock
the account and slow (never lock) the address (:class:`SignInThrottle`). Routes call
the app's one :class:`~taxgate.gateway.Gateway` only.
"""

from __future__ import annotations

import hmac
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Form, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, PackageLoader, select_autoescape

from taxgate.errors import LoginRequired, NotAllowed
from taxgate.gateway import Gateway
from taxgate.gateway.accounts import Principal, SignInThrottle
from taxgate.gateway.oversight import bars
from taxgate.gateway.review import FINAL
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


# --- review desk -------------------------------------------------------------------------------


@router.get("/review")
def review_queue(request: Request, s: SessionDep) -> Response:
    _role(s, "reviewer", "releaser")
    with _locked(request):
        entries = _gateway(request).review_queue()
    return render(request, "review_queue.html", entries=entries)


@router.get("/review/item")
def review_item(request: Request, s: SessionDep, request_id: str, row: int) -> Response:
    p = _role(s, "reviewer", "releaser")
    with _locked(request):
        view = _gateway(request).view_item(p, request_id, row)
    return render(request, "review_item.html", v=view, finals=FINAL)


@router.post("/review/propose")
def review_propose(request: Request, s: SessionDep,
                   request_id: Annotated[str, Form(max_length=200)],
                   row: Annotated[int, Form()],
                   outcome: Annotated[str, Form(max_length=20)],
                   reason: Annotated[str, Form(max_length=2000)],
                   csrf: Annotated[str, Form(max_length=100)]) -> Response:
    _check_csrf(s, csrf)
    p = _role(s, "reviewer")
    with _locked(request):
        _gateway(request).propose(p, request_id, row, outcome, reason)
    return RedirectResponse("/review", status_code=303)


@router.post("/review/release")
def review_release(request: Request, s: SessionDep,
                   request_id: Annotated[str, Form(max_length=200)],
                   row: Annotated[int, Form()],
                   proposal: Annotated[str, Form(max_length=100)],
                   csrf: Annotated[str, Form(max_length=100)]) -> Response:
    """Release the proposal the page showed (its digest in ``proposal``), no other."""
    _check_csrf(s, csrf)
    p = _role(s, "releaser")
    with _locked(request):
        fu = _gateway(request).release(p, request_id, row, proposal)
    return render(request, "released.html", fu=fu)


# --- oversight ---------------------------------------------------------------------------------


@router.get("/oversight")
def oversight_page(request: Request, s: SessionDep) -> Response:
    _role(s, "auditor")
    with _locked(request):
        o = _gateway(request).oversight(viewer=s.principal.name)
    charts = [
        bars(o.disclosures_per_day, "disclosures per day"),
        bars(dict(o.per_official.most_common(20)), "requests per signing official"),
        bars(dict(o.per_officer.most_common(20)), "disclosures per named officer"),
        bars(dict(o.per_disclosure_officer.most_common(20)),
                       "review decisions per disclosure officer"),
        bars(dict(o.rejection_reasons.most_common(20)), "rejections per reason code"),
    ]
    return render(request, "oversight.html", o=o, charts=charts)


