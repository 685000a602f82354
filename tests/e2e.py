"""Helpers for end-to-end tests: run the real `taxgate` CLI, re-sign request packages."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from taxgate.canonical import (
    load_private_key_pem,
    load_public_key_pem,
    new_data_key,
    sha256_file,
    sign_object,
)
from taxgate.synth import synth_all


@dataclass
class Run:
    code: int
    stdout: str
    stderr: str


# Environment a store needs on every call (a PostgreSQL store's TAXGATE_KEY).
STORE_ENV: dict[str, dict[str, str]] = {}


# The CLI with training remembered per input: for the worlds fixtures build.
TRAINED_CLI = [str(Path(__file__).with_name("trained_cli.py"))]


def taxgate(*args: str, store: str, env: dict[str, str] | None = None,
            cli: list[str] | None = None) -> Run:
    """Run ``python -m taxgate.cli ARGS`` (or ``cli``) against ``store``; never raises
    on failure."""
    full_env = {**os.environ, "TAXGATE_STORE": store, "COLUMNS": "200",
                **STORE_ENV.get(store, {}), **(env or {})}
    full_env.pop("TAXGATE_DEBUG", None)
    p = subprocess.run(
        [sys.executable, *(cli or ["-m", "taxgate.cli"]), *args],
        env=full_env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    return Run(p.returncode, p.stdout, p.stderr)


def prepare_store(store: str, paths: Any, env: dict[str, str] | None = None) -> None:
    """`init`, `load` the synthetic filings and register the synthetic official (the
    load trains once per population and session: ``TRAINED_CLI``)."""
    for args in (("init",), ("load", str(paths.taxpayers)),
                 ("officials", "add", "ice-director", "--agency", "DHS-ICE", "--title",
                  "Director", "--public-key", str(paths.public_key), "--valid-from",
                  "2026-01-01")):
        run = taxgate(*args, store=store, env=env,
                      cli=TRAINED_CLI if args[0] == "load" else None)
        assert run.code == 0, (args[0], run.stderr)


def copy_request(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    return dst


def resign(request_dir: Path, private_key: Path, **changes: Any) -> dict[str, Any]:
    """Apply ``changes`` to the manifest, refresh digest and count, sign it again."""
    path = request_dir / "manifest.json"
    m = json.loads(path.read_text(encoding="utf-8"))
    m.pop("signature", None)
    m.update(changes)
    records = request_dir / m["records_file"]
    if "records_sha256" not in changes and records.exists():
        m["records_sha256"] = sha256_file(records)
    key = load_private_key_pem(private_key.read_bytes())
    signed = sign_object(key, m)
    path.write_text(json.dumps(signed), encoding="utf-8")
    return signed


def results(response_dir: Path) -> list[dict[str, str]]:
    import csv

    with (response_dir / "results.csv").open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def gateway_key(store: str) -> Any:
    """The store's public signing key, read once per store and test process through
    `taxgate gateway-key` (the key of a store never changes)."""
    if store not in _GATEWAY_KEYS:
        run = taxgate("gateway-key", store=store)
        assert run.code == 0, run.stderr
        _GATEWAY_KEYS[store] = (run.stdout, load_public_key_pem(run.stdout))
    return _GATEWAY_KEYS[store][1]


_GATEWAY_KEYS: dict[str, tuple[str, Any]] = {}


@dataclass(frozen=True)
class Answered:
    """The synthetic world of the end-to-end tests: 4,000 taxpayers and a request of
    1,200 records (seed 7), the filings loaded and the request answered through the CLI
    into ``root / "response"``."""

    paths: Any
    store: str
    root: Path
    answered: Run


_ANSWERED: dict[str, Answered] = {}


def answered_world(factory: Any, engine: str = "embedded",
                   pg_admin_url: str | None = None) -> Answered:
    """One :class:`Answered` world per engine and test process, shared by the modules
    of the ``e2e`` xdist group (test_cli_e2e, test_agency_kit): building it is their
    largest cost. Tests add requests of their own ids to it and assert on those, never
    on the store's totals."""
    if engine not in _ANSWERED:
        root = factory.mktemp(f"world-{engine}")
        paths = synth_all(root / "synthetic", 4_000, 1_200, seed=7)
        if engine == "postgres":
            assert pg_admin_url, "the postgres world needs the test server"
            store = new_pg_database(pg_admin_url, "taxgate_e2e_")
            STORE_ENV[store] = {"TAXGATE_KEY": new_data_key()}
        else:
            store = str(root / "store")
        prepare_store(store, paths)
        answered = taxgate("process", str(paths.request_dir), "--out",
                           str(root / "response"), store=store)
        _ANSWERED[engine] = Answered(paths, store, root, answered)
    return _ANSWERED[engine]


def new_pg_database(admin_url: str, prefix: str = "taxgate_t_") -> str:
    """A new, empty database on the test server at ``admin_url``; its URL."""
    import psycopg

    name = f"{prefix}{uuid.uuid4().hex[:10]}"
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    return f"{admin_url.rpartition('/')[0]}/{name}"
