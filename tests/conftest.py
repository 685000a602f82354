"""Shared fixtures, by section: environment, PostgreSQL server, stores.

Add new fixtures under a section of their own; keep this file an index of the
real backends the suite runs against (no mocks: real DuckDB files, a real server).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from xdist_groups import pytest_collection_modifyitems  # noqa: F401  (a hook: xdist groups)

from taxgate.settings import Settings
from taxgate.store import open_store
from taxgate.store.base import Store

# --- environment ---------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                  tmp_path_factory: pytest.TempPathFactory) -> None:
    """No test reads the developer's key, store, config or cache folder. The cache (a
    PostgreSQL store's matching replica, named by the database's URL: each test's is
    new) is one per test process, so a module's world keeps its replica across tests."""
    for name in ("TAXGATE_KEY", "TAXGATE_STORE", "TAXGATE_POLICY", "TAXGATE_ANCHOR",
                 "TAXGATE_PG_REPLICA"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.getbasetemp() / "xdg-cache"))


@pytest.fixture(scope="session", autouse=True)
def _models_once(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Where the worlds' trained models are kept for the session (tests/world_cache.py),
    for the `taxgate load` of worlds built through the CLI (tests/trained_cli.py)."""
    from world_cache import session_dir

    os.environ["TAXGATE_TEST_MODELS"] = str(session_dir(tmp_path_factory))
    yield
    os.environ.pop("TAXGATE_TEST_MODELS", None)


# --- PostgreSQL server -----------------------------------------------------------------------


@dataclass(frozen=True)
class PgTarget:
    """A PostgreSQL server for tests: its admin URL and, when we started it, its data folder."""

    url: str
    data_dir: Path | None


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgTarget]:
    """TAXGATE_TEST_PG_URL when set, else a server started for this test process (one per
    xdist worker, each on its own port and folder) and removed at the end."""
    configured = os.environ.get("TAXGATE_TEST_PG_URL")
    if configured:
        yield PgTarget(configured, None)
        return
    from pg_server import running_server

    with running_server() as server:
        yield PgTarget(server.url, server.data)


@pytest.fixture
def pg_url(pg_server: PgTarget) -> Iterator[str]:
    """A fresh, empty database on the test server, dropped after the test."""
    import psycopg

    name = f"taxgate_t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(pg_server.url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    base, _, _ = pg_server.url.rpartition("/")
    yield f"{base}/{name}"
    with psycopg.connect(pg_server.url, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# --- stores ------------------------------------------------------------------------------------

ENGINES = ["embedded", pytest.param("postgres", marks=pytest.mark.postgres)]


@pytest.fixture(params=ENGINES)
def store_settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    """Settings of a new (not yet initialized) store, once per engine."""
    if request.param == "postgres":
        return Settings(store=request.getfixturevalue("pg_url"))
    return Settings(store=str(tmp_path / "store"))


@pytest.fixture
def store(store_settings: Settings) -> Iterator[Store]:
    """An initialized store on each engine, closed after the test."""
    s = open_store(store_settings, create=True)
    s.initialize()
    try:
        yield s
    finally:
        s.close()
