"""The PostgreSQL store's matching replica: the filings and their index, kept on the host.

PostgreSQL holds the filings only as sealed chunks (:mod:`taxgate.store.sealed`). A
process that matches needs them clear, with the filing index beside them; rather than
decrypting every chunk and indexing them again in memory for each process, a host keeps
them in one DuckDB file encrypted with the store's at-rest key, as the embedded store
keeps its own (tables ``filings`` and :data:`taxgate.filing_index.TABLES`), and records
which chunks it holds (load id, chunk number, the chunk's GCM nonce) and a digest of the
store and key it was made from. Opening it costs milliseconds; only chunks it does not
hold yet are unsealed (standardized, when they hold a load's source rows:
:mod:`taxgate.store.source_rows`), and the index is extended by them; a load on the
host writes its filings into the replica first and seals the store's chunks from their
source rows (:meth:`Replica.loading`), so that host unseals nothing. A replica made from
another store or key, or by other standardization rules, one that holds a chunk the
store no longer has (or has sealed again), or one that cannot be read is rebuilt from
scratch, with a one-line notice. One process holds it at a time (``flock``); another
gets :class:`~taxgate.errors.StoreBusy` and matches in memory instead. See
docs/store.md.
"""

from __future__ import annotations

import contextlib
import logging
import shutil
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import NamedTuple

import duckdb
import pyarrow as pa

from taxgate import faults, filing_index
from taxgate.errors import StoreError
from taxgate.settings import Settings
from taxgate.standardize.lookup_cache import LookupCache
from taxgate.standardize.lookup_cache import fingerprint as rules_fingerprint
from taxgate.store import source_rows
from taxgate.store.duck import append_arrow, new_connection, quote_literal
from taxgate.store.folder import FolderLock, hold_private_umask, release_private_umask
from taxgate.store.loading import append_query, numbered_sql
from taxgate.store.sealed import CHUNK_ROWS, rechunk

FORMAT = 1  # of the replica's own tables: a replica of another format is rebuilt
_P = "replica.main."  # the replica's tables, as the matching connection names them
_log = logging.getLogger("taxgate.store")


NONCE_BYTES = 12  # a sealed chunk's first bytes, its GCM nonce (canonical.encrypt_bytes)


class Chunk(NamedTuple):
    """A sealed filing chunk as the store lists it, in the loads' order."""

    load_id: str
    chunk_no: int
    nonce: bytes  # the first bytes of the sealed chunk: a chunk sealed again differs


def companions(path: Path) -> tuple[Path, ...]:
    """The replica's files besides the database: its WAL, lock and spill folder."""
    return (path.with_name(path.name + ".wal"), path.with_name(path.name + ".lock"),
            path.with_name(path.name + ".tmp"))


class Replica:
    """The replica at ``path``, attached as ``replica`` to an in-memory connection;
    ``lookups``: standardization's tables, for chunks of source rows
    (:mod:`taxgate.store.source_rows`)."""

    def __init__(self, settings: Settings, path: Path, key: str, identity: str,
                 lookups: LookupCache | None = None) -> None:
        self.path, self._key, self._identity = path, key, identity
        self._settings, self._lookups = settings, lookups
        self._lock = FolderLock(companions(path)[1])
        self.con: duckdb.DuckDBPyConnection | None = None
        self._private = False  # holds the owner-only umask

    def open(self) -> duckdb.DuckDBPyConnection:
        """Lock and attach the replica (made, or made again, as needed). StoreBusy when
        another process holds it."""
        hold_private_umask()
        self._private = True
        try:
            self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            self._lock.acquire("the PostgreSQL store's matching replica")
            tmp = companions(self.path)[2]
            tmp.mkdir(mode=0o700, exist_ok=True)
            self.con = new_connection(self._settings, temp_dir=tmp)
            if not self._attach():
                if not _duckdb_file(self.path):  # not ours to remove: left as it is
                    raise StoreError("the matching replica's path holds another kind of file")
                _notice("it cannot be read with this store's key")
                self._rebuild()
            elif (why := self._differs()) is not None:
                _notice(why)
                self._rebuild()
        except BaseException:
            self.close()
            raise
        return self.con

    def _attach(self) -> bool:
        con = self._con()
        try:
            con.execute(f"ATTACH '{quote_literal(str(self.path))}' AS replica "
                        f"(ENCRYPTION_KEY '{self._key}')")
        except duckdb.Error as exc:
            _log.debug("replica attach failed: %s", type(exc).__name__)
            return False
        return True

    def _differs(self) -> str | None:
        """Why the attached replica is not the one this host would make of this store
        (None: it is). Its filings standardized by other rules (another version's
        standardization code or data, :func:`~taxgate.standardize.lookup_cache.
        fingerprint`) count: chunks of source rows are standardized again here."""
        con = self._con()
        if not _has_table(con, "replica_meta"):
            empty = con.execute("SELECT count(*) FROM duckdb_tables() "
                                "WHERE database_name = 'replica'").fetchone()
            if empty and empty[0]:  # a database of something else: not ours to remove
                raise StoreError("the matching replica's path holds another database")
            self._stamp()
            return None
        found = dict(con.execute(f"SELECT name, value FROM {_P}replica_meta").fetchall())
        if (found.get("format"), found.get("identity")) != (str(FORMAT), self._identity):
            return "it was made from another store, key or format"
        if found.get("standardization") != rules_fingerprint():
            return "its filings were standardized by other rules (another taxgate version)"
        return None

    def _stamp(self) -> None:
        """A new replica's own tables: what it was made from and which chunks it holds."""
        with self._tx() as con:
            con.execute(f"CREATE TABLE {_P}replica_meta (name VARCHAR PRIMARY KEY, "
                        "value VARCHAR)")
            con.execute(f"INSERT INTO {_P}replica_meta VALUES ('format', ?), ('identity', ?), "
                        "('standardization', ?)",
                        [str(FORMAT), self._identity, rules_fingerprint()])
            con.execute(f"CREATE TABLE {_P}replica_chunks (load_id VARCHAR, chunk_no INTEGER, "
                        "nonce BLOB NOT NULL, row_count BIGINT NOT NULL, "
                        "PRIMARY KEY (load_id, chunk_no))")

    def _rebuild(self) -> None:
        """Drop the replica's files and start an empty one (the lock stays held)."""
        con = self._con()
        with contextlib.suppress(duckdb.Error):
            con.execute("DETACH replica")
        self.path.unlink(missing_ok=True)
        companions(self.path)[0].unlink(missing_ok=True)
        if not self._attach():
            raise StoreError("cannot create the matching replica")
        self._stamp()

    def sync(self, chunks: Sequence[Chunk], unseal: Callable[[Chunk], pa.Table]) -> int:
        """Bring the replica to exactly ``chunks`` (:meth:`catch_up`) and its index up to
        date; the temporary views ``filings`` and the index's tables over it. Returns how
        many chunks were unsealed."""
        new = self.catch_up(chunks, unseal)
        self._index()
        con = self._con()
        for table in ("filings", *filing_index.TABLES):
            con.execute(f"CREATE OR REPLACE TEMP VIEW {table} AS SELECT * FROM {_P}{table}")
        return new

    def catch_up(self, chunks: Sequence[Chunk], unseal: Callable[[Chunk], pa.Table]) -> int:
        """Hold exactly ``chunks``: the ones not held are unsealed with ``unseal`` and
        added (a replica holding one the store does not list is made again first).
        Returns how many were unsealed."""
        con = self._con()
        held = {(r[0], int(r[1])): bytes(r[2]) for r in con.execute(
            f"SELECT load_id, chunk_no, nonce FROM {_P}replica_chunks").fetchall()}
        listed = {(c.load_id, c.chunk_no): c.nonce for c in chunks}
        if any(listed.get(k) != nonce for k, nonce in held.items()):
            _notice("it holds a filing chunk the store no longer has")
            self._rebuild()
            held = {}
        new = [c for c in chunks if (c.load_id, c.chunk_no) not in held]
        con.execute("SET preserve_insertion_order = false")  # rows carry their filing_id
        gathered: source_rows.Gathered[Chunk] = source_rows.Gathered(con, self._lookups)
        try:
            for chunk in new:
                table = unseal(chunk)
                if gathered.chunks and gathered.chunks[-1][0].load_id != chunk.load_id:
                    self._add_gathered(gathered)  # a load's source rows together
                if source_rows.holds_source_rows(table):
                    gathered.add(chunk, table)
                else:
                    self._add(chunk, table)
            self._add_gathered(gathered)
        finally:
            gathered.clear()
            con.execute("RESET preserve_insertion_order")
        return len(new)

    @contextlib.contextmanager
    def loading(self, select: str, source: str | None = None) -> Iterator[LoadInReplica]:
        """A load stored through the replica (:class:`LoadInReplica`, given ``select`` and
        ``source``): its filings, and a record of each chunk the store seals from them, in
        one transaction committed when the block ends, after the store's own; rolled back
        if the block raises. So the replica never holds a chunk the store does not. A load
        stopped between the two commits, or whose replica fails to commit after the store
        did, only leaves the replica behind the store: its chunks are unsealed at the next
        catch-up."""
        con = self._con().begin()
        try:
            try:
                load = LoadInReplica(con, select, source)
                yield load
            except BaseException:
                with contextlib.suppress(duckdb.Error):
                    con.rollback()
                raise
            self._commit_load(con, load)
        finally:  # out of the transaction, where a failed one cannot refuse it
            with contextlib.suppress(duckdb.Error, StoreError):
                for name in _STRING_VIEWS:
                    self._con().execute(f"RESET {name}")

    def _commit_load(self, con: duckdb.DuckDBPyConnection, load: LoadInReplica) -> None:
        """Record the load's chunks and commit, once the store has committed them. A
        failure here is noticed, not raised: the load is stored, and the replica, behind
        the store but never ahead of it, catches up when next opened or synced (the load's
        own index stage does)."""
        try:
            for chunk, rows in load.sealed:
                con.execute(f"INSERT INTO {_P}replica_chunks VALUES (?, ?, ?, ?)",
                            [chunk.load_id, chunk.chunk_no, chunk.nonce, rows])
            if faults.failing("replica-commit"):
                raise duckdb.IOException("replica-commit: the fail point")
            con.commit()
        except duckdb.Error as exc:
            with contextlib.suppress(duckdb.Error):
                con.rollback()
            _log.warning("taxgate: the matching replica could not record this load (%s): "
                         "the load is stored, and its chunks are unsealed from the store "
                         "when next needed", type(exc).__name__)

    def _add(self, chunk: Chunk, table: pa.Table) -> None:
        """One chunk's filings and its record, in one transaction."""
        with self._tx() as con:
            append_arrow(con, "replica", "filings", table)
            con.execute(f"INSERT INTO {_P}replica_chunks VALUES (?, ?, ?, ?)",
                        [chunk.load_id, chunk.chunk_no, chunk.nonce, table.num_rows])

    def _add_gathered(self, gathered: source_rows.Gathered[Chunk]) -> None:
        """A load's chunks of source rows, standardized together, and their records, in
        one transaction (then forgotten)."""
        if not gathered.chunks:
            return
        with self._tx() as con:
            gathered.insert_into("replica")
            for chunk, rows in gathered.chunks:
                con.execute(f"INSERT INTO {_P}replica_chunks VALUES (?, ?, ?, ?)",
                            [chunk.load_id, chunk.chunk_no, chunk.nonce, rows])
        gathered.clear()

    def _index(self) -> None:
        con = self._con()
        if not _has_table(con, "filings"):
            return
        if filing_index.current(con, _P, _P + "filings"):
            return
        if _has_table(con, filing_index.STATE) and filing_index.coverage(con, _P) is None:
            _log.warning("taxgate: the matching replica's filing index is of another "
                         "version: building it again")
        with self._tx() as con:
            filing_index.update(con, _P, _P + "filings")

    @contextlib.contextmanager
    def _tx(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """One transaction: committed when the block ends, rolled back if it raises."""
        con = self._con().begin()
        ok = False
        try:
            yield con
            ok = True
        finally:
            if ok:
                con.commit()
            else:
                with contextlib.suppress(duckdb.Error):
                    con.rollback()

    def _con(self) -> duckdb.DuckDBPyConnection:
        if self.con is None:
            raise StoreError("the matching replica is closed")
        return self.con

    def close(self) -> None:
        """Detach and unlock (the replica stays on disk for the next process)."""
        if self.con is not None:
            with contextlib.suppress(duckdb.Error):
                self.con.close()
            self.con = None
            shutil.rmtree(companions(self.path)[2], ignore_errors=True)
        self._lock.release()
        if self._private:
            self._private = False
            release_private_umask()


# The load's filings are read back as Arrow string views, DuckDB's own layout: cheaper to
# read back, and sealed in half the bytes (2M filings: 93 MiB against 203; read back,
# sealed and written, 2.23 s against 2.54, medians of five). Unsealed, they are inserted
# as any other chunk (a VARCHAR column takes either).
_STRING_VIEWS = {"arrow_output_version": "'1.5'", "produce_arrow_string_view": "true"}


class LoadInReplica:
    """A load's filings inserted into the replica from the query that prepared them,
    ``select`` (one parallel INSERT in DuckDB, no copy through Arrow), then given in
    chunks for the store to seal: the same filings before standardization when the query
    ``source`` gives them (:mod:`taxgate.store.source_rows`: half the bytes, and nothing
    to read back), else the stored rows read back. The store tells which chunk it sealed
    from each (:meth:`sealed_as`)."""

    def __init__(self, con: duckdb.DuckDBPyConnection, select: str,
                 source: str | None = None) -> None:
        self._con, self._select, self._source = con, select, source
        self.sealed: list[tuple[Chunk, int]] = []

    def chunks(self, max_stored_id: int) -> Iterator[pa.Table]:
        """Insert the load's filings, numbered after ``max_stored_id``
        (:func:`loading.append_query`); then give them, or their source rows numbered
        the same way, in chunks of about ``CHUNK_ROWS`` filings, read in one scan."""
        if append_query(self._con, "replica", self._select, max_stored_id) is None:
            return
        for name, value in _STRING_VIEWS.items():  # reset by Replica.loading
            self._con.execute(f"SET {name} = {value}")
        if self._source is not None:
            reader = self._con.execute(numbered_sql(self._source, max_stored_id)
                                       ).fetch_record_batch(CHUNK_ROWS)
            yield from (source_rows.marked(chunk) for chunk in rechunk(reader))
        else:
            reader = self._con.execute(f"SELECT * FROM {_P}filings WHERE filing_id > ?",
                                       [max_stored_id]).fetch_record_batch(CHUNK_ROWS)
            yield from rechunk(reader)

    def sealed_as(self, chunk: Chunk, rows: int) -> None:
        """The store sealed the last chunk given as ``chunk`` (its nonce), of ``rows``."""
        self.sealed.append((chunk, rows))


def _has_table(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    row = con.execute("SELECT count(*) FROM duckdb_tables() WHERE database_name = 'replica' "
                      "AND schema_name = 'main' AND table_name = ?", [name]).fetchone()
    return bool(row and row[0])


def _duckdb_file(path: Path) -> bool:
    """Whether ``path`` is absent, empty or a DuckDB database (its magic at byte 8)."""
    try:
        with path.open("rb") as f:
            head = f.read(12)
    except FileNotFoundError:
        return True
    return not head or head[8:12] == b"DUCK"


def _notice(why: str) -> None:
    _log.warning("taxgate: the matching replica is made again from the store's chunks: %s",
                 why)
