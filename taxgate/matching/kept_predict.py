"""What Splink writes for this code, kept between processes, sealed under a store's key.

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

This code's comparisons as Splink writes them (:func:`taxgate.matching.levels.comparison_dicts`:
the levels a stored model is checked against and the evidence is labelled with) are kept
the same way, under a digest of the code and Splink's version (:func:`use_kept_comparisons`),
so a process whose statements are kept never imports Splink (about 0.2 s).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import secrets
from importlib.metadata import version
from pathlib import Path
from typing import Any

import duckdb

from taxgate.canonical import decrypt_bytes, encrypt_bytes
from taxgate.matching import levels
from taxgate.matching.predict_sql import LEFT, RIGHT, Compiled
from taxgate.standardize.lookup_cache import LookupCache, fingerprint

_log = logging.getLogger(__name__)
_PREFIX = "predict-"
_COMPARISONS = "comparisons-"


def digest(con: duckdb.DuckDBPyConnection, spec: dict, tf: dict[str, str]) -> str:
    """What the statements of a predict depend on: the model (``spec``, its prior
    included), the term-frequency tables ``tf`` by name, the columns and types of the
    input views as they are now, the code that writes and rewrites the statements
    (this package, standardization's, Splink's and DuckDB's versions)."""
    views = {v: con.execute(f"DESCRIBE {v}").fetchall() for v in (LEFT, RIGHT)}
    what = {"spec": spec, "tf": tf, "views": views, **_code()}
    return hashlib.sha256(json.dumps(what, sort_keys=True, default=str).encode()).hexdigest()


def _code() -> dict[str, str]:
    """What Splink writes depends on besides its inputs: this code and Splink's version."""
    return {"splink": version("splink"), "code": fingerprint(("matching", "standardize", "data"))}


def load(cache: LookupCache, key: str) -> Compiled | None:
    """The statements kept under ``key``; None when there are none this store sealed."""
    kept = _open(cache, _PREFIX, key)
    if kept is None:
        return None
    try:
        return Compiled(tuple(kept["statements"]), int(kept["blocking"]), str(kept["output"]))
    except Exception as exc:  # noqa: BLE001 - any unusable file is simply not used
        _log.info("kept predict not used (%s): recorded again", type(exc).__name__)
        return None


def keep(cache: LookupCache, key: str, compiled: Compiled) -> None:
    """Seal ``compiled`` under ``key`` (a new file renamed into place) and remove the
    files of other digests. Best effort: a failure leaves the next process to record."""
    _seal(cache, _PREFIX, key, {"statements": list(compiled.statements),
                                "blocking": compiled.blocking, "output": compiled.output})


def use_kept_comparisons(cache: LookupCache | None) -> None:
    """Give this process this code's comparisons (:func:`levels.comparison_dicts`) from the
    host's kept file of this code and Splink's version, or make them through Splink and
    keep them there; nothing when the process has them already or ``cache`` is None."""
    if cache is None or levels.comparison_dicts_made():
        return
    key = hashlib.sha256(json.dumps(_code(), sort_keys=True).encode()).hexdigest()
    kept = _open(cache, _COMPARISONS, key)
    if isinstance(kept, list) and all(isinstance(d, dict) for d in kept):
        levels.use_comparison_dicts(tuple(kept))
        return
    _seal(cache, _COMPARISONS, key, list(levels.comparison_dicts()))


def _path(cache: LookupCache, prefix: str, key: str) -> Path:
    return cache.folder / f"{prefix}{key[:32]}.sealed"


def _open(cache: LookupCache, prefix: str, key: str) -> Any:
    """The JSON value sealed under ``key``; None when this store's key sealed none."""
    try:
        blob = _path(cache, prefix, key).read_bytes()
    except OSError:
        return None
    try:
        return json.loads(decrypt_bytes(cache.key, blob, key.encode()))
    except Exception as exc:  # noqa: BLE001 - any unreadable file is simply not used
        _log.info("kept %s file not used (%s): made again", prefix[:-1], type(exc).__name__)
        return None


def _seal(cache: LookupCache, prefix: str, key: str, value: Any) -> None:
    """Seal the JSON ``value`` under ``key`` (a new file renamed into place) and remove the
    files of ``prefix`` of other digests. Best effort: a failure leaves the next process
    to make it again."""
    path = _path(cache, prefix, key)
    tmp = cache.folder / f".{prefix}{os.getpid()}-{secrets.token_hex(4)}.tmp"
    try:
        data = json.dumps(value).encode()
        cache.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(encrypt_bytes(cache.key, data, key.encode()))
        os.replace(tmp, path)
    except (OSError, TypeError, ValueError) as exc:
        _log.info("%s not kept (%s)", prefix[:-1], type(exc).__name__)
        with contextlib.suppress(OSError):
            tmp.unlink()
        return
    for old in cache.folder.glob(f"{prefix}*.sealed"):
        if old != path:
            with contextlib.suppress(OSError):
                old.unlink()
