"""The store: open the embedded (folder) or PostgreSQL (URL) engine behind one interface.

Engines are imported lazily, so an embedded run never imports psycopg.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from taxgate.settings import Settings
    from taxgate.store.base import Store


def open_store(settings: Settings, *, create: bool = False) -> Store:
    """Open the store named by ``settings.store``.

    ``create=False``: the store must exist (StoreError otherwise) and its key must be
    available and right (KeyUnavailable otherwise). ``create=True``: the store may be
    new; call :meth:`Store.initialize` next to create or migrate it.
    """
    if settings.is_postgres:
        from taxgate.store.postgres import PostgresStore

        return PostgresStore(settings, create=create)
    from taxgate.store.embedded import EmbeddedStore

    return EmbeddedStore(settings, create=create)


__all__ = ["open_store"]
