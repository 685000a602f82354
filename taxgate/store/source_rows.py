"""Sealed filing chunks that hold a load's source rows, standardized again when unsealed.

A load on a host with its matching replica (:class:`~taxgate.store.replica.LoadInReplica`)
stores the standardized filings in the replica, but seals into PostgreSQL the filings
as they were read from the taxpayer file: the contract's columns as staged
(:func:`taxgate.filings.stage_filings`), with ``load_id`` and ``filing_id``. Those rows
are still in the load's staging tables, cheap to read; the standardized rows would have
to be read back from the replica, and they are twice the bytes to seal (10.3M filings:
about 5 s of a load on 2 cores, bench/results/first-load.md).

Every standardized column derives from a filing's own source columns, by the statements
of :mod:`taxgate.standardize`, so a process that unseals such chunks (another host's
replica catching up, or a process matching in memory) gathers a load's chunks and
standardizes them together with the same statements (:class:`Gathered`): it holds the
same rows, column for column, as the host that loaded them, when both run the same rules
(a replica records the rules' fingerprint, and one made by other rules is made again:
:mod:`taxgate.store.replica`). Such a chunk says so in its Arrow schema's metadata
(:func:`marked`); any other chunk (sealed from batches,
:meth:`~taxgate.store.base.Store.append_filings`) is inserted as it is.
"""

from __future__ import annotations

from typing import Generic, TypeVar

import duckdb
import pyarrow as pa

from taxgate import standardize
from taxgate.standardize.lookup_cache import LookupCache
from taxgate.store.duck import append_select

_GATHERED, _CHUNK = "_tg_gathered_source_rows", "_tg_unsealed_chunk"
_MARK = (b"taxgate.filings", b"source rows")  # schema metadata: (key, value)


def marked(chunk: pa.Table) -> pa.Table:
    """A chunk of source rows, marked as such (sealed with its schema's metadata)."""
    return chunk.replace_schema_metadata(dict([_MARK]))


def holds_source_rows(chunk: pa.Table) -> bool:
    """Whether an unsealed filing chunk holds source rows (:func:`marked`)."""
    return (chunk.schema.metadata or {}).get(_MARK[0]) == _MARK[1]


def standardized_sql(source: str) -> str:
    """The filings of the source rows ``source`` (``load_id``, the file's columns,
    ``filing_id``) with their standardized columns, in the columns' order ``load``
    stores them in (``load_id``, the file's columns, the standardized ones,
    ``filing_id``)."""
    return (f"SELECT * EXCLUDE (filing_id), filing_id "
            f"FROM ({standardize.deduplicated_select_sql(source)})")


C = TypeVar("C")  # how the caller names a chunk


class Gathered(Generic[C]):
    """Chunks of source rows gathered in a temporary table of ``con``, then standardized
    together and inserted (:meth:`insert_into`): each distinct name, street line and
    place of a load once, as ``load`` standardized them (the chunks of one load share
    most of them: a replica made chunk by chunk from 10.3M filings took twice the CPU).
    Gathering writes the temporary table (standardization is installed from ``lookups``
    first): do it outside a transaction that writes another database."""

    def __init__(self, con: duckdb.DuckDBPyConnection, lookups: LookupCache | None) -> None:
        self._con, self._lookups = con, lookups
        self.chunks: list[tuple[C, int]] = []  # (the caller's chunk, its rows)

    def add(self, chunk: C, table: pa.Table) -> None:
        """Gather ``table`` (source rows, :func:`holds_source_rows`), unsealed from the
        caller's ``chunk``."""
        con = self._con
        if not self.chunks:
            standardize.install(con, self._lookups)
        con.register(_CHUNK, table)
        try:
            con.execute(f"INSERT INTO {_GATHERED} BY NAME SELECT * FROM {_CHUNK}" if self.chunks
                        else f"CREATE OR REPLACE TEMP TABLE {_GATHERED} AS FROM {_CHUNK}")
        finally:
            con.unregister(_CHUNK)
        self.chunks.append((chunk, table.num_rows))

    def insert_into(self, catalog: str) -> None:
        """Insert the gathered rows, standardized, into ``catalog.main.filings``."""
        if self.chunks:
            append_select(self._con, catalog, "filings", standardized_sql(_GATHERED))

    def clear(self) -> None:
        """Forget the gathered rows (after the transaction that inserted them)."""
        if self.chunks:
            self._con.execute(f"DROP TABLE IF EXISTS {_GATHERED}")
        self.chunks = []
