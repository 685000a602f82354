"""Filings on their way into a store: ids, one column set per load, one Arrow stream.

Both engines tag each batch with ``filing_id``/``load_id`` (:class:`IdRange`); the
embedded one then streams the batches into one INSERT (:class:`CountingReader`).
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from taxgate.errors import StoreError


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
