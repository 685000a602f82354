"""Splink's predict statements kept between processes, sealed under a store's key.

:mod:`taxgate.matching.predict_sql` records a predict's statements on its first run in
a process and runs them again for the next chunk or job. Recording goes through
Splink (its Linker built from the model, every comparison level's SQL parsed, the
statements written out): about 0.2 s of Python at the start of every
``taxgate process``, for statements that depend only on what :func:`digest` names.
So the recorded statements are also kept on the host, beside standardization's lookup
tables (:class:`~taxgate.standardize.lookup_cache.LookupCache`: its folder and its
key), one file per digest, sealed with AES-256-GCM (the digest authenticated with
them), and the first predict of a later process with the same digest runs them
straight away, as the same process would have. A file that does not open under the
key is ignored and made again: statements are only ever run from a file this store's
key sealed.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import secrets
from pathlib import Path

import duckdb
import splink

from taxgate.canonical import decrypt_bytes, encrypt_bytes
from taxgate.matching.predict_sql import LEFT, RIGHT, Compiled
from taxgate.standardize.lookup_cache import LookupCache, fingerprint

_log = logging.getLogger(__name__)
_PREFIX = "predict-"


def digest(con: duckdb.DuckDBPyConnection, spec: dict, tf: dict[str, str]) -> str:
    """What the statements of a predict depend on: the model (``spec``, its prior
    included), the term-frequency tables ``tf`` by name, the columns and types of the
    input views as they are now, the code that writes and rewrites the statements
    (this package, standardization's, Splink's and DuckDB's versions)."""
    views = {v: con.execute(f"DESCRIBE {v}").fetchall() for v in (LEFT, RIGHT)}
    what = {"spec": spec, "tf": tf, "views": views, "splink": splink.__version__,
            "code": fingerprint(("matching", "standardize", "data"))}
    return hashlib.sha256(json.dumps(what, sort_keys=True, default=str).encode()).hexdigest()


def _path(cache: LookupCache, key: str) -> Path:
    return cache.folder / f"{_PREFIX}{key[:32]}.sealed"


def load(cache: LookupCache, key: str) -> Compiled | None:
    """The statements kept under ``key``; None when there are none this store sealed."""
    path = _path(cache, key)
    try:
        blob = path.read_bytes()
    except OSError:
        return None
    try:
        kept = json.loads(decrypt_bytes(cache.key, blob, key.encode()))
        return Compiled(tuple(kept["statements"]), int(kept["blocking"]), str(kept["output"]))
    except Exception as exc:  # noqa: BLE001 - any unreadable file is simply not used
        _log.info("kept predict not used (%s): recorded again", type(exc).__name__)
        return None


def keep(cache: LookupCache, key: str, compiled: Compiled) -> None:
    """Seal ``compiled`` under ``key`` (a new file renamed into place) and remove the
    files of other digests. Best effort: a failure leaves the next process to record."""
    path = _path(cache, key)
    data = json.dumps({"statements": list(compiled.statements), "blocking": compiled.blocking,
                       "output": compiled.output}).encode()
    tmp = cache.folder / f".{_PREFIX}{os.getpid()}-{secrets.token_hex(4)}.tmp"
    try:
        cache.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(encrypt_bytes(cache.key, data, key.encode()))
        os.replace(tmp, path)
    except OSError as exc:
        _log.info("predict not kept (%s)", type(exc).__name__)
        with contextlib.suppress(OSError):
            tmp.unlink()
        return
    for old in cache.folder.glob(f"{_PREFIX}*.sealed"):
        if old != path:
            with contextlib.suppress(OSError):
                old.unlink()
