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


def sealed_ahead(key: str, chunks: Iterable[pa.Table], label: Callable[[int], str],
                 start: int = 0) -> Iterator[tuple[int, pa.Table, bytes]]:
    """(n, chunk, sealed) for each chunk, numbered from ``start`` and sealed under
    ``label(n)`` on a thread one chunk ahead: the next chunk is compressed and encrypted
    while the caller writes this one (both release the GIL)."""
    with ThreadPoolExecutor(1, thread_name_prefix="taxgate-seal") as pool:
        ahead: tuple[int, pa.Table, Future[bytes]] | None = None
        for n, chunk in enumerate(chunks, start):
            sealing = pool.submit(seal, key, chunk, label(n))
            if ahead is not None:
                yield ahead[0], ahead[1], ahead[2].result()
            ahead = (n, chunk, sealing)
        if ahead is not None:
            yield ahead[0], ahead[1], ahead[2].result()


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
