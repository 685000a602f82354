"""The PostgreSQL store's filings on the host that runs taxgate: where a load prepares
them, and the DuckDB connection matching reads them and their index from.

PostgreSQL holds the filings only sealed (:mod:`taxgate.store.sealed`). A host keeps
them clear, with the filing index, in its matching replica (:mod:`taxgate.store.replica`),
or, when it cannot (switched off, held by another process), decrypts them into this
process's memory. A load on a host with its replica prepares the filings in the
replica's connection and inserts them there from the query that prepared them, then
seals their source rows chunk by chunk into PostgreSQL (:class:`~taxgate.store.replica.
LoadInReplica`, :mod:`taxgate.store.source_rows`): nothing is unsealed again on that
host, and the model is trained from the replica while the index is built. See
docs/store.md.
"""

from __future__ import annotations

import contextlib
import logging
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from taxgate import faults, filing_index
from taxgate.domain import LoadOrigin
from taxgate.errors import NotSetUp, StoreBusy, StoreError
from taxgate.settings import Settings
from taxgate.standardize.lookup_cache import LookupCache
from taxgate.store import sealed, source_rows
from taxgate.store.duck import append_arrow, new_connection, quote_literal
from taxgate.store.replica import NONCE_BYTES, Chunk, Replica

_log = logging.getLogger("taxgate.store")

# Gives a load's chunks after the highest filing id stored (a generator the store seals).
ChunksAfter = Callable[[int], Iterator[pa.Table]]
# Told each chunk the store sealed (its nonce) and its rows.
SealedAs = Callable[[Chunk, int], None]


class HostFilingsMixin:
    """Staging, the matching connection and the filing index of a PostgreSQL store."""

    settings: Settings
    chunks_unsealed: int
    _identity: str
    _match: duckdb.DuckDBPyConnection | None
    _match_tmp: Path | None
    _replica: Replica | None
    _loaded_chunks: set[tuple[str, int]]
    lookup_cache: Callable[[], LookupCache | None]  # (store/core_sql.py)

    # hooks (store/postgres.py) ---------------------------------------------------------
    def _key_hex(self) -> str:
        raise NotImplementedError

    def _one(self, sql: str, params: list[Any] | None = None) -> Any:
        raise NotImplementedError

    def _all(self, sql: str, params: list[Any] | None = None) -> list[Any]:
        raise NotImplementedError

    def _append_load(self, origin: LoadOrigin | None, chunks_after: ChunksAfter,
                     sealed_as: SealedAs | None = None) -> int:
        raise NotImplementedError

    # loads -------------------------------------------------------------------------------
    @contextlib.contextmanager
    def staging(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """The replica's connection, caught up with the store's chunks (filings prepared in
        its in-memory tables, spilled encrypted, are inserted into it from their query);
        without a replica, a scratch connection (:meth:`Store.staging`)."""
        con = self._engine()
        if self._replica is None:
            with super().staging() as scratch:  # type: ignore[misc]
                yield scratch
            return
        self.chunks_unsealed += self._replica.catch_up(self._chunks(), self._unseal)
        try:
            yield con
        finally:
            with contextlib.suppress(duckdb.Error):
                con.execute("RESET preserve_insertion_order")

    def append_filings_query(self, con: duckdb.DuckDBPyConnection, select: str,
                             origin: LoadOrigin | None = None,
                             advance: Callable[[int], None] | None = None, *,
                             source: str | None = None) -> int:
        if self._replica is None or con is not self._match:  # streamed in batches
            return super().append_filings_query(  # type: ignore[misc,no-any-return]
                con, select, origin, advance)
        with self._replica.loading(select, source) as load:  # seals ``source`` if given
            total = self._append_load(origin, load.chunks, load.sealed_as)
            faults.crash_point("load-between-commits")  # the store's done, the replica's not
        if advance is not None:
            advance(total)
        return total

    @contextlib.contextmanager
    def filings_reader(self, share: float = 0.0
                       ) -> Iterator[tuple[duckdb.DuckDBPyConnection, str] | None]:
        """A cursor on the replica, once it holds every chunk the store lists (the model
        is trained from it while the index is built); None without a replica."""
        con = self._engine()
        if self._replica is None:
            yield None
            return
        self.chunks_unsealed += self._replica.catch_up(self._chunks(), self._unseal)
        memory = self.settings.memory_share(1 - share)
        if memory:
            con.execute(f"SET memory_limit = '{quote_literal(memory)}'")
        try:
            with contextlib.closing(con.cursor()) as cursor:
                yield cursor, "replica.main.filings"
        finally:
            if memory:
                with contextlib.suppress(duckdb.Error):
                    con.execute(
                        f"SET memory_limit = '{quote_literal(self.settings.memory_limit)}'")

    # matching ---------------------------------------------------------------------------
    def _chunks(self) -> list[Chunk]:
        """Every sealed filing chunk, in the loads' order (ids and nonces only)."""
        return [Chunk(r[0], int(r[1]), bytes(r[2])) for r in self._all(
            f"SELECT c.load_id, c.chunk_no, substring(c.sealed FROM 1 FOR {NONCE_BYTES}) "
            "FROM filing_chunks c JOIN loads l USING (load_id) "
            "ORDER BY l.min_filing_id, c.chunk_no")]

    def _engine(self) -> duckdb.DuckDBPyConnection:
        """This object's matching connection: the replica's, or an in-memory one."""
        if self._match is None:
            self._match = self._open_replica() or self._open_memory()
        return self._match

    def matching_connection(self) -> duckdb.DuckDBPyConnection:
        chunks = self._chunks()
        if not chunks:
            raise NotSetUp("the store holds no taxpayer filings: run `taxgate load` first")
        con = self._engine()
        if self._replica is None:
            self._sync_memory(con, chunks)
            return con
        try:  # the host's replica: only the chunks it lacks, the index extended by them
            self.chunks_unsealed += self._replica.sync(chunks, self._unseal)
        except duckdb.Error as exc:
            raise StoreError(f"the matching replica cannot be updated: {type(exc).__name__}"
                             ) from exc
        return con

    def _open_replica(self) -> duckdb.DuckDBPyConnection | None:
        """The host's matching replica (docs/store.md), or None: switched off, or held by
        another process, or unusable here (a one-line notice says which)."""
        path = self.settings.pg_replica_path
        if path is None:
            return None
        replica = Replica(self.settings, path, self._key_hex(), self._identity,
                          self.lookup_cache())
        try:
            con = replica.open()
        except (StoreError, OSError, duckdb.Error) as exc:  # StoreBusy: held elsewhere
            why = ("in use by another process" if isinstance(exc, StoreBusy)
                   else f"unusable here ({type(exc).__name__})")
            _log.warning("taxgate: the matching replica is %s: this process decrypts the "
                         "filings in memory", why)
            return None
        self._replica = replica
        return con

    def _open_memory(self) -> duckdb.DuckDBPyConnection:
        self._match_tmp = Path(tempfile.mkdtemp(prefix="taxgate-match-"))  # owner-only
        return new_connection(self.settings, temp_dir=self._match_tmp)

    def _sync_memory(self, con: duckdb.DuckDBPyConnection, chunks: list[Chunk]) -> None:
        """Every chunk decrypted into this process's memory, the index built beside them
        (once per process; extended by chunks loaded since)."""
        con.execute("SET preserve_insertion_order = false")  # rows carry filing_id
        gathered: source_rows.Gathered[Chunk] = source_rows.Gathered(con, self.lookup_cache())
        try:
            for chunk in chunks:
                if (chunk.load_id, chunk.chunk_no) in self._loaded_chunks:
                    continue
                table = self._unseal(chunk)
                if gathered.chunks and gathered.chunks[-1][0].load_id != chunk.load_id:
                    self._add_gathered(gathered)  # a load's source rows together
                if source_rows.holds_source_rows(table):
                    gathered.add(chunk, table)
                else:
                    append_arrow(con, "memory", "filings", table)
                    self._loaded_chunks.add((chunk.load_id, chunk.chunk_no))
            self._add_gathered(gathered)
        finally:
            gathered.clear()
            con.execute("RESET preserve_insertion_order")
        filing_index.update(con, "", "filings")

    def _add_gathered(self, gathered: source_rows.Gathered[Chunk]) -> None:
        gathered.insert_into("memory")
        self._loaded_chunks.update((c.load_id, c.chunk_no) for c, _ in gathered.chunks)
        gathered.clear()

    def _unseal(self, chunk: Chunk) -> pa.Table:
        load_id, n = chunk.load_id, chunk.chunk_no
        blob = self._one("SELECT sealed FROM filing_chunks "
                         "WHERE load_id = %s AND chunk_no = %s", [load_id, n])[0]
        self.chunks_unsealed += self._replica is None  # the replica's sync counts its own
        return sealed.unseal(self._key_hex(), blob, f"filings/{load_id}/{n}")

    def update_filing_index(self) -> None:
        """The index lives beside the decrypted filings: the replica, or memory."""
        self.matching_connection()
