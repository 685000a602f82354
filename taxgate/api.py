"""The HTTP API for agencies and the app that serves it with the web pages.

``create_app(settings)`` builds everything from a :class:`Settings`: the one
open store (:class:`StoreGate`), the job worker, the web pages. Routes are thin
shells over :mod:`taxgate.service`; :func:`_error_response` is the one place an
error becomes an HTTP status (read from the tree in :mod:`taxgate.errors`). Response
models hold ids, states, counts per outcome and reason codes only: no model here has a
field a taxpayer value could go in.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, PlainTextResponse, Response
from pydantic import BaseModel, ConfigDict
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from taxgate import __version__, strict_json
from taxgate.errors import (
    BadInput,
    Conflict,
    DuplicateJsonKey,
    NotAllowed,
    NotFound,
    TaxgateError,
    TooLarge,
    TooMany,
    Unauthorized,
    classify,
)
from taxgate.intake import valid_request_id
from taxgate.records import Outcome
from taxgate.service import auth, review
from taxgate.service.gate import StoreGate
from taxgate.service.jobs import DONE, EXPIRED, JobRunner, JobView, private_dir
from taxgate.settings import Settings
from taxgate.untrusted import visible
from taxgate.web.routes import WebState, error_page
from taxgate.web.routes import router as web_router

_AUTH_CACHE_S = 60.0

# --- response models: ids, states and counts only -------------------------------------------


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ErrorBody(_Strict):
    error: str
    detail: str


class JobAccepted(_Strict):
    job_id: str
    state: Literal["QUEUED"]
    status_url: str


class JobStatus(_Strict):
    job_id: str
    state: Literal["QUEUED", "RUNNING", "DONE", "FAILED", "EXPIRED"]
    request_id: str | None
    stage: str
    records_done: int
    records_total: int | None
    counts: dict[Outcome, int]
    exit_code: int | None
    message: str | None
    submitted_at: str
    updated_at: str
    expires_at: str | None


class FollowUpInfo(_Strict):
    request_id: str
    seq: int
    created_at: str
    counts: dict[Outcome, int]


def _status(v: JobView) -> JobStatus:
    r = v.row
    counts = {Outcome(k): int(n) for k, n in json.loads(r.counts_json or "{}").items()}
    return JobStatus(job_id=r.job_id, state=r.state, request_id=r.request_id,  # type: ignore[arg-type]
                     stage=v.progress.stage, records_done=v.progress.done,
                     records_total=v.progress.total, counts=counts, exit_code=r.exit_code,
                     message=r.message, submitted_at=r.submitted_at, updated_at=r.updated_at,
                     expires_at=r.expires_at)


# --- the service object every route reaches through request.app.state ------------------------


class Service:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.gate = StoreGate(settings)
        self.jobs = JobRunner(settings, self.gate)
        self.api_failures = auth.FailureLimiter(settings.service.api_failures,
                                                settings.service.login_window_seconds)
        self._tokens: dict[str, tuple[str, float]] = {}

    def agency_for(self, token: str, client: str) -> str:
        key = hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()
        hit = self._tokens.get(key)
        if hit and hit[1] > time.monotonic():
            return hit[0]
        cred_id = token[4:].partition(".")[0]
        with self.gate.use(timeout=10) as store:
            cred = store.api_credential(cred_id) if token else None
        known = cred is not None and cred.revoked_at is None
        # an address full of failures is refused unknown credentials only; a live
        # credential is limited on its own, so one agency's guesser never locks out
        # another agency behind the same address
        if self.api_failures.blocked(f"cred:{cred_id}" if known else f"ip:{client}"):
            raise TooMany("too many failed authentications; wait and retry")
        agency = None
        if cred is not None and known:
            secret = token.partition(".")[2]
            if auth.hmac.compare_digest(auth.hash_secret(secret, bytes.fromhex(cred.salt)),
                                        cred.hash):
                agency = cred.agency
        else:
            auth.hash_secret(token, b"0" * 16)
        if agency is None:
            self.api_failures.fail(f"ip:{client}", *([f"cred:{cred_id}"] if known else []))
            raise Unauthorized("missing, unknown or revoked API credential")
        if len(self._tokens) > 10_000:
            self._tokens.clear()
        self._tokens[key] = (agency, time.monotonic() + _AUTH_CACHE_S)
        return agency


def _svc(request: Request) -> Service:
    return request.app.state.svc  # type: ignore[no-any-return]


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def agency_auth(request: Request) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("send Authorization: Bearer <API credential>")
    return _svc(request).agency_for(token.strip(), _client(request))


AgencyDep = Annotated[str, Depends(agency_auth)]
ServiceDep = Annotated[Service, Depends(_svc)]

# --- the one place errors become HTTP --------------------------------------------------------


def _error_response(request: Request, exc: Exception) -> Response:
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


def _install_errors(app: FastAPI) -> None:
    @app.exception_handler(TaxgateError)
    async def _domain(request: Request, exc: TaxgateError) -> Response:
        return _error_response(request, exc)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        # never echo the submitted values back (FastAPI's default body would)
        where = "; ".join(".".join(str(p) for p in e.get("loc", ())) for e in exc.errors())
        return _error_response(request, BadInput(f"invalid request: {where}"[:300]))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        body = ErrorBody(error=f"HTTP_{exc.status_code}", detail="not found"
                         if exc.status_code == 404 else "request not allowed")
        if not request.url.path.startswith("/v1/") and request.url.path != "/openapi.json":
            return error_page(request, exc.status_code, body.detail, {})
        return JSONResponse(body.model_dump(), status_code=exc.status_code)

    @app.exception_handler(Exception)
    async def _internal(request: Request, exc: Exception) -> Response:
        return _error_response(request, exc)


# --- routes ------------------------------------------------------------------------------------

api = APIRouter(prefix="/v1", tags=["agencies"], responses={
    401: {"model": ErrorBody}, 429: {"model": ErrorBody}, 503: {"model": ErrorBody}})

_UPLOAD_SCHEMA = {"requestBody": {"required": True, "content": {"multipart/form-data": {
    "schema": {"type": "object", "required": ["manifest", "records"], "properties": {
        "manifest": {"type": "string", "format": "binary",
                     "description": "manifest.json of the signed request package"},
        "records": {"type": "string", "format": "binary",
                    "description": "the records CSV the manifest names"}}}}}}}


def _safe_name(name: object) -> str:
    if not isinstance(name, str) or not name or Path(name).name != name or name.startswith(".") \
            or name == "manifest.json" or len(name) > 200:
        return "records.csv"  # the pipeline then refuses the package with a reason code
    return name


@api.post("/jobs", status_code=202, response_model=JobAccepted, openapi_extra=_UPLOAD_SCHEMA,
          responses={400: {"model": ErrorBody}, 403: {"model": ErrorBody},
                     413: {"model": ErrorBody}})
async def submit_job(request: Request, agency: AgencyDep, svc: ServiceDep) -> JobAccepted:
    """Upload a request package (multipart parts `manifest` and `records`); returns a job
    id at once. Processing runs in the background; poll the job's status."""
    from python_multipart.multipart import FormParser, parse_options_header

    limit = svc.settings.service.max_upload_bytes
    length = request.headers.get("content-length")
    if length and length.isdigit() and int(length) > limit:
        raise TooLarge(f"upload exceeds {limit} bytes")
    ctype = request.headers.get("content-type", "")
    if not ctype.startswith("multipart/form-data"):
        raise BadInput("send multipart/form-data with the parts manifest and records")
    job_id = svc.jobs.new_job_id()
    job_dir = private_dir(svc.jobs.job_dir(job_id))
    pkg = private_dir(svc.jobs.package_dir(job_id))
    files: dict[Any, Any] = {}
    try:
        mime, params = parse_options_header(ctype)
        boundary = params.get(b"boundary")
        if mime != b"multipart/form-data" or not boundary:
            raise BadInput("send multipart/form-data with the parts manifest and records")
        parser = FormParser("multipart/form-data", on_field=lambda f: None, boundary=boundary,
                            on_file=lambda f: files.__setitem__(f.field_name, f),
                            config={"UPLOAD_DIR": str(pkg), "MAX_MEMORY_FILE_SIZE": 0,
                                    "UPLOAD_DELETE_TMP": False, "MAX_BODY_SIZE": limit})
        total = 0
        async for chunk in request.stream():
            total += len(chunk)
            if total > limit:
                raise TooLarge(f"upload exceeds {limit} bytes")
            await run_in_threadpool(parser.write, chunk)
        await run_in_threadpool(parser.finalize)
        for f in files.values():
            f.close()
        if set(files) != {b"manifest", b"records"}:
            raise BadInput("the upload needs exactly the parts manifest and records")
        return await run_in_threadpool(_accept, svc, job_id, agency, pkg, files)
    except BaseException as exc:
        shutil.rmtree(job_dir, ignore_errors=True)
        if isinstance(exc, TaxgateError):
            raise
        if isinstance(exc, Exception):
            raise BadInput("the upload is not well-formed multipart/form-data") from None
        raise


def _accept(svc: Service, job_id: str, agency: str, pkg: Path, files: dict[Any, Any]
            ) -> JobAccepted:
    manifest_path = Path(os.fsdecode(files[b"manifest"].actual_file_name))
    records_path = Path(os.fsdecode(files[b"records"].actual_file_name))
    try:  # duplicate keys: refused here (400), never read differently later
        raw = manifest_path.read_bytes()
        manifest = strict_json.loads(raw.decode(json.detect_encoding(raw), "surrogatepass"),
                                     max_depth=None, max_number_chars=None)
    except DuplicateJsonKey:
        raise DuplicateJsonKey("a JSON object in the upload names one key twice") from None
    except (ValueError, RecursionError):  # intake refuses it with a reason code
        manifest = None
    request_id = None
    name = "records.csv"
    if isinstance(manifest, dict):
        if manifest.get("requesting_agency") != agency:
            raise NotAllowed("the manifest names another requesting agency")
        rid = manifest.get("request_id")
        request_id = rid if valid_request_id(rid) else None
        name = _safe_name(manifest.get("records_file"))
    os.replace(manifest_path, pkg / "manifest.json")
    os.replace(records_path, pkg / name)
    svc.jobs.accept(job_id, agency, request_id)
    return JobAccepted(job_id=job_id, state="QUEUED", status_url=f"/v1/jobs/{job_id}")


def _own_job(svc: Service, job_id: str, agency: str) -> JobView:
    v = svc.jobs.view(job_id, agency)
    if v is None:
        raise NotFound("no such job")
    return v


@api.get("/jobs", response_model=list[JobStatus])
def list_jobs(agency: AgencyDep, svc: ServiceDep) -> list[JobStatus]:
    """This agency's jobs, oldest first."""
    return [_status(v) for v in list(svc.jobs.board.values()) if v.row.agency == agency]


@api.get("/jobs/{job_id}", response_model=JobStatus, responses={404: {"model": ErrorBody}})
def job_status(job_id: str, agency: AgencyDep, svc: ServiceDep) -> JobStatus:
    """State and progress of one of this agency's jobs."""
    return _status(_own_job(svc, job_id, agency))


def _response_file(svc: Service, job_id: str, agency: str, name: str) -> Path:
    v = _own_job(svc, job_id, agency)
    if v.row.state == EXPIRED:
        raise NotFound("the response is no longer kept (retention period over)")
    if v.row.state != DONE:
        raise Conflict("the job has not finished")
    path = svc.jobs.response_dir(job_id) / name
    if not path.is_file():
        raise NotFound("the response is no longer kept")
    return path


_FILE_RESPONSES: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorBody}, 409: {"model": ErrorBody}}


@api.get("/jobs/{job_id}/response.json", responses=_FILE_RESPONSES,
         response_class=FileResponse)
def job_response(job_id: str, agency: AgencyDep, svc: ServiceDep) -> FileResponse:
    """The signed response.json (contract §3)."""
    return FileResponse(_response_file(svc, job_id, agency, "response.json"),
                        media_type="application/json")


@api.get("/jobs/{job_id}/results.csv", responses=_FILE_RESPONSES,
         response_class=FileResponse)
def job_results(job_id: str, agency: AgencyDep, svc: ServiceDep) -> FileResponse:
    """results.csv: record_id, outcome, reasons (contract §3)."""
    return FileResponse(_response_file(svc, job_id, agency, "results.csv"),
                        media_type="text/csv")


def _follow_ups(svc: Service, request_id: str, agency: str) -> list[Any]:
    with svc.gate.use(timeout=10) as store:
        return review.follow_ups(store, request_id, agency)


@api.get("/requests/{request_id}/follow-ups", response_model=list[FollowUpInfo],
         responses={404: {"model": ErrorBody}})
def list_follow_ups(request_id: str, agency: AgencyDep, svc: ServiceDep) -> list[FollowUpInfo]:
    """Follow-up responses for REVIEW records of this agency's request, in order."""
    return [FollowUpInfo(request_id=f.request_id, seq=f.seq, created_at=f.created_at,
                         counts={Outcome(k): v for k, v in
                                 json.loads(f.response_json)["counts"].items()})
            for f in _follow_ups(svc, request_id, agency)]


def _one_follow_up(svc: Service, request_id: str, seq: int, agency: str) -> Any:
    for f in _follow_ups(svc, request_id, agency):
        if f.seq == seq:
            return f
    raise NotFound("no such follow-up response")


@api.get("/requests/{request_id}/follow-ups/{seq}/response.json",
         responses={404: {"model": ErrorBody}})
def follow_up_response(request_id: str, seq: int, agency: AgencyDep, svc: ServiceDep
                       ) -> Response:
    """The signed response.json of a follow-up (``follow_up_of``, ``follow_up_seq``)."""
    f = _one_follow_up(svc, request_id, seq, agency)
    return Response(f.response_json.encode("utf-8") + b"\n", media_type="application/json")


@api.get("/requests/{request_id}/follow-ups/{seq}/results.csv",
         responses={404: {"model": ErrorBody}}, response_class=PlainTextResponse)
def follow_up_results(request_id: str, seq: int, agency: AgencyDep, svc: ServiceDep
                      ) -> PlainTextResponse:
    """results.csv of a follow-up: the released records only."""
    f = _one_follow_up(svc, request_id, seq, agency)
    return PlainTextResponse(f.results_csv, media_type="text/csv")


# --- the app -------------------------------------------------------------------------------------

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
    svc = Service(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await run_in_threadpool(svc.jobs.start)
        try:
            yield
        finally:
            await run_in_threadpool(svc.jobs.stop)
            await run_in_threadpool(svc.gate.close)

    app = FastAPI(title="taxgate", version=__version__, lifespan=lifespan, docs_url=None,
                  redoc_url=None, description="Confirm-only address verification gateway: "
                  "agencies submit signed request packages and receive signed responses "
                  "(CONFIRMED / NOT_CONFIRMED / REJECTED / REVIEW per record).")
    app.state.svc = svc
    app.state.web = WebState(settings)

    @app.middleware("http")
    async def security_headers(request: Request, call_next: Any) -> Response:
        response: Response = await call_next(request)
        for k, v in _HEADERS.items():
            response.headers.setdefault(k, v)
        return response

    _install_errors(app)
    app.include_router(api)
    app.include_router(web_router)
    return app
