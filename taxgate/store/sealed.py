"""Arrow tables sealed for storage outside an encrypted database (the PostgreSQL store).

A sealed chunk is an Arrow IPC stream (zstd-compressed) encrypted with AES-256-GCM
under the at-rest key. The associated data names what the chunk is
(``filings/<load_id>/<n>``, ``decisions/<request_id>/<n>``), so a chunk copied or
moved to another row fails to open instead of being read as something else.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor

import pyarrow as pa
import pyarrow.ipc as ipc

from taxgate.canonical import decrypt_bytes, encrypt_bytes
from taxgate.errors import KeyUnavailable, StoreError

CHUNK_ROWS = 250_000  # rows per sealed chunk: big enough to compress, small enough to stream


def seal(key: str, table: pa.Table, label: str) -> bytes:
    sink = pa.BufferOutputStream()
    options = ipc.IpcWriteOptions(compression="zstd")
    with ipc.new_stream(sink, table.schema, options=options) as writer:
        writer.write_table(table)
    return encrypt_bytes(key, sink.getvalue().to_pybytes(), label.encode("utf-8"))


def seal_each(key: str, chunks: Iterable[pa.Table], label: Callable[[int], str],
              keep: Callable[[int, pa.Table, bytes], None], start: int = 0) -> int:
    """Seal each chunk under ``label(n)`` (numbered from ``start``) and hand it to
    ``keep(n, chunk, sealed)``, both on one thread, in order, while ``chunks`` makes the
    next chunk on the caller's: compressing, encrypting and the store's write of one chunk
    overlap the making of the next (all release the GIL). One chunk at a time is on the
    thread; an error there is raised here. Returns the rows handed to ``keep``."""
    rows = 0
    with ThreadPoolExecutor(1, thread_name_prefix="taxgate-seal") as pool:
        kept: Future[None] | None = None
        for n, chunk in enumerate(chunks, start):
            if kept is not None:
                kept.result()
            kept = pool.submit(_seal_and_keep, key, chunk, label(n), n, keep)
            rows += chunk.num_rows
        if kept is not None:
            kept.result()
    return rows


def _seal_and_keep(key: str, chunk: pa.Table, label: str, n: int,
                   keep: Callable[[int, pa.Table, bytes], None]) -> None:
    keep(n, chunk, seal(key, chunk, label))


def unseal(key: str, blob: bytes, label: str) -> pa.Table:
    try:
        data = decrypt_bytes(key, bytes(blob), label.encode("utf-8"))
    except Exception as exc:  # InvalidTag; cryptography stays in canonical.py
        raise KeyUnavailable(
            f"stored chunk {label.split('/')[0]} cannot be decrypted: wrong key or altered data"
        ) from exc
    return ipc.open_stream(pa.py_buffer(data)).read_all()


def rechunk(batches: Iterable[pa.RecordBatch], rows: int = CHUNK_ROWS) -> Iterator[pa.Table]:
    """Group record batches into tables of about ``rows`` rows (schemas may widen)."""
    buf: list[pa.Table] = []
    n = 0
    for batch in batches:
        buf.append(pa.Table.from_batches([batch]))
        n += batch.num_rows
        if n >= rows:
            yield _concat(buf)
            buf, n = [], 0
    if buf:
        yield _concat(buf)


def _concat(tables: list[pa.Table]) -> pa.Table:
    try:
        return pa.concat_tables(tables, promote_options="permissive")
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        raise StoreError("the batches of one load do not share column types") from exc
