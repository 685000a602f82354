"""A small synthetic world for the hostile-input tests, once per engine and test process:
filings loaded, DHS-ICE's request answered once, officials of DHS-ICE (one whose
registration ended in 2021) and of DHS-CBP registered; and helpers to send it altered
packages."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest
from e2e import STORE_ENV, copy_request, resign, results
from world_cache import trained_once

from taxgate.canonical import (
    new_data_key,
    new_signing_key,
    private_key_pem,
    public_key_pem,
    verify_object,
)
from taxgate.domain import LedgerEntry, Official
from taxgate.gateway import Gateway
from taxgate.pipeline.common import ProcessResult
from taxgate.settings import Settings
from taxgate.synth import synth_all
from taxgate.synth.workflow import SynthPaths

ICE_ID = "ICE-2026-000123"
RECORDS = 40


@dataclass
class World:
    root: Path
    paths: SynthPaths
    settings: Settings
    cbp_key: Path  # DHS-CBP's cbp-commissioner
    ended_key: Path  # DHS-ICE's ice-acting-2021, registered for 2021 only
    answered: ProcessResult

    @property
    def store(self) -> str:
        return self.settings.store


def key_file(path: Path) -> tuple[Path, str]:
    key = new_signing_key()
    path.write_bytes(private_key_pem(key))
    return path, public_key_pem(key)


@pytest.fixture(name="world", scope="module",
                params=["embedded", pytest.param("postgres", marks=pytest.mark.postgres)])
def world_fixture(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
                  ) -> World:
    """The world of one engine, built once per test process and shared by the modules
    that use it (test_intake_hostile, test_fuzz_regressions: one xdist group). Tests
    send requests of their own and assert on those or on what changed, never on the
    store's totals."""
    if request.param not in _WORLDS:
        pg = request.getfixturevalue("pg_server").url if request.param == "postgres" else None
        _WORLDS[request.param] = _build(tmp_path_factory, pg)
    return _WORLDS[request.param]


_WORLDS: dict[str, World] = {}


def _build(tmp_path_factory: pytest.TempPathFactory, pg: str | None) -> World:
    root = tmp_path_factory.mktemp("hostile")
    paths = synth_all(root / "synthetic", 400, RECORDS, seed=23)
    key = new_data_key()
    store = _pg_database(pg) if pg else str(root / "store")
    STORE_ENV[store] = {"TAXGATE_KEY": key}
    settings = Settings(store=store, key_hex=key)
    with Gateway(settings) as gw:
        gw.init()
        with trained_once(tmp_path_factory):
            gw.load(paths.taxpayers)
    cbp_key, cbp_pem = key_file(root / "cbp.pem")
    ended_key, ended_pem = key_file(root / "ended.pem")
    for official in (
        Official("ice-director", "DHS-ICE", "Director", paths.public_key.read_text(),
                 dt.date(2020, 1, 1)),
        Official("cbp-commissioner", "DHS-CBP", "Commissioner", cbp_pem, dt.date(2020, 1, 1)),
        Official("ice-acting-2021", "DHS-ICE", "Acting Director", ended_pem,
                 dt.date(2021, 1, 1), dt.date(2021, 12, 31)),
    ):
        with Gateway(settings) as gw:
            gw.add_official(official, "test")
    with Gateway(settings) as gw:
        answered = gw.process(paths.request_dir, root / "ice-response")
    assert answered.exit_code == 0, answered.message
    return World(root, paths, settings, cbp_key, ended_key, answered)


def _pg_database(server_url: str) -> str:
    import psycopg

    name = f"taxgate_h_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(server_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    return f"{server_url.rpartition('/')[0]}/{name}"


# --- helpers --------------------------------------------------------------------------------


def package(world: World, tmp_path: Path, key: Path | None = None, **changes: object) -> Path:
    """A copy of ICE's request, signed again (by ``key``, else ICE's) with ``changes``."""
    req = copy_request(world.paths.request_dir, tmp_path / f"req-{uuid.uuid4().hex[:6]}")
    resign(req, key or world.paths.private_key, **changes)
    return req


def run(world: World, req: Path, out: Path, settings: Settings | None = None) -> ProcessResult:
    with Gateway(settings or world.settings) as gw:
        return gw.process(req, out)


def ledger(world: World) -> list[LedgerEntry]:
    """The ledger's entries about requests: checkpoints and each command's own audit
    record (OPERATOR_ACTION, R33, logged whatever the command's outcome) aside."""
    with Gateway(world.settings) as gw, gw.lock() as st:
        return [e for e in st.ledger_entries()
                if e.event_type not in ("CHECKPOINT", "OPERATOR_ACTION")]


def gateway_key(world: World):  # noqa: ANN201
    with Gateway(world.settings) as gw, gw.lock() as st:
        return st.signing_key().public_key()


def response_json(out: Path) -> dict:
    return json.loads((out / "response.json").read_text(encoding="utf-8"))


def assert_every_record_rejected(world: World, out: Path, code: str) -> None:
    rows = results(out)
    submitted = [r["record_id"] for r in results(world.root / "ice-response")]
    assert [r["record_id"] for r in rows] == submitted and len(rows) == RECORDS
    assert {(r["outcome"], r["reasons"]) for r in rows} == {("REJECTED", code)}
    resp = response_json(out)
    assert verify_object(gateway_key(world), resp) and "records_unreadable" not in resp


def ice_outcomes(world: World) -> dict[str, tuple[str, str]]:
    return {r["record_id"]: (r["outcome"], r["reasons"])
            for r in results(world.root / "ice-response")}
