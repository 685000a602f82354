"""Raw SQL on a store's real database, behind the store's back (for tamper tests).

The embedded store must be closed first (one process, one opener); on PostgreSQL the
ledger's append-only triggers are switched off for the statements, as an attacker
who owns the tables could.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from taxgate.settings import Settings
from taxgate.store import duck
from taxgate.store.embedded import DB_FILE


def literal(value: Any) -> str:
    """A SQL literal for the values tamper tests write (ints, None, text)."""
    if value is None:
        return "NULL"
    if isinstance(value, int):
        return str(value)
    return "'" + str(value).replace("'", "''") + "'"


def run_sql(settings: Settings, *statements: str) -> list[tuple[Any, ...]]:
    """Execute ``statements`` in one transaction; return the last one's rows."""
    if settings.is_postgres:
        import psycopg

        with psycopg.connect(settings.store, autocommit=True) as conn, conn.transaction():
            conn.execute("ALTER TABLE ledger DISABLE TRIGGER USER")
            cur = None
            for stmt in statements:
                cur = conn.execute(stmt)
            rows = cur.fetchall() if cur is not None and cur.description else []
            conn.execute("ALTER TABLE ledger ENABLE TRIGGER USER")
            return rows
    con = duck.new_connection(settings)
    try:
        key = settings.resolve_key()
        con.execute(f"ATTACH '{Path(settings.store) / DB_FILE}' AS store (ENCRYPTION_KEY '{key}')")
        con.execute("USE store")
        con.execute("BEGIN TRANSACTION")
        res = None
        for stmt in statements:
            res = con.execute(stmt)
        rows = res.fetchall() if res is not None and res.description else []
        con.execute("COMMIT")
        return rows
    finally:
        con.close()
