"""The one place an error becomes HTTP: its status, code and detail are the ones its
class in the tree of :mod:`taxgate.errors` names; pages outside ``/v1/`` get the web
error page, the API a JSON :class:`~taxgate.api.models.ErrorBody`.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from taxgate.api.models import ErrorBody
from taxgate.errors import BadInput, TaxgateError, classify
from taxgate.untrusted import visible
from taxgate.web.routes import error_page


def error_response(request: Request, exc: Exception) -> Response:
    """Any exception as the HTTP status, code and detail its class in the tree names."""
    kind = classify(exc)
    status = kind.http_status
    detail = visible(exc) if kind.shown else "internal failure; nothing disclosed"
    headers = {"Retry-After": "5"} if status in (429, 503) else {}
    if status == 401:
        headers["WWW-Authenticate"] = "Bearer"
    if not request.url.path.startswith("/v1/"):
        return error_page(request, status, detail, headers, exc)
    return JSONResponse(ErrorBody(error=kind.code, detail=detail).model_dump(),
                        status_code=status, headers=headers)


def install_errors(app: FastAPI) -> None:
    """Route every exception the app can meet through :func:`error_response`."""
    @app.exception_handler(TaxgateError)
    async def _domain(request: Request, exc: TaxgateError) -> Response:
        return error_response(request, exc)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        # never echo the submitted values back (FastAPI's default body would)
        where = "; ".join(".".join(str(p) for p in e.get("loc", ())) for e in exc.errors())
        return error_response(request, BadInput(f"invalid request: {where}"[:300]))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        body = ErrorBody(error=f"HTTP_{exc.status_code}", detail="not found"
                         if exc.status_code == 404 else "request not allowed")
        if not request.url.path.startswith("/v1/") and request.url.path != "/openapi.json":
            return error_page(request, exc.status_code, body.detail, {})
        return JSONResponse(body.model_dump(), status_code=exc.status_code)

    @app.exception_handler(Exception)
    async def _internal(request: Request, exc: Exception) -> Response:
        return error_response(request, exc)
