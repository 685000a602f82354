"""Fuzz the published OpenAPI schema (schemathesis) against a running server on both
stores: no request gets a 500, and no body carries a taxpayer value (R37)."""

from __future__ import annotations

import csv

import pytest
import schemathesis
from api_world import ENGINES_PARAMS, Server, shared_world
from hypothesis import HealthCheck, settings

from taxgate.api import create_app
from taxgate.service.config import ServiceSettings
from taxgate.settings import Settings

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("service")]

# The schema as the server publishes it; building the app touches no store.
schema = schemathesis.openapi.from_dict(
    create_app(ServiceSettings(Settings(store="unused"))).openapi())


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
