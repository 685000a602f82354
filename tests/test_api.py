"""The HTTP API against a real `taxgate serve` (uvicorn subprocess on 127.0.0.1), on
both stores: upload, poll, download, who sees what, limits, and a restart mid-job."""

from __future__ import annotations

import csv
import io
import json
import time
from collections import Counter

import pytest
from api_world import (
    ENGINES_PARAMS,
    Server,
    fresh_request,
    job_of,
    shared_world,
    upload,
    wait_done,
)
from e2e import resign

from taxgate.canonical import verify_object
from taxgate.gateway import Gateway

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("service")]


@pytest.fixture(scope="module", params=ENGINES_PARAMS)
def world(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    pg = request.getfixturevalue("pg_server").url if request.param == "postgres" else None
    return shared_world(request.param, tmp_path_factory, pg)


@pytest.fixture(scope="module")
def server(world):
    srv = Server(world, TAXGATE_MAX_UPLOAD_BYTES=str(2_000_000)).start()
    yield srv
    srv.stop()


def _gateway_key(world):
    with Gateway(world.settings) as gw, gw.lock() as s:
        return s.signing_key().public_key()


def test_upload_poll_download_a_signed_response(world, server, tmp_path):
    req = fresh_request(world, tmp_path, "ICE-API-0001")
    with server.client(world.token) as c:
        r = upload(c, req)
        assert r.status_code == 202, r.text
        job = r.json()
        assert job["state"] == "QUEUED" and job["status_url"] == f"/v1/jobs/{job['job_id']}"
        assert r.headers["location"] == job["status_url"]
        done = wait_done(c, job["job_id"])
        assert done["state"] == "DONE" and done["exit_code"] == 0
        assert done["request_id"] == "ICE-API-0001"
        assert sum(done["counts"].values()) == 300 == done["records_total"]
        resp = c.get(f"/v1/jobs/{job['job_id']}/response.json")
        assert resp.status_code == 200
        results = c.get(f"/v1/jobs/{job['job_id']}/results.csv").text
        listed = c.get("/v1/jobs", params={"limit": 1000}).json()["items"]
        metrics = c.get("/metrics").text
    body = resp.json()
    rows = list(csv.DictReader(io.StringIO(results)))
    assert list(rows[0]) == ["record_id", "outcome", "reasons"] and len(rows) == 300
    assert body["counts"] == done["counts"]
    assert job["job_id"] in {j["job_id"] for j in listed}
    assert 'taxgate_job_stage_seconds_count{stage="matching"}' not in metrics  # split in two
    assert 'taxgate_job_stage_seconds_count{stage="scoring"}' in metrics
    assert 'taxgate_jobs{state="DONE"}' in metrics and "ICE-API-0001" not in metrics
    server.stop()  # the embedded store admits one process: read it with the server down
    try:
        assert verify_object(_gateway_key(world), body)
    finally:
        server.start()
    # the package is not kept once answered (R40)
    assert not (world.root / "spool" / job["job_id"] / "package").exists()


def test_agencies_see_only_their_own_jobs_and_need_a_credential(world, server, tmp_path):
    req = fresh_request(world, tmp_path, "ICE-API-0002")
    # credentials are checked against the store: before a job holds it for long
    with server.client(world.other_token) as other:  # (a good one is then cached)
        assert other.get("/v1/jobs").status_code == 200
    with server.client("tgk_0000.nope") as bad:
        assert bad.get("/v1/jobs").status_code == 401
    with server.client(world.token) as c:
        job_id = upload(c, req).json()["job_id"]
    with server.client(world.other_token) as other:
        assert other.get(f"/v1/jobs/{job_id}").status_code == 404
        assert other.get(f"/v1/jobs/{job_id}/response.json").status_code == 404
        assert job_id not in {j["job_id"] for j in other.get("/v1/jobs").json()["items"]}
        # an agency cannot submit a package that names another requesting agency
        assert upload(other, req).status_code == 403
    with server.client() as anon:
        r = anon.get(f"/v1/jobs/{job_id}")
        assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"
    with server.client(world.token) as c:
        wait_done(c, job_id)


def test_security_headers_and_openapi_published(server):
    with server.client() as c:
        r = c.get("/openapi.json")
    assert r.status_code == 200
    paths = r.json()["paths"]
    assert {"/v1/jobs", "/v1/jobs/{job_id}", "/v1/jobs/{job_id}/response.json",
            "/v1/requests/{request_id}/follow-ups"} <= set(paths)
    assert r.headers["x-content-type-options"] == "nosniff"
    assert "frame-ancestors 'none'" in r.headers["content-security-policy"]
    assert r.headers["cache-control"] == "no-store"


def test_uploads_are_size_limited_and_must_be_multipart(world, server):
    with server.client(world.token) as c:
        big = c.post("/v1/jobs", files={"manifest": ("manifest.json", b"{}"),
                                        "records": ("records.csv", b"x" * 2_100_000)})
        assert big.status_code == 413, big.text
        assert c.post("/v1/jobs", content=b"{}",
                      headers={"content-type": "application/json"}).status_code == 415
        one = c.post("/v1/jobs", files={"manifest": ("manifest.json", b"{}")})
        assert one.status_code == 400


def test_a_malformed_package_is_refused_at_upload_and_answered_all_rejected(world, server):
    """R1: a manifest that is not JSON is refused at once (400 REQUEST_REFUSED), and its
    job, REFUSED, holds the signed all-REJECTED response."""
    with server.client(world.token) as c:
        r = c.post("/v1/jobs", files={"manifest": ("manifest.json", b"not json"),
                                      "records": ("records.csv", b"record_id\n1\n")})
        assert r.status_code == 400 and r.headers["content-type"] == "application/problem+json"
        body = r.json()
        assert (body["code"], body["reason"]) == ("REQUEST_REFUSED", "MANIFEST_MALFORMED")
        assert body["instance"] == r.headers["location"]
        done = wait_done(c, job_of(r))
        assert done["state"] == "REFUSED" and done["exit_code"] == 2
        assert set(done["counts"]) <= {"REJECTED"}
        assert c.get(f"/v1/jobs/{done['job_id']}/response.json").json()[
            "request_reason"] == "MANIFEST_MALFORMED"


def _tamper(req, how: str, world) -> None:  # noqa: ANN001
    manifest = req / "manifest.json"
    if how == "SIGNATURE_INVALID":  # a field changed after signing
        m = json.loads(manifest.read_text(encoding="utf-8"))
        m["reason"] += " and more"
        manifest.write_text(json.dumps(m), encoding="utf-8")
    elif how == "CHECKSUM_MISMATCH":  # a record added after signing
        last = (req / "records.csv").read_text(encoding="utf-8").splitlines()[-1]
        with (req / "records.csv").open("a", encoding="utf-8") as f:
            f.write(last + "\n")
    elif how == "RECORD_COUNT_MISMATCH":
        resign(req, world.paths.private_key, record_count=301)
    else:  # OFFICIAL_NOT_AUTHORIZED: a signer the registry does not hold
        resign(req, world.paths.private_key, signing_official="someone-else")


@pytest.mark.parametrize("reason", ["SIGNATURE_INVALID", "CHECKSUM_MISMATCH",
                                    "RECORD_COUNT_MISMATCH", "OFFICIAL_NOT_AUTHORIZED"])
def test_r1_r3_package_refusals_are_answered_at_upload(world, server, tmp_path, reason):
    """R1, R3: a bad signature, an unknown official, a checksum or record count mismatch
    is answered at upload (400 REQUEST_REFUSED with its reason), and the job that holds
    its signed all-REJECTED response ends REFUSED (not DONE) with the same reason."""
    req = fresh_request(world, tmp_path, f"ICE-REF-{reason[:12]}")
    _tamper(req, reason, world)
    with server.client(world.token) as c:
        r = upload(c, req)
        assert r.status_code == 400, r.text
        assert (r.json()["code"], r.json()["reason"]) == ("REQUEST_REFUSED", reason)
        done = wait_done(c, job_of(r))
        assert done["state"] == "REFUSED" and done["exit_code"] == 2, done
        response = c.get(f"/v1/jobs/{done['job_id']}/response.json").json()
        assert response["request_reason"] == reason
        assert set(response["counts"]) == {"CONFIRMED", "NOT_CONFIRMED", "REJECTED", "REVIEW"}


def test_r1_a_refusal_the_job_may_not_give_is_left_to_the_job(world, server, tmp_path):
    """R1: what the upload cannot tell exactly as the job will is accepted (202) and
    the job's answer stands: a created_at in the future (valid later, perhaps), and a
    request id already answered (the job refuses it as REQUEST_ID_REUSED, not as the
    checksum mismatch the package also has)."""
    import datetime as dt

    future = fresh_request(world, tmp_path, "ICE-API-FUTURE")
    later = dt.datetime.now(dt.UTC) + dt.timedelta(hours=2)
    resign(future, world.paths.private_key, created_at=later.strftime("%Y-%m-%dT%H:%M:%SZ"))
    taken = fresh_request(world, tmp_path, "ICE-API-TAKEN")
    with server.client(world.token) as c:
        r = upload(c, future)
        assert r.status_code == 202, r.text
        done = wait_done(c, job_of(r))
        assert (done["state"], done["message"].split(":")[0]) == ("REFUSED",
                                                                   "CREATED_AT_INVALID")
        assert wait_done(c, job_of(upload(c, taken)))["state"] == "DONE"
        _tamper(taken, "CHECKSUM_MISMATCH", world)
        r = upload(c, taken)
        assert r.status_code == 202, r.text
        done = wait_done(c, job_of(r))
        assert (done["state"], done["message"].split(":")[0]) == ("REFUSED",
                                                                   "REQUEST_ID_REUSED")


def test_repeated_bad_credentials_are_rate_limited(world, server):
    try:
        with server.client("tgk_dead.beef") as bad:
            codes = [bad.get("/v1/jobs").status_code for _ in range(22)]
        assert codes[0] == 401 and codes[-1] == 429
    finally:
        server.stop()  # the limiter lives in memory: a restart clears it for the next tests
        server.start()


def test_restart_mid_job_completes_and_discloses_each_record_once(world, server, tmp_path):
    """Kill -9 the server while a job runs; start it again; the job completes, and the
    ledger holds each disclosure once."""
    srv = server
    req = fresh_request(world, tmp_path, "ICE-API-RESTART")
    try:
        with srv.client(world.token) as c:
            job_id = upload(c, req).json()["job_id"]
            deadline = time.monotonic() + 60
            while c.get(f"/v1/jobs/{job_id}").json()["state"] != "RUNNING":
                assert time.monotonic() < deadline
                time.sleep(0.02)
        srv.kill()
        srv.start()
        with srv.client(world.token) as c:
            done = wait_done(c, job_id)
            assert done["state"] == "DONE" and done["exit_code"] == 0
            results = c.get(f"/v1/jobs/{job_id}/results.csv").text
    finally:
        srv.stop()
    confirmed = [r["record_id"] for r in csv.DictReader(io.StringIO(results))
                 if r["outcome"] == "CONFIRMED"]
    with Gateway(world.settings) as gw, gw.lock() as s:
        events = [e for e in s.ledger_entries() if e.request_id == "ICE-API-RESTART"]
    kinds = Counter(e.event_type for e in events)
    assert kinds["REQUEST_RECEIVED"] == 1 and kinds["DECISIONS_RECORDED"] == 1
    disclosed = [e.payload["record_id"] for e in events if e.event_type == "DISCLOSURE"]
    assert sorted(disclosed) == sorted(confirmed) and len(set(disclosed)) == len(disclosed)
    assert done["counts"]["CONFIRMED"] == len(confirmed)
    srv.start()


def test_no_taxpayer_value_in_any_api_body(world, server, tmp_path):
    """R37: status, lists and errors carry ids, states, counts and reason codes only."""
    names = set()
    with world.paths.taxpayers.open(encoding="utf-8") as f:
        for row in csv.DictReader(f):
            names.update({row["tin"], row["street_address"]})
    with server.client(world.token) as c:
        bodies = [c.get("/v1/jobs").text, c.get("/v1/jobs/nope").text,
                  c.get("/v1/requests/ICE-API-0001/follow-ups").text]
    blob = json.dumps(bodies)
    assert not [n for n in names if n and n in blob]
