"""The API's HTTP conventions, in process on a real embedded store with no filings:
problem details and their one code list, the OpenAPI document (bearer scheme, 400 not
422, the integration guide), Location, Retry-After, cursor paging, health, readiness,
metrics and the gateway's public key."""

from __future__ import annotations

import base64
import dataclasses
import json
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from taxgate import errors
from taxgate.api import create_app
from taxgate.api.problems import PROBLEMS, problem_of, render_markdown
from taxgate.canonical import load_public_key_pem
from taxgate.gateway import Gateway
from taxgate.gateway.jobs import UNFINISHED
from taxgate.settings import ServiceSettings, Settings

ROOT = Path(__file__).resolve().parents[1]
PROBLEM_KEYS = {"type", "title", "status", "detail", "code"}


@dataclasses.dataclass
class Site:
    client: TestClient
    gateway: Gateway
    ice: str
    cbp: str


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    root = tmp_path_factory.mktemp("http")
    settings = dataclasses.replace(Settings(store=str(root / "store")),
                                   service=ServiceSettings(spool_dir=root / "spool"))
    with Gateway(settings) as gw:
        gw.init()
        ice, cbp = gw.issue_credential("DHS-ICE", "test"), gw.issue_credential("DHS-CBP", "test")
    app = create_app(settings)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield Site(client, app.state.gateway, ice, cbp)


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _problem(r, status: int, code: str) -> dict:  # noqa: ANN001
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/problem+json", r.headers
    body = r.json()
    assert set(body) >= PROBLEM_KEYS and body["status"] == status and body["code"] == code
    assert body["type"] == f"/problems#{code}" and body["title"] == PROBLEMS[code].title
    return body


def _upload(site: Site, token: str):  # noqa: ANN202
    return site.client.post("/v1/jobs", headers=_auth(token), files={
        "manifest": ("manifest.json", b"not json"), "records": ("records.csv", b"record_id\n1\n")})


# --- the one code list ------------------------------------------------------------------


def test_problem_codes_page_matches_the_code():
    """docs/problems.md is the list problems.py owns (generated, byte for byte)."""
    assert (ROOT / "docs/problems.md").read_text(encoding="utf-8") == render_markdown()


def _tree(cls: type) -> Iterator[type]:
    yield cls
    for sub in cls.__subclasses__():
        yield from _tree(sub)


def test_every_error_class_has_a_code_of_its_own_status():
    for cls in _tree(errors.TaxgateError):
        if cls.shown:
            assert problem_of(cls).status == cls.http_status, cls.__name__
    assert problem_of(errors.Unauthorized).code == "UNAUTHORIZED"
    assert problem_of(errors.DuplicateJsonKey).code == "DUPLICATE_JSON_KEY"
    assert all(re.fullmatch(r"[A-Z][A-Z_]+", code) for code in PROBLEMS)


# --- the OpenAPI document ---------------------------------------------------------------


def test_openapi_declares_bearer_problems_and_no_422(site: Site):
    doc = site.client.get("/openapi.json").json()
    assert doc["components"]["securitySchemes"]["bearer"] == {
        "type": "http", "scheme": "bearer", "bearerFormat": "tgk_<id>.<secret>",
        "description": "An agency's API credential, from `taxgate agencies credential AGENCY`."}
    assert "422" not in json.dumps(doc["paths"]) and "HTTPValidationError" not in json.dumps(doc)
    for path, item in doc["paths"].items():
        for method, op in item.items():
            public = not path.startswith("/v1/") or path.startswith("/v1/gateway-key")
            assert (op.get("security") == [{"bearer": []}]) != public, (method, path)
            for status, response in op["responses"].items():
                if int(status) >= 400:
                    assert list(response["content"]) == ["application/problem+json"]
                if status in ("409", "429", "503"):
                    assert "Retry-After" in response["headers"], (method, path, status)
            if op.get("parameters"):
                assert "400" in op["responses"], (method, path)
    assert "Location" in doc["paths"]["/v1/jobs"]["post"]["responses"]["202"]["headers"]
    assert "Link" in doc["paths"]["/v1/jobs"]["get"]["responses"]["200"]["headers"]


def test_openapi_publishes_the_integration_guide(site: Site):
    guide = (ROOT / "docs/integration.md").read_text(encoding="utf-8")
    assert guide in site.client.get("/openapi.json").json()["info"]["description"]


# --- errors, Location, Retry-After, paging ----------------------------------------------


def test_every_api_error_is_problem_details(site: Site):
    c = site.client
    body = _problem(c.get("/v1/jobs"), 401, "UNAUTHORIZED")
    assert c.get("/v1/jobs").headers["www-authenticate"] == "Bearer" and body["detail"]
    _problem(c.get("/v1/jobs/job-nope", headers=_auth(site.ice)), 404, "NOT_FOUND")
    _problem(c.get("/v1/no/such/path", headers=_auth(site.ice)), 404, "NOT_FOUND")
    _problem(c.delete("/v1/jobs", headers=_auth(site.ice)), 405, "METHOD_NOT_ALLOWED")
    _problem(c.post("/v1/jobs", content=b"{}", headers={
        **_auth(site.ice), "content-type": "application/json"}), 415, "UNSUPPORTED_MEDIA_TYPE")
    bad = _problem(c.get("/v1/jobs?limit=123456789", headers=_auth(site.ice)), 400,
                   "INVALID_REQUEST")
    assert "limit" in bad["detail"] and "123456789" not in bad["detail"]
    _problem(c.get("/v1/jobs?cursor=not-a-cursor", headers=_auth(site.ice)), 400,
             "INVALID_REQUEST")


def test_upload_answers_202_with_location_and_lists_page_by_cursor(site: Site):
    answers = [_upload(site, site.ice) for _ in range(3)]
    assert [a.status_code for a in answers] == [202, 202, 202]
    ids = [a.json()["job_id"] for a in answers]
    assert [a.headers["location"] for a in answers] == [f"/v1/jobs/{i}" for i in ids]
    seen: list[str] = []
    url = "/v1/jobs?limit=2"
    for _ in range(10):
        r = site.client.get(url, headers=_auth(site.ice))
        page = r.json()
        assert r.status_code == 200 and len(page["items"]) <= 2
        seen += [j["job_id"] for j in page["items"]]
        if page["next_cursor"] is None:
            assert "link" not in r.headers
            break
        link = re.fullmatch(r'<([^>]+)>; rel="next"', r.headers["link"])
        assert link and page["next_cursor"] in link.group(1)
        url = link.group(1)
    assert seen[-3:] == ids and len(seen) == len(set(seen))
    other = site.client.get("/v1/jobs", headers=_auth(site.cbp)).json()
    assert other == {"items": [], "next_cursor": None}


def test_retry_after_on_409_and_readyz_not_ready_while_the_store_is_held(site: Site):
    """While something other than a job holds the store: uploads are still accepted, the
    unfinished job's response is 409 with Retry-After, /readyz is 503 NOT_READY. The
    caller's credential is checked first: a credential not checked within the last minute
    needs the store itself (503 STORE_BUSY while it is held), and this module's earlier
    tests may have run longer ago than that on a slow machine. The earlier tests' uploads
    are answered first, so the queue holds this test's job alone."""
    assert site.client.get("/v1/jobs?limit=1", headers=_auth(site.ice)).status_code == 200
    _until_no_job_waits(site)
    with site.gateway.lock():
        r = _upload(site, site.ice)
        assert r.status_code == 202
        job = r.json()["job_id"]
        early = site.client.get(f"/v1/jobs/{job}/response.json", headers=_auth(site.ice))
        assert _problem(early, 409, "CONFLICT") and early.headers["retry-after"] == "2"
        ready = site.client.get("/readyz")
        _problem(ready, 503, "NOT_READY")
        assert ready.headers["retry-after"] == "5"
        metrics = site.client.get("/metrics").text
        assert "taxgate_job_queue_length 1" in metrics
    assert site.client.get("/readyz").json()["status"] == "ready"


def _until_no_job_waits(site: Site, timeout_s: float = 120.0) -> None:
    deadline = time.monotonic() + timeout_s
    while any(v.row.state in UNFINISHED for v in list(site.gateway.jobs.board.values())):
        assert time.monotonic() < deadline, "the worker did not answer the earlier uploads"
        time.sleep(0.05)


# --- health, metrics, the gateway key ---------------------------------------------------


def test_healthz_and_readyz(site: Site):
    assert site.client.get("/healthz").json() == {"status": "alive"}
    r = site.client.get("/readyz")
    assert r.status_code == 200 and r.json() == {"status": "ready", "store": "reachable"}


def test_metrics_count_routes_and_jobs_without_ids(site: Site):
    """R37: metrics carry route templates, states and counts, never an id or a path as sent."""
    site.client.get("/v1/jobs/job-0123456789abcdef", headers=_auth(site.ice))
    _upload(site, site.ice)
    r = site.client.get("/metrics")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    text = r.text
    assert re.search(r'taxgate_http_requests_total\{method="GET",route="/v1/jobs/\{job_id\}",'
                     r'status="404"\} [1-9]', text)
    assert re.search(r'taxgate_http_requests_total\{method="POST",route="/v1/jobs",'
                     r'status="202"\} [1-9]', text)
    assert re.search(r'taxgate_jobs\{state="(QUEUED|RUNNING|FAILED)"\} [1-9]', text)
    assert "taxgate_job_queue_length" in text
    assert "job-" not in text and "0123456789abcdef" not in text and "DHS-" not in text


def test_gateway_public_key_as_pem_and_jwk(site: Site):
    pem = site.client.get("/v1/gateway-key")
    assert pem.status_code == 200 and pem.headers["content-type"].startswith(
        "application/x-pem-file")
    assert pem.text == site.gateway.public_key_pem()
    raw = load_public_key_pem(pem.text).public_bytes_raw()
    jwk = site.client.get("/v1/gateway-key.jwk").json()
    assert jwk["kty"] == "OKP" and jwk["crv"] == "Ed25519" and jwk["alg"] == "EdDSA"
    assert base64.urlsafe_b64decode(jwk["x"] + "=") == raw and len(jwk["kid"]) == 43


def test_problems_page_lists_every_code(site: Site):
    page = site.client.get("/problems").text
    assert all(f'id="{code}"' in page for code in PROBLEMS)
