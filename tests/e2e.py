"""Helpers for end-to-end tests: run the real `taxgate` CLI, re-sign request packages."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from taxgate.canonical import load_private_key_pem, sha256_file, sign_object


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
