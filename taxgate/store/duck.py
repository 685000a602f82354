"""DuckDB connections as the stores want them: encryption-capable, nothing auto-loaded.

DuckDB reads encrypted databases on its own, but writes them (and encrypted spill
files) only with OpenSSL, which comes in the ``httpfs`` extension. We load that
extension from the pinned ``duckdb-ext-httpfs`` wheel, never from the network.
"""

from __future__ import annotations

import contextlib
import platform
import sys
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pyarrow as pa

from taxgate.errors import KeyUnavailable, StoreBusy, StoreError
from taxgate.settings import Settings


def duckdb_platform() -> str:
    """DuckDB's name for the running platform, e.g. ``linux_amd64``, ``osx_arm64``."""
    machine = platform.machine().lower()
    arch = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}.get(
        machine, machine
    )
    osname = {"linux": "linux", "darwin": "osx", "win32": "windows"}.get(sys.platform, sys.platform)
    return f"{osname}_{arch}"


def httpfs_extension_path() -> Path:
    """The httpfs extension file shipped in the duckdb-ext-httpfs wheel for this platform."""
    version = "v" + duckdb.__version__
    try:
        import duckdb_ext  # the wheel's package
    except ImportError as exc:
        raise StoreError(
            "the duckdb-ext-httpfs package is not installed; it is needed to write the "
            "encrypted store (pip install duckdb-ext-httpfs)"
        ) from exc
    plat = duckdb_platform()
    for root in duckdb_ext.__path__:
        path = Path(root) / "extensions" / version / plat / "httpfs.duckdb_extension"
        if path.is_file():
            return path
    raise StoreError(
        f"duckdb-ext-httpfs holds no httpfs extension for DuckDB {version} on {plat}; "
        "install the wheel matching this DuckDB and platform"
    )


def new_connection(settings: Settings, temp_dir: Path | None = None) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB connection with httpfs loaded and encrypted spill files."""
    config: dict[str, str | bool | int | float | list[str]] = {
        "autoinstall_known_extensions": False,
        "autoload_known_extensions": False,
    }
    con = duckdb.connect(":memory:", config=config)
    try:
        con.execute(f"LOAD '{quote_literal(str(httpfs_extension_path()))}'")
        if con.execute(
            "SELECT count(*) FROM duckdb_settings() WHERE name = 'temp_file_encryption'"
        ).fetchone() == (1,):
            con.execute("SET temp_file_encryption = true")
        if temp_dir is not None:
            con.execute(f"SET temp_directory = '{quote_literal(str(temp_dir))}'")
        if settings.threads:
            con.execute(f"SET threads = {int(settings.threads)}")
        if settings.memory_limit:
            con.execute(f"SET memory_limit = '{quote_literal(settings.memory_limit)}'")
    except duckdb.Error as exc:
        con.close()
        raise StoreError(f"cannot prepare DuckDB: {type(exc).__name__}") from exc
    return con


def quote_literal(text: str) -> str:
    """Escape a value for a single-quoted SQL literal (paths and settings, never data)."""
    return text.replace("'", "''")



def append_arrow(
    con: duckdb.DuckDBPyConnection, catalog: str, table: str, data: pa.Table | pa.RecordBatch
) -> None:
    """Insert Arrow data by column name into ``catalog.main.table`` (:func:`append_select`).
    Used for ``filings``, whose columns the loader owns."""
    con.register("_taxgate_in", data)
    try:
        append_select(con, catalog, table, "SELECT * FROM _taxgate_in")
    finally:
        con.unregister("_taxgate_in")


def append_select(con: duckdb.DuckDBPyConnection, catalog: str, table: str, select: str) -> None:
    """Insert the rows of the query ``select`` by column name into ``catalog.main.table``.

    The table is created from the query's columns when it does not exist; columns a
    later query brings are added (NULL for earlier rows).
    """
    target = f'"{catalog}".main."{table}"'
    row = con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE database_name = ? "
        "AND schema_name = 'main' AND table_name = ?", [catalog, table]).fetchone()
    if not row or not row[0]:
        con.execute(f"CREATE TABLE {target} AS {select}")
        return
    have = {r[0] for r in con.execute(
        "SELECT column_name FROM duckdb_columns() WHERE database_name = ? "
        "AND schema_name = 'main' AND table_name = ?", [catalog, table]).fetchall()}
    for name, dtype, *_ in con.execute(f"DESCRIBE {select}").fetchall():
        if name not in have:
            con.execute(f'ALTER TABLE {target} ADD COLUMN "{name}" {dtype}')
    con.execute(f"INSERT INTO {target} BY NAME {select}")


# Row-group merges at a checkpoint (DuckDB's max_vacuum_tasks). A request's decisions
# and ledger entries are appended in whole row groups, written as they are inserted,
# then a short last one; a checkpoint that merged that short group with the next
# request's rows compressed and wrote them all again (at 400,000 records, 2.2-3.6 s at
# the commit and 1.9 s more when the store closed; 0.3 s each without). A store
# answering requests merges nothing (:func:`no_merges`): each request's rows are
# written once, and the next small append fills the short group as usual.
_MERGES_DEFAULT = 100  # DuckDB's own


def no_merges(con: duckdb.DuckDBPyConnection) -> None:
    """No row-group merges at ``con``'s checkpoints from now on (see above)."""
    con.execute("SET max_vacuum_tasks = 0")


@contextlib.contextmanager
def merging(con: duckdb.DuckDBPyConnection, catalog: str) -> Iterator[None]:
    """Row-group merges as DuckDB makes them for the block, and a checkpoint of
    ``catalog`` after it, which compacts the rows the block deleted; none after. A
    checkpoint refused then (another transaction open) loses nothing: DuckDB checkpoints
    again later. A cursor of this connection must not hold a result open across it:
    DuckDB 1.4 refuses the checkpoint, or waits on that result for good (the training
    beside the index closes its reader when it ends)."""
    con.execute(f"SET max_vacuum_tasks = {_MERGES_DEFAULT}")
    try:
        yield
        with contextlib.suppress(duckdb.Error):
            con.execute(f"CHECKPOINT {catalog}")
    finally:
        no_merges(con)


def open_error(exc: duckdb.Error) -> StoreError:
    """A one-line StoreError for a failed ATTACH (never DuckDB's own traceback)."""
    msg = str(exc).lower()
    if "encryption key" in msg or "without a key" in msg or "encrypted" in msg:
        return KeyUnavailable("the at-rest key does not open this store (wrong key)")
    if "lock" in msg:
        return StoreBusy("store is in use by another process")
    return StoreError(f"cannot open the store: {type(exc).__name__}")
