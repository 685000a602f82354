"""Standardization's lookup tables kept between processes, in one encrypted file.

Building the lookup tables reads the data CSVs and expands every city's spellings in
Python: about 0.4 s at the start of every ``taxgate process``, whatever the request's
size. The finished tables are kept in one DuckDB file per *fingerprint* of all they are
made from (the data files, the code of this package, DuckDB's version), encrypted and
authenticated with the store's key, and copied from it into the connection's TEMP
tables (under 0.1 s). A file that cannot be read (absent, damaged, another key or
fingerprint) is ignored and made again; a change to any data file or to this package's
code names a new file, so a kept table is never staler than the code. The file holds
only public reference data, never taxpayer data.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import secrets
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path

import duckdb

_log = logging.getLogger(__name__)

_ALIAS = "_tg_lookups"
_PREFIX = "std-lookups-"


@cache
def fingerprint(folders: tuple[str, ...] = ("data", "standardize")) -> str:
    """A digest of everything the lookup tables are made from: each file of the
    package's ``folders`` (name and bytes: the data files and this package's modules),
    and DuckDB's version."""
    digest = hashlib.sha256(f"duckdb {duckdb.__version__}\n".encode())
    root = resources.files("taxgate")
    for folder in folders:
        for item in sorted(root.joinpath(folder).iterdir(), key=lambda p: p.name):
            if item.is_file() and not item.name.endswith((".pyc", ".pyo")):
                digest.update(f"{folder}/{item.name}\n".encode())
                digest.update(hashlib.sha256(item.read_bytes()).digest())
    return digest.hexdigest()


def _quote(text: str) -> str:
    return text.replace("'", "''")


@dataclass(frozen=True)
class LookupCache:
    """Where one store keeps the lookup tables on this host (``folder``, owner-only),
    and the key (hex) that encrypts them: the store's own."""

    folder: Path
    key: str

    @property
    def path(self) -> Path:
        """The file of the current fingerprint."""
        return self.folder / f"{_PREFIX}{fingerprint()[:32]}.duckdb"

    def restore(self, con: duckdb.DuckDBPyConnection, tables: tuple[str, ...]) -> bool:
        """Copy ``tables`` from the kept file into TEMP tables of ``con``; False (and
        nothing to rely on) when the file is absent or unreadable."""
        if not self.path.is_file():
            return False
        try:
            con.execute(f"ATTACH '{_quote(str(self.path))}' AS {_ALIAS} "
                        f"(READ_ONLY, ENCRYPTION_KEY '{_quote(self.key)}')")
        except duckdb.Error as exc:
            _log.info("standardization lookups not reused (%s): built again",
                      type(exc).__name__)
            return False
        try:
            for table in tables:
                con.execute(f"CREATE OR REPLACE TEMP TABLE {table} AS "
                            f"SELECT * FROM {_ALIAS}.main.{table}")
            return True
        except duckdb.Error as exc:
            _log.info("standardization lookups not reused (%s): built again",
                      type(exc).__name__)
            return False
        finally:
            with contextlib.suppress(duckdb.Error):
                con.execute(f"DETACH {_ALIAS}")

    def keep(self, con: duckdb.DuckDBPyConnection, tables: tuple[str, ...]) -> None:
        """Write ``tables`` (TEMP tables of ``con``) to the file of the current
        fingerprint, whole or not at all (a new file renamed into place), and remove
        the files of other fingerprints. Best effort: a failure leaves the next
        process to build the tables again."""
        tmp = self.folder / f".{_PREFIX}{os.getpid()}-{secrets.token_hex(4)}.tmp"
        attached = False
        try:
            self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
            con.execute(f"ATTACH '{_quote(str(tmp))}' AS {_ALIAS} "
                        f"(ENCRYPTION_KEY '{_quote(self.key)}')")
            attached = True
            for table in tables:
                con.execute(f"CREATE TABLE {_ALIAS}.main.{table} AS "
                            f"SELECT * FROM temp.main.{table}")
            con.execute(f"DETACH {_ALIAS}")
            attached = False
            os.replace(tmp, self.path)
        except (duckdb.Error, OSError) as exc:
            _log.info("standardization lookups not kept (%s)", type(exc).__name__)
            return
        finally:
            if attached:
                with contextlib.suppress(duckdb.Error):
                    con.execute(f"DETACH {_ALIAS}")
            for leftover in (tmp, tmp.with_name(tmp.name + ".wal")):
                with contextlib.suppress(OSError):
                    leftover.unlink()
        for old in self.folder.glob(f"{_PREFIX}*.duckdb*"):
            if not old.name.startswith(self.path.name):
                with contextlib.suppress(OSError):
                    old.unlink()
