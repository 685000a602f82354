"""The one place an error becomes HTTP: its status is the one its class in the tree of
:mod:`taxgate.errors` names, its code the one :mod:`taxgate.api.problems` lists for it;
pages outside the API get the web error page, the API RFC 9457 problem details
(``application/problem+json``), with ``Retry-After`` on 409, 429 and 503.
"""

from __future__ import annotations

import http

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from taxgate.api.problems import (
    PROBLEMS,
    RETRY_AFTER,
    Problem,
    body,
    problem_for_status,
    problem_of,
)
from taxgate.errors import BadInput, RequestRefused, TaxgateError, classify
from taxgate.untrusted import visible
from taxgate.web.routes import error_page

PROBLEM_JSON = "application/problem+json"
_API_PATHS = {"/v1", "/openapi.json", "/readyz", "/healthz", "/metrics", "/problems"}


def _is_api(request: Request) -> bool:
    """Answered with problem details (the rest, the web pages, with an error page)."""
    path = request.url.path
    return path.startswith("/v1/") or path in _API_PATHS


def problem_response(problem: Problem, detail: str, headers: dict[str, str] | None = None,
                     **extra: str) -> JSONResponse:
    """The problem-details response of ``problem``, with its Retry-After."""
    headers = dict(headers or {})
    if problem.status in RETRY_AFTER:
        headers.setdefault("Retry-After", RETRY_AFTER[problem.status])
    if problem.status == 401:
        headers["WWW-Authenticate"] = "Bearer"
    return JSONResponse(body(problem, detail, **extra), status_code=problem.status,
                        headers=headers, media_type=PROBLEM_JSON)


def error_response(request: Request, exc: Exception) -> Response:
    """Any exception as the HTTP status, code and detail its class in the tree names."""
    kind = classify(exc)
    detail = visible(exc) if kind.shown else "internal failure; nothing disclosed"
    if not _is_api(request):
        headers = {"Retry-After": "5"} if kind.http_status in (429, 503) else {}
        if kind.http_status == 401:
            headers["WWW-Authenticate"] = "Bearer"
        return error_page(request, kind.http_status, detail, headers, exc)
    problem = problem_of(kind) if kind.shown else PROBLEMS["INTERNAL"]
    extra = {"reason": exc.reason} if isinstance(exc, RequestRefused) else {}
    return problem_response(problem, detail, None, **extra)


def install_errors(app: FastAPI) -> None:
    """Route every exception the app can meet through :func:`error_response`."""
    @app.exception_handler(TaxgateError)
    async def _domain(request: Request, exc: TaxgateError) -> Response:
        return error_response(request, exc)

    @app.exception_handler(Exception)
    async def _any(request: Request, exc: Exception) -> Response:
        return error_response(request, exc)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        # never echo the submitted values back (FastAPI's default body would)
        where = "; ".join(".".join(str(p) for p in e.get("loc", ())) for e in exc.errors())
        return error_response(request, BadInput(f"invalid request: {where}"[:300]))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        problem = problem_for_status(exc.status_code)
        phrase = http.HTTPStatus(exc.status_code).phrase if exc.status_code in \
            http.HTTPStatus._value2member_map_ else ""
        detail = exc.detail if exc.detail and exc.detail != phrase else problem.title.lower()
        if not _is_api(request):
            return error_page(request, exc.status_code, "not found" if exc.status_code == 404
                              else "request not allowed", {})
        return problem_response(problem, str(detail)[:300], dict(exc.headers or {}))
