"""Sealed chunks (R35: taxpayer data encrypted at rest, taxgate.store.sealed): each chunk
is sealed under its own label and handed to the store in order, on one thread, while
the next chunk is made; an error on either side stops the load there."""

from __future__ import annotations

import threading

import pyarrow as pa
import pytest

from taxgate.canonical import new_data_key
from taxgate.errors import KeyUnavailable, StoreError
from taxgate.store import sealed


def _chunk(n: int, rows: int = 10) -> pa.Table:
    return pa.table({"filing_id": pa.array(range(n * rows, (n + 1) * rows), pa.int64()),
                     "last_name": pa.array([f"NAME{n}"] * rows)})


def test_r35_each_chunk_is_sealed_under_its_label_and_kept_in_order() -> None:
    key = new_data_key()
    kept: list[tuple[int, pa.Table, bytes]] = []
    rows = sealed.seal_each(key, (_chunk(n) for n in range(5)), lambda n: f"filings/L/{n}",
                            lambda n, chunk, blob: kept.append((n, chunk, blob)), start=3)
    assert rows == 50
    assert [n for n, _, _ in kept] == [3, 4, 5, 6, 7]
    for i, (n, chunk, blob) in enumerate(kept):
        assert chunk.equals(_chunk(i))
        assert b"NAME" not in blob
        assert sealed.unseal(key, blob, f"filings/L/{n}").equals(chunk)
        with pytest.raises(KeyUnavailable):  # sealed for its own place only
            sealed.unseal(key, blob, f"filings/L/{n + 1}")


def test_r35_a_chunk_is_kept_while_the_next_is_made() -> None:
    count = 4
    making = [threading.Event() for _ in range(count)]
    overlapped: list[bool] = []
    kept_when_made: list[int] = []
    kept: list[int] = []

    def chunks():
        for n in range(count):
            kept_when_made.append(len(kept))
            making[n].set()
            yield _chunk(n)

    def keep(n: int, chunk: pa.Table, blob: bytes) -> None:
        if n + 1 < count:  # the next chunk is being made meanwhile, not after
            overlapped.append(making[n + 1].wait(timeout=10))
        kept.append(n)

    sealed.seal_each(new_data_key(), chunks(), str, keep)
    assert kept == list(range(count))
    assert overlapped == [True] * (count - 1)
    # one chunk at a time on the thread: chunk n is made once every chunk before n - 1 is kept
    assert all(seen >= n - 1 for n, seen in enumerate(kept_when_made)), kept_when_made


def test_r35_an_error_keeping_a_chunk_stops_the_load_there() -> None:
    made: list[int] = []
    kept: list[int] = []

    def chunks():
        for n in range(10):
            made.append(n)
            yield _chunk(n)

    def keep(n: int, chunk: pa.Table, blob: bytes) -> None:
        if n == 2:
            raise StoreError("the server refused chunk 2")
        kept.append(n)

    with pytest.raises(StoreError, match="refused chunk 2"):
        sealed.seal_each(new_data_key(), chunks(), str, keep)
    assert kept == [0, 1]
    assert len(made) <= 4  # found before a fifth chunk is made


def test_r35_an_error_making_a_chunk_keeps_none_after_it() -> None:
    kept: list[int] = []

    def chunks():
        for n in range(10):
            if n == 3:
                raise StoreError("the batches of one load do not share column types")
            yield _chunk(n)

    with pytest.raises(StoreError, match="share column types"):
        sealed.seal_each(new_data_key(), chunks(), str, lambda n, c, b: kept.append(n))
    assert kept == [0, 1, 2]  # the one on the thread finished, nothing after
