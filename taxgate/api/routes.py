"""The ``/v1`` routes for agencies: upload a request package as a job, follow the job,
fetch its signed response and results, and list and fetch follow-up responses.

Every route needs the agency's bearer credential (the ``bearer`` security scheme of the
OpenAPI document). Lists are paged by an opaque cursor (``limit``, ``cursor``; the next
one in ``next_cursor`` and a ``Link: rel="next"`` header). A package the gateway refuses
as a whole is answered at upload when that needs no taxpayer filings (400
``REQUEST_REFUSED``, naming the job that holds its signed refusal).

Thin shells over the :class:`~taxgate.gateway.Gateway`; each answers with a model of
:mod:`taxgate.api.models` or a stored file, and raises errors of :mod:`taxgate.errors`
(made HTTP in :mod:`taxgate.api.http_errors`).
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Query, Request, Security
from fastapi.exceptions import HTTPException
from fastapi.responses import FileResponse, JSONResponse, PlainTextResponse, Response
from starlette.concurrency import run_in_threadpool

from taxgate import strict_json
from taxgate.api.access import BEARER, AgencyDep, CallerDep, GatewayDep
from taxgate.api.http_errors import problem_response
from taxgate.api.models import (
    FollowUpInfo,
    FollowUpPage,
    JobAccepted,
    JobPage,
    JobStatus,
    status_of,
)
from taxgate.api.paging import LINK_HEADER, Limit, decode_cursor, encode_cursor, next_link
from taxgate.api.problems import problem_of
from taxgate.errors import (
    BadInput,
    Conflict,
    DuplicateJsonKey,
    NotAllowed,
    NotFound,
    RequestRefused,
    TaxgateError,
    TooLarge,
)
from taxgate.gateway import Gateway
from taxgate.gateway.accounts import ApiCaller
from taxgate.gateway.jobs import ANSWERED, EXPIRED, FAILED, JobView, private_dir
from taxgate.records import Outcome

api = APIRouter(prefix="/v1", tags=["agencies"], dependencies=[Security(BEARER)],
                responses={400: {}, 401: {}, 429: {}, 503: {}})

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
          responses={202: {"headers": {"Location": {
              "description": "the job's status URL", "schema": {"type": "string"}}}},
              400: {"headers": {"Location": {
                  "description": "REQUEST_REFUSED: the job holding the signed refusal",
                  "schema": {"type": "string"}}}}, 403: {}, 413: {}, 415: {}})
async def submit_job(request: Request, agency: AgencyDep, gw: GatewayDep) -> Response:
    """Upload a request package (multipart parts `manifest` and `records`). A package
    refused as a whole by a rule that needs no taxpayer filings (signature, official,
    checksum, record count, manifest, ...) is answered at once: 400 `REQUEST_REFUSED`
    with its `reason` code and, as `instance`, the job that holds its signed all-REJECTED
    response (state REFUSED). Otherwise 202 with the job at `Location`; processing runs
    in the background: poll the job's status."""
    from python_multipart.multipart import FormParser, parse_options_header

    limit = gw.settings.service.max_upload_bytes
    length = request.headers.get("content-length")
    if length and length.isdigit() and int(length) > limit:
        raise TooLarge(f"upload exceeds {limit} bytes")
    ctype = request.headers.get("content-type", "")
    if not ctype.startswith("multipart/form-data"):
        raise HTTPException(415, "send multipart/form-data with the parts manifest and records")
    job_id = gw.jobs.new_job_id()
    job_dir = private_dir(gw.jobs.job_dir(job_id))
    pkg = private_dir(gw.jobs.package_dir(job_id))
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
        return await run_in_threadpool(_accept, gw, job_id, agency, pkg, files)
    except BaseException as exc:
        shutil.rmtree(job_dir, ignore_errors=True)
        if isinstance(exc, TaxgateError):
            raise
        if isinstance(exc, Exception):
            raise BadInput("the upload is not well-formed multipart/form-data") from None
        raise


def _accept(gw: Gateway, job_id: str, agency: str, pkg: Path, files: dict[Any, Any]
            ) -> Response:
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
    request_id: object = None
    name = "records.csv"
    if isinstance(manifest, dict):
        if manifest.get("requesting_agency") != agency:
            raise NotAllowed("the manifest names another requesting agency")
        request_id = manifest.get("request_id")  # kept by the job when well-formed
        name = _safe_name(manifest.get("records_file"))
    os.replace(manifest_path, pkg / "manifest.json")
    os.replace(records_path, pkg / name)
    try:  # before the worker may take the package; the job itself decides in any case
        refusal = gw.jobs.precheck(job_id)
    except Exception:  # noqa: BLE001 - a check that cannot be made here is the job's
        refusal = None
    gw.jobs.accept(job_id, agency, request_id)
    url = f"/v1/jobs/{job_id}"
    if refusal is not None:  # the job still answers and logs it, as REFUSED
        return problem_response(problem_of(RequestRefused), str(refusal)[:300],
                                {"Location": url}, reason=refusal.reason, instance=url)
    accepted = JobAccepted(job_id=job_id, state="QUEUED", status_url=url)
    return JSONResponse(accepted.model_dump(), status_code=202, headers={"Location": url})


def _own_job(gw: Gateway, job_id: str, agency: str) -> JobView:
    v = gw.jobs.view(job_id, agency)
    if v is None:
        raise NotFound("no such job")
    return v


@api.get("/jobs", response_model=JobPage, responses={200: {"headers": LINK_HEADER}})
def list_jobs(request: Request, response: Response, agency: AgencyDep, gw: GatewayDep,
              limit: Limit = 100, cursor: str | None = Query(None, max_length=200)
              ) -> JobPage:
    """This agency's jobs, oldest first, a page at a time: pass `next_cursor` as
    `cursor` for the next page (also in the `Link` header)."""
    after = decode_cursor(cursor)
    views, last = gw.jobs.page(agency, after, limit)
    nxt = encode_cursor(last) if last is not None else None
    next_link(request, response, nxt, limit)
    return JobPage(items=[status_of(v) for v in views], next_cursor=nxt)


@api.get("/jobs/{job_id}", response_model=JobStatus, responses={404: {}})
def job_status(job_id: str, agency: AgencyDep, gw: GatewayDep) -> JobStatus:
    """State and progress of one of this agency's jobs."""
    return status_of(_own_job(gw, job_id, agency))


def _response_file(gw: Gateway, job_id: str, caller: ApiCaller, name: str) -> bytes:
    v = _own_job(gw, job_id, caller.agency)
    if v.row.state == EXPIRED:
        raise NotFound("the response is no longer kept (retention period over)")
    if v.row.state == FAILED:
        raise NotFound("the job failed: it has no response")
    if v.row.state not in ANSWERED:
        raise Conflict("the job has not finished")
    path = gw.jobs.response_dir(job_id) / name
    if not path.is_file():
        raise NotFound("the response is no longer kept")
    return gw.deliver(caller, path.read_bytes(), file=name, request_id=v.row.request_id,
                      job=v.row)  # R4: named recipients only, each download logged


_FILE_RESPONSES: dict[int | str, dict[str, Any]] = {404: {}, 409: {}}


@api.get("/jobs/{job_id}/response.json", responses=_FILE_RESPONSES,
         response_class=FileResponse)
def job_response(job_id: str, caller: CallerDep, gw: GatewayDep) -> Response:
    """The signed response.json (contract §3), to a named recipient (R4)."""
    return Response(_response_file(gw, job_id, caller, "response.json"),
                    media_type="application/json")


@api.get("/jobs/{job_id}/results.csv", responses=_FILE_RESPONSES,
         response_class=FileResponse)
def job_results(job_id: str, caller: CallerDep, gw: GatewayDep) -> Response:
    """results.csv: record_id, outcome, reasons (contract §3), to a named recipient (R4)."""
    return Response(_response_file(gw, job_id, caller, "results.csv"), media_type="text/csv")


def _follow_ups(gw: Gateway, request_id: str, agency: str) -> list[Any]:
    with gw.lock(timeout=10):
        return gw.follow_ups(request_id, agency)


@api.get("/requests/{request_id}/follow-ups", response_model=FollowUpPage,
         responses={200: {"headers": LINK_HEADER}, 404: {}})
def list_follow_ups(request: Request, response: Response, request_id: str, agency: AgencyDep,
                    gw: GatewayDep, limit: Limit = 100,
                    cursor: str | None = Query(None, max_length=200)) -> FollowUpPage:
    """Follow-up responses for REVIEW records of this agency's request, in order of
    `seq`, a page at a time (as `GET /v1/jobs`)."""
    after = decode_cursor(cursor)
    if after is not None and not after.isdigit():
        raise BadInput("cursor: not one this server gave for these follow-ups")
    later = [f for f in _follow_ups(gw, request_id, agency)
             if after is None or f.seq > int(after)]
    chunk = later[:limit]
    nxt = encode_cursor(str(chunk[-1].seq)) if len(later) > limit else None
    next_link(request, response, nxt, limit)
    return FollowUpPage(items=[FollowUpInfo(
        request_id=f.request_id, seq=f.seq, created_at=f.created_at,
        counts={Outcome(k): v for k, v in json.loads(f.response_json)["counts"].items()})
        for f in chunk], next_cursor=nxt)


def _one_follow_up(gw: Gateway, request_id: str, seq: int, agency: str) -> Any:
    with gw.lock(timeout=10):
        return gw.follow_up(request_id, seq, agency)


@api.get("/requests/{request_id}/follow-ups/{seq}/response.json",
         responses={200: {"content": {"application/json": {}}}, 404: {}})
def follow_up_response(request_id: str, seq: int, caller: CallerDep, gw: GatewayDep
                       ) -> Response:
    """The signed response.json of a follow-up (``follow_up_of``, ``follow_up_seq``)."""
    f = _one_follow_up(gw, request_id, seq, caller.agency)
    return Response(gw.deliver(caller, f.response_json.encode("utf-8") + b"\n",
                               file="response.json", request_id=request_id, follow_up_seq=seq),
                    media_type="application/json")


@api.get("/requests/{request_id}/follow-ups/{seq}/results.csv",
         responses={200: {"content": {"text/csv": {}}}, 404: {}},
         response_class=PlainTextResponse)
def follow_up_results(request_id: str, seq: int, caller: CallerDep, gw: GatewayDep
                      ) -> Response:
    """results.csv of a follow-up: the released records only, to a named recipient (R4)."""
    f = _one_follow_up(gw, request_id, seq, caller.agency)
    return Response(gw.deliver(caller, f.results_csv.encode("utf-8"), file="results.csv",
                               request_id=request_id, follow_up_seq=seq), media_type="text/csv")
