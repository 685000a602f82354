"""The app: the API under ``/v1``, the web pages, their security headers, and the one
Gateway whose job worker and store start and close with the app's lifespan."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from taxgate import __version__
from taxgate.api.http_errors import install_errors
from taxgate.api.metrics import Metrics, install_metrics
from taxgate.api.openapi import install_openapi
from taxgate.api.ops import ops
from taxgate.api.routes import api
from taxgate.gateway import Gateway
from taxgate.gateway.accounts import ApiAccess
from taxgate.settings import Settings
from taxgate.web.audit import audit_router
from taxgate.web.desk import desk_router
from taxgate.web.routes import install_web
from taxgate.web.routes import router as web_router
from taxgate.web.signin import router as signin_router

_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self'; "
                               "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "Cross-Origin-Opener-Policy": "same-origin",
}


def create_app(settings: Settings) -> FastAPI:
    """The whole service: API under /v1, web pages for officers and auditors."""
    gateway = Gateway(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await run_in_threadpool(gateway.jobs.start)
        try:
            yield
        finally:
            await run_in_threadpool(gateway.close)  # the job worker, then the store

    app = FastAPI(title="taxgate", version=__version__, lifespan=lifespan, docs_url=None,
                  redoc_url=None)
    install_openapi(app)  # the integration guide, problem details, the bearer scheme
    app.state.gateway = gateway
    app.state.metrics = Metrics()
    app.state.api_access = ApiAccess(gateway)
    install_web(app, settings)

    @app.middleware("http")
    async def security_headers(request: Request, call_next: Any) -> Response:
        response: Response = await call_next(request)
        for k, v in _HEADERS.items():
            response.headers.setdefault(k, v)
        return response

    install_metrics(app, app.state.metrics)
    install_errors(app)
    app.include_router(ops)
    app.include_router(api)
    app.include_router(web_router)
    app.include_router(desk_router)
    app.include_router(audit_router)
    app.include_router(signin_router)
    return app
