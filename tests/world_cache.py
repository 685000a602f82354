"""Train each distinct test world's model once per test session, shared by xdist workers.

A world (a synthetic population loaded into a store, a trained model) takes tens of
seconds to build, most of it Splink's training. :func:`trained_once` makes
``taxgate.matching.train`` remember its answer for the same training input (the filings'
ids, TINs and model columns, the arguments and the version of taxgate's code) in a folder
of the session that every xdist worker shares (a file lock makes a second worker wait for
the first instead of training too), so the embedded and the PostgreSQL world of one
population train once. The model is the one the real training gave for exactly that
input (and training is repeatable: the same input gives the same JSON). Tests about
training do not use it. ``trained_cli.py`` is
the CLI with it, for the worlds fixtures build with `taxgate load`.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pytest

import taxgate
from taxgate import matching
from taxgate.matching.duckdb import MODEL_COLUMNS

# The suite's synthetic populations (people, seed). A distinct population costs about
# 30 CPU seconds of Splink training, whatever its size; worlds built on one of these
# (any number of request records) reuse the session's model. A new world should take one.
SMALL = (400, 23)  # the hostile-input, fuzz, untrusted-text, ledger and progress worlds
LARGE = (2_000, 11)  # the service, crash-safety and Spark worlds


@cache
def code_version() -> str:
    """A digest of taxgate's code and data files (a changed file trains again)."""
    package = Path(taxgate.__file__).parent
    digest = hashlib.sha256()
    for path in sorted(package.rglob("*")):
        if path.is_file() and path.suffix in {".py", ".csv", ".txt", ".sql"}:
            digest.update(str(path.relative_to(package)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def session_dir(factory: pytest.TempPathFactory) -> Path:
    """A folder of this test session shared by its xdist workers (their base temp
    folders are ``popen-gwN`` under the session's)."""
    base = factory.getbasetemp()
    root = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    folder = root / "world-cache"
    folder.mkdir(exist_ok=True)
    return folder


def _key(name: str, params: object) -> str:
    text = json.dumps([name, params, code_version()], sort_keys=True, default=repr)
    return f"{name}-{hashlib.sha256(text.encode()).hexdigest()[:16]}"


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    with path.open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _input_digest(con: Any, filings: str) -> str:
    """A digest of what training reads of ``filings``: ids, TINs and model columns. Read
    with ``fetchone``, its result stays open on ``con`` (test_model_versions relies on
    it: a training that leaves its reader so must not hold the index's checkpoint)."""
    cols = ", ".join(dict.fromkeys(("filing_id", "tin", *MODEL_COLUMNS)))
    row = con.execute(
        f"SELECT count(*), md5(string_agg(md5(CAST(row({cols}) AS VARCHAR)), ',' "
        f"ORDER BY filing_id)) FROM {filings}").fetchone()
    return f"{row[0]}-{row[1]}"


@contextlib.contextmanager
def trained_once(where: pytest.TempPathFactory | Path) -> Iterator[None]:
    """Within the block, ``matching.train`` trains once per distinct input and session
    (``where``: the session's temp path factory, or the folder of its models)."""
    real = matching.train
    cache_dir = where if isinstance(where, Path) else session_dir(where)

    def train(con: Any, **kwargs: Any) -> str:
        # what is read, not where from, nor the connection the model is estimated in
        params = sorted((k, v) for k, v in kwargs.items() if k not in ("filings", "work"))
        key = _key("model", [_input_digest(con, kwargs.get("filings", "filings")), params])
        path = cache_dir / f"{key}.json"
        with _locked(cache_dir / f"{key}.lock"):
            if not path.is_file():
                model_json = real(con, **kwargs)
                path.with_suffix(".partial").write_text(model_json, encoding="utf-8")
                path.with_suffix(".partial").rename(path)
            return path.read_text(encoding="utf-8")

    matching.train = train  # type: ignore[assignment]
    try:
        yield
    finally:
        matching.train = real  # type: ignore[assignment]
