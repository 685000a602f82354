"""The routes for operators and for every agency without a credential: liveness
(``/healthz``), readiness (``/readyz``), Prometheus metrics (``/metrics``), the list of
error codes (``/problems``) and the gateway's public key (``/v1/gateway-key``, PEM, and
``/v1/gateway-key.jwk``, RFC 8037 JWK), which verifies every response.json.
"""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from starlette.concurrency import run_in_threadpool

from taxgate.api.access import GatewayDep
from taxgate.api.http_errors import problem_response
from taxgate.api.metrics import MEDIA_TYPE
from taxgate.api.problems import PROBLEMS, render_html
from taxgate.errors import StoreBusy, TaxgateError
from taxgate.gateway import Gateway

READY_WAIT_S = 2.0  # readiness waits this long for the store
_SPKI_ED25519 = bytes.fromhex("302a300506032b6570032100")  # DER prefix of an Ed25519 key

ops = APIRouter(tags=["operations"])


@ops.get("/healthz", responses={200: {"content": {"application/json": {"example": {
    "status": "alive"}}}}})
def healthz() -> dict[str, str]:
    """Liveness: the process answers (touches nothing else)."""
    return {"status": "alive"}


def _ready(gw: Gateway) -> dict[str, str]:
    """Ready when the store answers within READY_WAIT_S, or is held by the worker for a
    running job (uploads and polls are still served); not when something else holds it
    or the worker has stopped."""
    worker = gw.jobs._thread  # noqa: SLF001 - started by the app's lifespan
    if worker is not None and not worker.is_alive():
        raise StoreBusy("the job worker has stopped")
    try:
        with gw.lock(timeout=READY_WAIT_S) as store:
            store.filing_count()
    except StoreBusy:
        if gw.jobs.running is None:
            raise
        return {"status": "ready", "store": "busy with a job"}
    return {"status": "ready", "store": "reachable"}


@ops.get("/readyz", responses={503: {}})
async def readyz(gw: GatewayDep) -> Response:
    """Readiness: the store is reachable and not held by anything but a running job;
    else 503 `NOT_READY` with Retry-After."""
    try:
        return JSONResponse(await run_in_threadpool(_ready, gw))
    except TaxgateError:
        return problem_response(PROBLEMS["NOT_READY"], "the store is not reachable now")


@ops.get("/metrics", response_class=PlainTextResponse,
         responses={200: {"content": {MEDIA_TYPE: {}}}})
def metrics(request: Request, gw: GatewayDep) -> PlainTextResponse:
    """Prometheus metrics: requests by route and status, jobs by state, queue length,
    stage seconds. No taxpayer value, no request or job id."""
    return PlainTextResponse(request.app.state.metrics.render(gw.jobs), media_type=MEDIA_TYPE)


@ops.get("/problems", response_class=HTMLResponse)
def problems() -> HTMLResponse:
    """Every error code of the API (the `type` of a problem-details body points here)."""
    return HTMLResponse(render_html())


def _gateway_pem(request: Request, gw: Gateway) -> str:
    """The gateway's public key, read from the store once per process."""
    pem: str | None = getattr(request.app.state, "gateway_pem", None)
    if pem is None:
        with gw.lock(timeout=10):
            pem = gw.public_key_pem()
        request.app.state.gateway_pem = pem
    return pem


def jwk_of(pem: str) -> dict[str, Any]:
    """The RFC 8037 JWK of an Ed25519 public key in PEM, ``kid`` its RFC 7638 thumbprint."""
    body = "".join(line for line in pem.strip().splitlines() if not line.startswith("-----"))
    der = base64.b64decode(body)
    if len(der) != 44 or not der.startswith(_SPKI_ED25519):
        raise ValueError("not an Ed25519 public key")
    x = base64.urlsafe_b64encode(der[12:]).decode("ascii").rstrip("=")
    thumb = json.dumps({"crv": "Ed25519", "kty": "OKP", "x": x}, separators=(",", ":"))
    kid = base64.urlsafe_b64encode(hashlib.sha256(thumb.encode()).digest()).decode().rstrip("=")
    return {"kty": "OKP", "crv": "Ed25519", "x": x, "alg": "EdDSA", "use": "sig", "kid": kid}


@ops.get("/v1/gateway-key", response_class=PlainTextResponse, tags=["agencies"],
         responses={200: {"content": {"application/x-pem-file": {}}}, 503: {}})
def gateway_key(request: Request, gw: GatewayDep) -> PlainTextResponse:
    """The gateway's Ed25519 public key as PEM (SubjectPublicKeyInfo): the key every
    response.json is signed with (`taxgate response verify --gateway-key`). No credential
    needed; compare its fingerprint (the JWK's `kid`) with the one the operator hands over."""
    return PlainTextResponse(_gateway_pem(request, gw), media_type="application/x-pem-file")


@ops.get("/v1/gateway-key.jwk", tags=["agencies"],
         responses={200: {"content": {"application/jwk+json": {}}}, 503: {}})
def gateway_jwk(request: Request, gw: GatewayDep) -> JSONResponse:
    """The same key as a JWK (RFC 8037: `kty` OKP, `crv` Ed25519, `x`; `kid` is its RFC
    7638 thumbprint)."""
    return JSONResponse(jwk_of(_gateway_pem(request, gw)), media_type="application/jwk+json")
