"""Filings on their way into a store: ids, one column set per load, one Arrow stream.

Both engines tag each batch with ``filing_id``/``load_id`` (:class:`IdRange`); the
embedded one then streams the batches into one INSERT (:class:`CountingReader`), or,
when the filings were prepared in its own connection, inserts them from the query that
gives them, with the same ids (:func:`append_query`).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from taxgate.domain import LoadOrigin
from taxgate.errors import StoreError
from taxgate.store.common import iso_now
from taxgate.store.core_sql import LOAD_COLS
from taxgate.store.duck import append_arrow, append_select


class CountingReader:
    """A RecordBatchReader over batches cast to one schema, counting the rows it gives."""

    def __init__(self, schema: pa.Schema, batches: Iterator[pa.RecordBatch]) -> None:
        self.rows_read = 0
        self.schema = schema
        self.error: Exception | None = None  # what stopped the stream from our side
        self._batches = batches

    def _gen(self) -> Iterator[pa.RecordBatch]:
        it = iter(self._batches)
        while True:
            try:
                b = next(it, None)
                if b is None:
                    return
                if b.schema != self.schema:  # same columns (IdRange checked), other types
                    b = b.select(self.schema.names).cast(self.schema)
            except (KeyError, pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
                self.error = StoreError("the batches of one load do not share column types")
                raise self.error from exc
            except Exception as exc:  # the loader's own error: re-raised as is by the store
                self.error = exc
                raise
            self.rows_read += b.num_rows
            yield b

    def reader(self) -> pa.RecordBatchReader:
        return pa.RecordBatchReader.from_batches(self.schema, self._gen())


# What a load inserted: (load id, rows, lowest and highest filing id).
LoadExtent = tuple[str | None, int, int | None, int | None]

# A loader's column: each row's place in the file it read, from 0 (:class:`IdRange`).
LOAD_ROW = "load_row"


class IdRange:
    """Gives each filing batch its ``filing_id`` and ``load_id`` columns.

    The loader's own columns are kept when it gives them; otherwise ids continue
    from the highest id stored so far, and one new load id tags the whole load. A
    loader that gives each row's place in its file (``load_row``, from 0) has the ids
    follow the file, whatever order the batches come in: the same file loaded into
    the same store gives the same ids, and so the same model (the training samples
    hash the filing id). ``low``/``high`` track the ids seen, for the ``loads`` table.
    """

    def __init__(self, max_stored_id: int) -> None:
        self.first_id = max_stored_id + 1
        self.next_id = max_stored_id + 1
        self.load_id: str | None = None
        self.low: int | None = None
        self.high: int | None = None
        self._columns: frozenset[str] | None = None

    def tag(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        columns = frozenset(batch.schema.names)
        if self._columns is None:
            self._columns = columns
        elif columns != self._columns:
            raise StoreError("the batches of one load do not all have the same columns")
        n = batch.num_rows
        if "filing_id" not in batch.schema.names:
            if LOAD_ROW in batch.schema.names:  # the file's order, not the stream's
                ids = pc.add(batch.column(LOAD_ROW).cast(pa.int64()), self.first_id)
                batch = batch.drop_columns([LOAD_ROW])
            else:
                ids = pa.array(np.arange(self.next_id, self.next_id + n, dtype=np.int64))
            batch = pa.RecordBatch.from_arrays(
                [*batch.columns, ids], names=[*batch.schema.names, "filing_id"])
        if "load_id" not in batch.schema.names:
            self.load_id = self.load_id or secrets.token_hex(8)
            tag = pa.array([self.load_id] * n, pa.string())
            batch = pa.RecordBatch.from_arrays(
                [*batch.columns, tag], names=[*batch.schema.names, "load_id"])
        elif self.load_id is None and n:
            self.load_id = str(batch.column("load_id")[0].as_py())
        lo, hi = pc.min_max(batch.column("filing_id")).values()
        lo, hi = int(lo.as_py()), int(hi.as_py())
        self.low = lo if self.low is None else min(self.low, lo)
        self.high = hi if self.high is None else max(self.high, hi)
        self.next_id = max(self.next_id, hi + 1)
        return batch


def append_query(con: duckdb.DuckDBPyConnection, catalog: str, select: str,
                 max_stored_id: int) -> LoadExtent | None:
    """Insert the filings the query ``select`` gives into ``catalog.main.filings`` in one
    statement (so DuckDB inserts in parallel, with no copy through Arrow), with the ids
    :class:`IdRange` gives a loader that gives ``load_id`` and ``load_row``: the row's
    place in its file after ``max_stored_id``, as the last column. Returns (load id, rows,
    lowest and highest filing id), None when the query gives no row (nothing is made)."""
    cols = [d[0] for d in con.execute(f"SELECT * FROM ({select}) LIMIT 0").description]
    if LOAD_ROW not in cols or "load_id" not in cols or "filing_id" in cols:
        raise StoreError(f"filings from a query give load_id and {LOAD_ROW}, not filing_id")
    first = int(max_stored_id) + 1
    target = f'"{catalog}".main.filings'
    existed = con.execute("SELECT count(*) FROM duckdb_tables() WHERE database_name = ? AND "
                          "schema_name = 'main' AND table_name = 'filings'", [catalog]).fetchone()
    append_select(con, catalog, "filings", numbered_sql(select, max_stored_id))
    row = con.execute(f"SELECT count(*), min(filing_id), max(filing_id), any_value(load_id) "
                      f"FROM {target} WHERE filing_id >= {first}").fetchone()
    if row is None or not row[0]:
        if not (existed and existed[0]):  # as a load of no rows through append_filings
            con.execute(f"DROP TABLE {target}")
        return None
    return str(row[3]), int(row[0]), int(row[1]), int(row[2])


def numbered_sql(select: str, max_stored_id: int) -> str:
    """The rows of ``select`` (which gives ``load_row``) with ``filing_id`` for
    ``load_row``, as the last column: the row's place in its file after
    ``max_stored_id``."""
    return (f"SELECT * EXCLUDE ({LOAD_ROW}), CAST({LOAD_ROW} + {int(max_stored_id) + 1} "
            f"AS BIGINT) AS filing_id FROM ({select})")


def append_batches(con: duckdb.DuckDBPyConnection, catalog: str,
                   batches: Iterator[pa.RecordBatch], max_stored_id: int
                   ) -> LoadExtent | None:
    """Insert filing batches into ``catalog.main.filings`` in one INSERT, with their ids
    (:class:`IdRange` after ``max_stored_id``). Returns (load id, rows, lowest and
    highest filing id), None when there is no row (nothing is made)."""
    ids = IdRange(max_stored_id)
    tagged = (ids.tag(b) for b in batches if b.num_rows)
    first = next(tagged, None)
    if first is None:
        return None
    # the first batch fixes the table's columns; the rest stream in one INSERT
    append_arrow(con, catalog, "filings", first)
    rest = CountingReader(first.schema, tagged)
    con.register("_taxgate_rest", rest.reader())
    try:
        con.execute(f'INSERT INTO "{catalog}".main.filings BY NAME SELECT * FROM _taxgate_rest')
    except duckdb.Error:
        if rest.error is not None:  # raised inside DuckDB's read: ours or the loader's
            raise rest.error from None
        raise
    finally:
        con.unregister("_taxgate_rest")
    return ids.load_id, first.num_rows + rest.rows_read, ids.low, ids.high


def record_load(con: duckdb.DuckDBPyConnection, loads: str,
                insert: Callable[[duckdb.DuckDBPyConnection, int], LoadExtent | None],
                origin: LoadOrigin | None) -> int:
    """Run ``insert`` (:func:`append_query`, :func:`append_batches`) after the highest
    filing id of the table ``loads`` and record the load there; returns its rows."""
    row = con.execute(f"SELECT coalesce(max(max_filing_id), 0) FROM {loads}").fetchone()
    done = insert(con, int(row[0]) if row else 0)
    if done is None:
        return 0
    con.execute(f"INSERT INTO {loads} ({LOAD_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?)",
                [*done[:1], iso_now(), *done[1:],
                 *((origin.sha256, origin.source) if origin else (None, None))])
    return done[1]
