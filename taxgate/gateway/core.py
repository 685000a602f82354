"""The one open store of a server process, used by one thread at a time.

The embedded store allows one process (flock) and a DuckDB connection must not be
used from two threads at once, so the server opens the store once and every use
(the job worker, the API, the web pages) goes through :meth:`StoreGate.use`, which
holds a lock. Callers that must answer quickly pass a ``timeout``: when the worker
holds the store for a long job they get :class:`StoreBusy` (HTTP 503, Retry-After).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from taxgate.errors import StoreBusy
from taxgate.settings import Settings
from taxgate.store import open_store
from taxgate.store.base import Store

__all__ = ["StoreBusy", "StoreGate"]


class StoreGate:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._lock = threading.RLock()
        self._store: Store | None = None

    @contextmanager
    def use(self, timeout: float | None = None) -> Iterator[Store]:
        if not self._lock.acquire(timeout=-1 if timeout is None else timeout):
            raise StoreBusy("the store is busy with a job; retry shortly")
        try:
            if self._store is None:
                self._store = open_store(self.settings)
            yield self._store
        finally:
            self._lock.release()

    def close(self) -> None:
        with self._lock:
            if self._store is not None:
                self._store.close()
                self._store = None
