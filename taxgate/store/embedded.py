"""The embedded store: one DuckDB database, encrypted at rest, in a private folder.

Layout of the folder (mode 0700, files 0600)::

    <store>/taxgate.duckdb   the database, AES-GCM encrypted by DuckDB (key: TAXGATE_KEY
                             or the key file beside the folder)
    <store>/taxgate.lock     held (flock) by the one process that has the store open
    <store>/tmp/             DuckDB spill files, encrypted too

The database is attached as ``store`` to an in-memory connection, so scratch tables
made by matching stay in memory and never land in the store. See docs/store.md.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb
import pyarrow as pa

from taxgate import filing_index, integrity, ledger
from taxgate.canonical import new_signing_key, private_key_pem
from taxgate.domain import LedgerEntry, LedgerItem, LoadOrigin
from taxgate.errors import NotSetUp, StoreError
from taxgate.ledger_columns import chain_columns
from taxgate.settings import Settings
from taxgate.store import common, core_sql
from taxgate.store.base import Store
from taxgate.store.core_sql import LEDGER_COLS, CoreTablesMixin
from taxgate.store.duck import merging, new_connection, no_merges, open_error, quote_literal
from taxgate.store.folder import FolderLock, hold_private_umask, release_private_umask
from taxgate.store.loading import append_batches, append_query, record_load
from taxgate.store.migrations import applied_through, latest, migrations, statements
from taxgate.store.service_sql import ServiceTx
from taxgate.store.tree_sql import TreeTablesMixin

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

DB_FILE = "taxgate.duckdb"
_STORE = "store.main."  # the store's tables, as the matching connection names them
LOCK_FILE = "taxgate.lock"


class EmbeddedStore(CoreTablesMixin, TreeTablesMixin, Store):
    """The default store. One process at a time; one thread at a time per object."""

    def __init__(self, settings: Settings, *, create: bool = False) -> None:
        self.settings = settings
        self.folder = Path(settings.store).expanduser().resolve()
        self.db_path = self.folder / DB_FILE
        self._con: duckdb.DuckDBPyConnection | None = None
        self._lock = FolderLock(self.folder / LOCK_FILE)
        self._key: str | None = None
        self._signing: Ed25519PrivateKey | None = None
        # The ledger's last entry, cached: this process alone writes while it holds the lock.
        self._head: LedgerEntry | None = None
        self._head_known = False
        self._writer_busy = False  # the ledger's writer thread holds the connection
        self._anchor_due: LedgerEntry | None = None  # the head to publish after COMMIT
        self._anchor_rebase = False
        if not create:
            if not self.db_path.is_file():
                raise NotSetUp(f"no taxgate store at {self.folder}: run `taxgate init` first")
            self._open(common.require_key(settings))
            if self._version() < latest("duckdb"):
                self.close()
                raise NotSetUp("the store's schema is out of date: run `taxgate init` to migrate")

    # --- lifecycle ----------------------------------------------------------------------
    def _open(self, key: str) -> None:
        hold_private_umask()
        try:
            self._lock.acquire(self.folder.name)
            tmp = self.folder / "tmp"
            tmp.mkdir(mode=0o700, exist_ok=True)
            con = new_connection(self.settings, temp_dir=tmp)
            try:
                con.execute(f"ATTACH '{quote_literal(str(self.db_path))}' AS store "
                            f"(ENCRYPTION_KEY '{key}')")
                no_merges(con)  # each request's rows written once (duck.py)
            except duckdb.Error as exc:
                con.close()
                raise open_error(exc) from None
        except BaseException:
            self._lock.release()
            release_private_umask()
            raise
        self._con, self._key = con, key

    def initialize(self) -> None:
        if self._con is None:
            key = common.key_for_new_store(self.settings, self.db_path.exists())
            try:
                self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
            except OSError as exc:
                raise StoreError(f"cannot create the store folder: {exc.strerror}") from exc
            self._open(key)
        con = self._connection()
        con.execute(
            "CREATE TABLE IF NOT EXISTS store.schema_migrations "
            "(version INTEGER PRIMARY KEY, name VARCHAR NOT NULL, applied_at VARCHAR NOT NULL)"
        )
        done = self._applied()
        for mg in migrations("duckdb"):
            if mg.version in done:
                continue
            with self._tx():
                con.execute("USE store")
                try:
                    for stmt in statements(mg.sql):
                        con.execute(stmt)
                finally:
                    con.execute("USE memory")
                con.execute(
                    "INSERT INTO store.schema_migrations VALUES (?, ?, ?)",
                    [mg.version, mg.name, common.iso_now()],
                )
        if self._meta("signing_key") is None:
            signing = new_signing_key()
            pem = private_key_pem(signing, passphrase=common.signing_passphrase(self._key_hex()))
            with self._tx():
                con.execute("INSERT INTO store.meta VALUES ('signing_key', ?)", [pem])
            self._signing = signing

    def close(self) -> None:
        if self._con is not None:
            with contextlib.suppress(duckdb.Error):
                self._con.close()
            self._con = None
            self._lock.release()
            release_private_umask()

    # --- helpers --------------------------------------------------------------------------
    def _connection(self) -> duckdb.DuckDBPyConnection:
        if self._con is None:
            raise StoreError("the store is closed")
        if self._writer_busy:  # a read now would wait for the writer thread forever
            raise StoreError("the store is writing the ledger: its connection is busy")
        return self._con

    def _key_hex(self) -> str:
        if self._key is None:
            raise StoreError("the store is closed")
        return self._key

    @contextlib.contextmanager
    def _tx(self) -> Iterator[duckdb.DuckDBPyConnection]:
        con = self._connection()
        con.execute("BEGIN TRANSACTION")
        try:
            yield con
        except BaseException as exc:
            self._head_known, self._anchor_due, self._anchor_rebase = False, None, False
            with contextlib.suppress(duckdb.Error):
                con.execute("ROLLBACK")
            if isinstance(exc, duckdb.Error):
                raise StoreError(f"store write failed: {type(exc).__name__}") from exc
            raise
        try:
            con.execute("COMMIT")
        except duckdb.Error as exc:
            self._head_known, self._anchor_due, self._anchor_rebase = False, None, False
            raise StoreError(f"store commit failed: {type(exc).__name__}") from exc
        self._publish_anchor()

    def _publish_anchor(self) -> None:
        """After a COMMIT that appended ledger entries: publish the head outside the store."""
        head, rebase = self._anchor_due, self._anchor_rebase
        self._anchor_due, self._anchor_rebase = None, False
        if head is not None:
            integrity.after_commit(self, head, rebase=rebase)

    def _version(self) -> int:
        return applied_through(self._applied())

    def _applied(self) -> set[int]:
        con = self._connection()
        exists = con.execute(
            "SELECT count(*) FROM duckdb_tables() WHERE database_name = 'store' "
            "AND table_name = 'schema_migrations'"
        ).fetchone()
        if not exists or exists[0] == 0:
            return set()
        return {int(r[0]) for r in con.execute(
            "SELECT version FROM store.schema_migrations").fetchall()}

    def _meta(self, name: str) -> bytes | None:
        row = self._connection().execute("SELECT value FROM store.meta WHERE name = ?",
                                         [name]).fetchone()
        return bytes(row[0]) if row else None

    def _has_table(self, name: str) -> bool:
        row = self._connection().execute(
            "SELECT count(*) FROM duckdb_tables() WHERE database_name = 'store' "
            "AND schema_name = 'main' AND table_name = ?", [name]).fetchone()
        return bool(row and row[0])

    def _insert_arrow(
        self, table: str, data: pa.Table | pa.RecordBatch,
        con: duckdb.DuckDBPyConnection | None = None,
    ) -> None:
        con = con if con is not None else self._connection()
        con.register("_taxgate_in", data)
        try:
            con.execute(f"INSERT INTO store.main.{table} BY NAME SELECT * FROM _taxgate_in")
        finally:
            con.unregister("_taxgate_in")

    def _append(
        self, events: Iterable[LedgerItem], first: tuple[str, pa.Table] | None = None
    ) -> None:
        """Chain and insert events, a batch at a time, after inserting the ``first``
        table (name, rows) if given; call inside a transaction."""
        with ledger.gc_paused():
            self._append_chained(events, first)

    def _append_chained(
        self, events: Iterable[LedgerItem], first: tuple[str, pa.Table] | None
    ) -> None:
        scrubbed = common.scrub_events(events, self._key_hex())
        if not self._head_known:
            self._head, self._head_known = self.ledger_head(), True
        key, con = self.signing_key(), self._connection()  # read before the writer starts
        # From here the connection is the writer thread's alone: chaining is Python,
        # inserting is DuckDB's, so each batch is chained while the one before it is
        # written. (A read on the connection meanwhile fails: see _connection.)
        self._writer_busy = True
        try:
            with _InsertWorker(lambda table, rows: self._insert_arrow(table, rows, con)) as insert:
                if first is not None:
                    insert(*first)
                for cols in chain_columns(
                    self._head, scrubbed, common.now_utc(), key=key,
                    checkpoint_every=common.checkpoint_every(self.settings),
                ):
                    insert("ledger", cols.table())
                    self._head = self._anchor_due = cols.entry(-1)
        finally:
            self._writer_busy = False

    # --- the service's tables (store/service_sql.py) ------------------------------------
    _svc_prefix = "store.main."

    def _svc_rows(self, sql: str, params: Any = ()) -> list[tuple[Any, ...]]:
        return self._connection().execute(sql, list(params)).fetchall()

    @contextlib.contextmanager
    def _svc_tx(self) -> Iterator[ServiceTx]:
        with self._tx() as con:
            def execute(sql: str, params: Any) -> list[tuple[Any, ...]]:
                return con.execute(sql, list(params)).fetchall()

            yield ServiceTx(execute, self._append, self._append_decided)

    def _append_decided(self, request_id: str, table: pa.Table,
                        events: Iterable[LedgerItem]) -> None:
        """The decision rows go first, on the writer thread, while events are chained."""
        self._append(events, ("decisions", table) if table.num_rows else None)

    # --- filings ----------------------------------------------------------------------------
    @contextlib.contextmanager
    def staging(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """The store's own connection: filings prepared in its temp tables (in memory,
        spilled encrypted to ``tmp/``) are stored from their query, with no copy."""
        try:
            yield self._connection()
        finally:
            with contextlib.suppress(duckdb.Error):
                self._connection().execute("RESET preserve_insertion_order")

    def append_filings(self, batches: Iterator[pa.RecordBatch], origin: LoadOrigin | None = None
                       ) -> int:
        # half the memory limit: ``load``, standardizing in another connection, has the rest
        return self._append_load(lambda con, top: append_batches(con, "store", batches, top),
                                 origin, 0.5)

    def append_filings_query(self, con: duckdb.DuckDBPyConnection, select: str,
                             origin: LoadOrigin | None = None,
                             advance: Callable[[int], None] | None = None, *,
                             source: str | None = None) -> int:  # (stores its own rows)
        if con is not self._con:  # prepared in another connection: streamed in batches
            return super().append_filings_query(con, select, origin, advance)
        total = self._append_load(lambda c, top: append_query(c, "store", select, top), origin)
        if advance is not None:
            advance(total)
        return total

    def _append_load(self, insert: Callable[[duckdb.DuckDBPyConnection, int], Any],
                     origin: LoadOrigin | None, share: float = 1.0) -> int:
        """One load in one transaction: ``insert`` (given the highest filing id stored)
        adds the filings, and the load is recorded (:func:`loading.record_load`)."""
        with self._memory(share):
            try:
                with self._tx() as con:
                    if origin is not None and not origin.force:
                        core_sql.refuse_reload(con.execute(core_sql.same_file_sql(
                            "store.main."), [origin.sha256]).fetchall())
                    con.execute("SET preserve_insertion_order = false")  # rows carry their id
                    return record_load(con, "store.main.loads", insert, origin)
            finally:  # after COMMIT or ROLLBACK: an aborted transaction refuses even SET
                with contextlib.suppress(duckdb.Error):
                    self._connection().execute("RESET preserve_insertion_order")

    @contextlib.contextmanager
    def _memory(self, share: float) -> Iterator[None]:
        """Within the block the store's connection keeps ``share`` of the memory limit
        (another connection works beside it with the rest); restored after."""
        memory = self.settings.memory_share(share) if share < 1 else ""
        if memory:
            self._connection().execute(f"SET memory_limit = '{quote_literal(memory)}'")
        try:
            yield
        finally:
            if memory:
                with contextlib.suppress(duckdb.Error):
                    self._connection().execute(
                        f"SET memory_limit = '{quote_literal(self.settings.memory_limit)}'")

    def update_filing_index(self) -> None:
        if self._has_table("filings") and not filing_index.current(
                self._connection(), _STORE, _STORE + "filings"):
            # in the store, in one transaction (docs/store.md), compacted after
            with merging(self._connection(), "store"), self._tx() as con:
                filing_index.update(con, _STORE, _STORE + "filings")

    @contextlib.contextmanager
    def filings_reader(self, share: float = 0.0
                       ) -> Iterator[tuple[duckdb.DuckDBPyConnection, str] | None]:
        """A cursor: it reads the filings while the store's connection writes their index."""
        with self._memory(1 - share), contextlib.closing(self._connection().cursor()) as cursor:
            yield cursor, _STORE + "filings"

    def matching_connection(self) -> duckdb.DuckDBPyConnection:
        if not self._has_table("filings"):
            raise NotSetUp("the store holds no taxpayer filings: run `taxgate load` first")
        self.update_filing_index()  # a store older than its index, or a load cut short
        con = self._connection()
        for table in ("filings", *filing_index.TABLES):
            con.execute(f"CREATE OR REPLACE TEMP VIEW {table} AS SELECT * FROM {_STORE}{table}")
        return con

    # --- requests ---------------------------------------------------------------------------
    def decisions(self, request_id: str) -> pa.Table:
        cols = ", ".join(common.DECISION_SCHEMA.names)
        table = self._connection().execute(
            f"SELECT {cols} FROM store.decisions WHERE request_id = ? ORDER BY row_number",
            [request_id]).fetch_arrow_table()
        return table.cast(common.DECISION_SCHEMA)

    # --- ledger -----------------------------------------------------------------------------
    def ledger_entries(self, after_seq: int = 0) -> Iterator[LedgerEntry]:
        cur = self._connection().cursor()
        try:
            reader = cur.execute(
                f"SELECT {LEDGER_COLS} FROM store.ledger WHERE seq > ? ORDER BY seq",
                [after_seq]).fetch_record_batch(50_000)
            for batch in reader:
                cols = [batch.column(i).to_pylist() for i in range(7)]
                for row in zip(*cols, strict=True):
                    yield common.entry_from_row(row)
        finally:
            cur.close()

class _InsertWorker:
    """Inserts (table name, Arrow rows) made on one worker thread, in the order given,
    one in flight at a time: the caller prepares the next while DuckDB writes (it lets
    go of the GIL). An insert's error is raised at the next call or when the block ends;
    the block never ends with an insert still running, so a rollback after an error
    never meets one."""

    def __init__(self, insert: Callable[[str, pa.Table], None]) -> None:
        self._insert = insert
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="taxgate-insert")
        self._pending: Future[None] | None = None

    def __call__(self, table: str, rows: pa.Table) -> None:
        self._wait()
        self._pending = self._pool.submit(self._insert, table, rows)

    def _wait(self) -> None:
        pending, self._pending = self._pending, None
        if pending is not None:
            pending.result()

    def __enter__(self) -> _InsertWorker:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, *rest: object) -> None:
        try:
            if exc_type is None:
                self._wait()
            elif self._pending is not None:
                self._pending.exception()  # waited for; the block's own error goes on
        finally:
            self._pool.shutdown(wait=True)
