"""Fuzz the API against a running server on both stores: the published OpenAPI schema
(schemathesis: no request gets a 500, every answer conforms to the document, every error
is RFC 9457 problem details with a documented code, no body carries a taxpayer value,
R37), and
generated request packages uploaded under each agency's credential (Hypothesis,
``fuzzkit``): never a 5xx, every accepted job answered to its own agency only."""

from __future__ import annotations

import csv
import dataclasses
import io
import tempfile
from pathlib import Path

import fuzzkit
import pytest
import schemathesis
from api_world import ENGINES_PARAMS, Server, job_of, shared_world, wait_done
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from taxgate.api import create_app
from taxgate.api.problems import PROBLEMS
from taxgate.settings import ServiceSettings, Settings

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("service")]

# The schema as the server publishes it; building the app touches no store (its spool
# folder goes to a temporary directory, not the working directory).
schema = schemathesis.openapi.from_dict(create_app(dataclasses.replace(
    Settings(store="unused"),
    service=ServiceSettings(spool_dir=Path(tempfile.mkdtemp(prefix="taxgate-spool-"))))).openapi())


@pytest.fixture(scope="module", params=ENGINES_PARAMS)
def target(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    pg = request.getfixturevalue("pg_server").url if request.param == "postgres" else None
    world = shared_world(request.param, tmp_path_factory, pg)
    values = set()
    with world.paths.taxpayers.open(encoding="utf-8") as f:
        for row in csv.DictReader(f):
            values.update(v for k, v in row.items() if k in ("tin", "street_address", "last_name")
                          and v and len(v) >= 5)
    srv = Server(world, TAXGATE_MAX_UPLOAD_BYTES="200000").start()
    yield srv, world, values
    srv.stop()


# Every answer must match the document: its status declared, its media type, its body
# and headers as declared.
CONFORMANCE = [schemathesis.checks.not_a_server_error,
               schemathesis.checks.status_code_conformance,
               schemathesis.checks.content_type_conformance,
               schemathesis.checks.response_schema_conformance,
               schemathesis.checks.response_headers_conformance]


@schema.parametrize()
@settings(max_examples=12, deadline=None, derandomize=True,
          suppress_health_check=list(HealthCheck))
def test_no_server_errors_and_no_taxpayer_values(case, target):
    srv, world, values = target
    for token in (world.token, None):
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        response = case.call(base_url=srv.url, headers=headers, timeout=60)
        assert response.status_code < 500, (case.method, case.path, response.text[:300])
        body = response.text
        assert not [v for v in values if v in body], (case.method, case.path)
        case.validate_response(response, checks=CONFORMANCE)
        if response.status_code >= 400:
            assert_problem_details(response)


def assert_problem_details(response) -> None:  # noqa: ANN001
    """RFC 9457: the media type, the five members, a code of the one list."""
    assert _header(response, "content-type") == "application/problem+json", response.headers
    problem = response.json()
    assert {"type", "title", "status", "detail", "code"} <= set(problem), problem
    assert problem["status"] == response.status_code and problem["code"] in PROBLEMS
    assert PROBLEMS[problem["code"]].status == response.status_code
    if response.status_code in (409, 429, 503):
        assert _header(response, "retry-after").isdigit()


def _header(response, name: str) -> str:  # noqa: ANN001
    value = response.headers[name]  # schemathesis: a list of values; httpx: one string
    return value[0] if isinstance(value, list) else value


# --- generated request packages over the API ---------------------------------------------

BASE: list[dict[str, str]] = []  # the world's request records; filled before any draw


@pytest.fixture(scope="module")
def uploads(target, tmp_path_factory: pytest.TempPathFactory):
    """A FuzzWorld view of the server's world: ICE signs with the registered key, CBP
    with a key of its own (not registered there: its packages are refused, never
    answered with ICE's)."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from fuzzkit import FuzzWorld

    from taxgate.canonical import load_private_key_pem

    srv, world, _ = target
    ice = load_private_key_pem(world.paths.private_key.read_bytes())
    with world.paths.request_dir.joinpath("records.csv").open(encoding="utf-8") as f:
        base = list(csv.DictReader(f))
    BASE[:] = base
    fw = FuzzWorld(tmp_path_factory.mktemp("api-fuzz"), world.settings.store, world.key,
                   {"DHS-ICE": ice, "DHS-CBP": Ed25519PrivateKey.generate()}, base)
    return srv, world, fw


@settings(max_examples=10, deadline=None, derandomize=True, database=None,
          phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
@given(p=fuzzkit.packages(BASE), token_mode=st.sampled_from(
    ["own", "own", "own", "other", "garbage"]))
def test_generated_uploads_are_answered_to_their_own_agency_only(uploads, p, token_mode):
    """Whatever is uploaded: never a 5xx; an accepted job ends DONE with exit 0 or 2
    (never FAILED), its response downloadable by its agency and by no other, every
    readable record accounted for, and never another agency's answer."""
    srv, world, fw = uploads
    fw.count += 1
    if p.replay_of is not None:
        return  # replays are the CLI fuzz's; here every upload is a package of its own
    directory = fw.root / "pkgs" / str(fw.count)
    data = fw.write(p, directory)
    own = world.token if p.agency == "DHS-ICE" else world.other_token
    token = {"own": own, "other": world.other_token if own == world.token else world.token,
             "garbage": "tgk_0.bad"}[token_mode]
    parts = {}
    if (directory / "manifest.json").is_file():
        parts["manifest"] = ("manifest.json", (directory / "manifest.json").read_bytes())
    records = [f for f in directory.iterdir() if f.name != "manifest.json"]
    if records and records[0].is_file():
        parts["records"] = (records[0].name, records[0].read_bytes())
    with srv.client(token) as c:
        r = c.post("/v1/jobs", files=parts) if parts else c.post("/v1/jobs")
        assert r.status_code < 500, r.text[:300]
        if r.status_code >= 400:
            assert_problem_details(r)
        refused = r.status_code == 400 and r.json()["code"] == "REQUEST_REFUSED"
        if r.status_code != 202 and not refused:
            return
        job = wait_done(c, job_of(r))
        assert (job["state"], job["exit_code"]) in (("DONE", 0), ("REFUSED", 2)), job
        if refused:  # answered at upload with the reason the job's response gives
            assert job["state"] == "REFUSED"
        resp = c.get(f"/v1/jobs/{job['job_id']}/response.json")
        results = c.get(f"/v1/jobs/{job['job_id']}/results.csv")
    with srv.client(world.other_token if token == world.token else world.token) as other:
        assert other.get(f"/v1/jobs/{job['job_id']}/response.json").status_code in (401, 404)
    if results.status_code == 403:  # R4: an answer goes to the people its package names
        from api_world import first_officer

        from taxgate.gateway.delivery import named_recipients
        from taxgate.identifiers import canonical_key

        named = {canonical_key(r) for r in named_recipients(directory)}
        holder = canonical_key(first_officer(world.paths)) if token == world.token else None
        assert job["exit_code"] == 0 and holder not in named and resp.status_code == 403
        return
    assert resp.status_code == 200 and results.status_code == 200
    agency = "DHS-ICE" if token == world.token else "DHS-CBP"
    answer = fuzzkit.Answer(job["exit_code"], job["message"] or "", None, resp.json(),
                            list(csv.DictReader(io.StringIO(results.text))))
    problems = fuzzkit.check(fw, dataclasses.replace(p, agency=agency), answer, data)
    assert problems == [], f"{p.describe()} records={data[:400]!r} message={job['message']!r}"
