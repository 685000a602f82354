"""The PostgreSQL store: the same behaviour as the embedded one, on a shared server.

PostgreSQL does not encrypt at rest, so taxpayer data (filings, decisions, the
trained model) is stored only sealed (see :mod:`taxgate.store.sealed`); matching
reads the filings and their index from the host's replica (:mod:`taxgate.store.replica`),
or decrypted into memory when it cannot. The ledger is stored in clear but holds no
taxpayer data (TINs are keyed digests). Writers that log take one transaction-scoped
advisory lock, so the hash chain never forks and a request is committed by exactly one
process. See docs/store.md.
"""

from __future__ import annotations

import contextlib
import logging
import shutil
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb
import psycopg
import pyarrow as pa
import pyarrow.compute as pc

from taxgate import integrity, ledger
from taxgate.canonical import (
    decrypt_bytes,
    encrypt_bytes,
    keyed_digest,
    new_signing_key,
    private_key_pem,
    sha256_hex,
)
from taxgate.domain import LedgerEntry, LedgerItem, LoadOrigin
from taxgate.errors import KeyUnavailable, NotSetUp, StoreError
from taxgate.ledger_columns import chain_columns
from taxgate.settings import Settings
from taxgate.store import common, sealed
from taxgate.store.base import Store
from taxgate.store.core_sql import (
    LEDGER_COLS,
    LOAD_COLS,
    CoreTablesMixin,
    ledger_head_sql,
    refuse_reload,
    same_file_sql,
)
from taxgate.store.loading import IdRange
from taxgate.store.migrations import applied_through, latest, migrations
from taxgate.store.pg_host import ChunksAfter, HostFilingsMixin, SealedAs
from taxgate.store.replica import NONCE_BYTES, Chunk, Replica
from taxgate.store.service_sql import ServiceTx
from taxgate.store.tree_sql import TreeTablesMixin

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

LEDGER_LOCK = 0x74617867_6C656467  # advisory lock keys ("taxg" "ledg", "taxg" "migr")
MIGRATE_LOCK = 0x74617867_6D696772
_KEY_CHECK = b"taxgate at-rest key check"
_log = logging.getLogger("taxgate.store")


class PostgresStore(HostFilingsMixin, CoreTablesMixin, TreeTablesMixin, Store):
    """A store in one PostgreSQL database. One thread at a time per object."""

    _ledger_lock = f"SELECT pg_advisory_xact_lock({LEDGER_LOCK})"  # see core_sql.py
    _for_update = " FOR UPDATE"

    def __init__(self, settings: Settings, *, create: bool = False) -> None:
        self.settings = settings
        self._key: str | None = None
        self._signing: Ed25519PrivateKey | None = None
        self._match: duckdb.DuckDBPyConnection | None = None
        self._match_tmp: Path | None = None
        self._loaded_chunks: set[tuple[str, int]] = set()
        self._replica: Replica | None = None  # the host's matching replica, when held
        self._identity = ""  # what a replica records it was made from (store and key)
        self.chunks_unsealed = 0  # filing chunks this object decrypted for matching
        self._anchor_due: LedgerEntry | None = None  # the head to publish after COMMIT
        self._anchor_rebase = False
        self._conn = self._connect()
        if not create:
            try:
                if self._version() == 0:
                    raise StoreError(
                        f"no taxgate store in {self._where()}: run `taxgate init` first")
                if self._version() < latest("postgres"):
                    raise NotSetUp("the store's schema is out of date: run `taxgate init`")
                self._unlock_key(common.require_key(settings))
            except BaseException:
                self.close()
                raise

    # --- lifecycle ----------------------------------------------------------------------
    def _where(self) -> str:
        """host:port/dbname of the URL, never its credentials."""
        try:
            info = psycopg.conninfo.conninfo_to_dict(self.settings.store)
        except psycopg.Error:
            return "the configured PostgreSQL database"
        return f"{info.get('host', 'localhost')}:{info.get('port', 5432)}/{info.get('dbname', '')}"

    def _connect(self) -> psycopg.Connection[Any]:
        try:
            return psycopg.connect(self.settings.store, autocommit=True, connect_timeout=15,
                                   application_name="taxgate")
        except psycopg.Error as exc:
            raise StoreError(f"cannot connect to PostgreSQL at {self._where()}: "
                             f"{type(exc).__name__}") from None

    def _unlock_key(self, key: str) -> None:
        check = self._meta("key_check")
        if check is None:
            raise NotSetUp("the store has no key check: run `taxgate init`")
        try:
            ok = decrypt_bytes(key, check, b"key-check") == _KEY_CHECK
        except Exception:  # InvalidTag: the wrong key
            ok = False
        if not ok:
            raise KeyUnavailable("the at-rest key does not open this store (wrong key)")
        self._key = key
        # the key check is sealed once per store, with a random nonce: it names the store
        self._identity = keyed_digest(key, "taxgate/pg-replica/v1/" + sha256_hex(check))

    def initialize(self) -> None:
        with self._tx() as cur:
            cur.execute("SELECT pg_advisory_xact_lock(%s)", [MIGRATE_LOCK])
            cur.execute("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY "
                        "KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)")
            done = self._applied()
            for mg in migrations("postgres"):
                if mg.version not in done:
                    cur.execute(mg.sql.encode("utf-8"))  # whole file: function bodies hold ';'
                    cur.execute("INSERT INTO schema_migrations VALUES (%s, %s, %s)",
                                [mg.version, mg.name, common.iso_now()])
            if self._key is None:
                exists = self._meta("key_check") is not None
                key = common.key_for_new_store(self.settings, exists)
                if not exists:
                    cur.execute("INSERT INTO meta VALUES ('key_check', %s)",
                                [encrypt_bytes(key, _KEY_CHECK, b"key-check")])
                self._unlock_key(key)
            if self._meta("signing_key") is None:
                signing = new_signing_key()
                pem = private_key_pem(signing, common.signing_passphrase(self._key_hex()))
                cur.execute("INSERT INTO meta VALUES ('signing_key', %s)", [pem])
                self._signing = signing

    def close(self) -> None:
        with contextlib.suppress(psycopg.Error):
            self._conn.close()
        if self._match is not None:
            with contextlib.suppress(duckdb.Error):
                self._match.close()
            self._match = None
        if self._match_tmp is not None:
            shutil.rmtree(self._match_tmp, ignore_errors=True)
            self._match_tmp = None
        if self._replica is not None:
            self._replica.close()
            self._replica = None

    # --- helpers --------------------------------------------------------------------------
    def _key_hex(self) -> str:
        if self._key is None:
            raise KeyUnavailable("the store's key has not been checked: run `taxgate init`")
        return self._key

    @contextlib.contextmanager
    def _tx(self) -> Iterator[psycopg.Cursor[Any]]:
        try:
            with self._conn.transaction(), self._conn.cursor() as cur:
                yield cur
        except BaseException as exc:
            self._anchor_due, self._anchor_rebase = None, False
            if isinstance(exc, psycopg.Error):
                raise StoreError(f"store write failed: {type(exc).__name__}") from exc
            raise
        head, rebase = self._anchor_due, self._anchor_rebase
        self._anchor_due, self._anchor_rebase = None, False
        if head is not None:  # committed: publish the head outside the store
            integrity.after_commit(self, head, rebase=rebase)

    def _one(self, sql: str, params: list[Any] | None = None) -> Any:
        try:
            return self._conn.execute(sql, params).fetchone()
        except psycopg.Error as exc:
            raise StoreError(f"store read failed: {type(exc).__name__}") from exc

    def _all(self, sql: str, params: list[Any] | None = None) -> list[Any]:
        try:
            return self._conn.execute(sql, params).fetchall()
        except psycopg.Error as exc:
            raise StoreError(f"store read failed: {type(exc).__name__}") from exc

    def _version(self) -> int:
        return applied_through(self._applied())

    def _applied(self) -> set[int]:
        if self._one("SELECT to_regclass('schema_migrations')")[0] is None:
            return set()
        return {int(r[0]) for r in self._all("SELECT version FROM schema_migrations")}

    def _meta(self, name: str) -> bytes | None:
        if self._one("SELECT to_regclass('meta')")[0] is None:
            return None
        row = self._one("SELECT value FROM meta WHERE name = %s", [name])
        return bytes(row[0]) if row else None

    def _append(self, cur: psycopg.Cursor[Any], events: Iterable[LedgerItem]) -> None:
        """Chain and COPY events under the ledger lock, a batch at a time; call inside a
        transaction."""
        with ledger.gc_paused():
            self._append_chained(cur, events)

    def _append_chained(self, cur: psycopg.Cursor[Any], events: Iterable[LedgerItem]) -> None:
        cur.execute("SELECT pg_advisory_xact_lock(%s)", [LEDGER_LOCK])
        scrubbed = common.scrub_events(events, self._key_hex())
        cur.execute(ledger_head_sql(""))
        row = cur.fetchone()
        prev = common.entry_from_row(row) if row else None
        for cols in chain_columns(
            prev, scrubbed, common.now_utc(), key=self.signing_key(),
            checkpoint_every=common.checkpoint_every(self.settings),
        ):
            with cur.copy(f"COPY ledger ({LEDGER_COLS}) FROM STDIN") as cp:
                for row in cols.rows():
                    cp.write_row(row)
            self._anchor_due = cols.entry(-1)

    def _write_sealed(self, cur: psycopg.Cursor[Any], table: str, owner: str,
                      chunks: Iterator[pa.Table], label: str, start: int = 0,
                      sealed_as: SealedAs | None = None) -> int:
        """Insert sealed chunks into ``table`` (owner id, chunk_no, row_count, sealed), one
        statement each on the sealing thread (:func:`sealed.seal_each`), so the server
        writes each chunk while the next is made; ``sealed_as`` is told each chunk's nonce
        and rows. Not one COPY: the server buffers a binary COPY's rows until its end
        (every chunk of a load in its memory, written while the load waits)."""
        owner_col = "load_id" if table == "filing_chunks" else "request_id"
        insert = (f"INSERT INTO {table} ({owner_col}, chunk_no, row_count, sealed) "
                  "VALUES (%s, %s, %s, %b)")

        def keep(n: int, chunk: pa.Table, blob: bytes) -> None:
            cur.execute(insert, [owner, n, chunk.num_rows, blob])
            if sealed_as is not None:
                sealed_as(Chunk(owner, n, blob[:NONCE_BYTES]), chunk.num_rows)

        return sealed.seal_each(self._key_hex(), chunks, lambda n: f"{label}/{owner}/{n}",
                                keep, start)

    # --- the service's tables (store/service_sql.py) ------------------------------------
    def _svc_rows(self, sql: str, params: Any = ()) -> list[tuple[Any, ...]]:
        return self._all(sql.replace("?", "%s"), list(params))

    @contextlib.contextmanager
    def _svc_tx(self) -> Iterator[ServiceTx]:
        with self._tx() as cur:
            def execute(sql: str, params: Any) -> list[tuple[Any, ...]]:
                cur.execute(sql.replace("?", "%s"), list(params))
                return cur.fetchall() if cur.description else []

            yield ServiceTx(execute, lambda events: self._append(cur, events),
                            lambda rid, table, events: self._append_decided(cur, rid, table,
                                                                            events))

    def _append_decided(self, cur: psycopg.Cursor[Any], request_id: str, table: pa.Table,
                        events: Iterable[LedgerItem]) -> None:
        if table.num_rows:
            self._write_sealed(cur, "decision_chunks", request_id,
                               sealed.rechunk(table.to_batches()), "decisions")
        self._append(cur, events)

    # --- filings ----------------------------------------------------------------------------
    def append_filings(self, batches: Iterator[pa.RecordBatch], origin: LoadOrigin | None = None
                       ) -> int:
        def chunks_after(top: int) -> Iterator[pa.Table]:
            ids = IdRange(top)
            return sealed.rechunk(ids.tag(b) for b in batches if b.num_rows)

        return self._append_load(origin, chunks_after)

    def _append_load(self, origin: LoadOrigin | None, chunks_after: ChunksAfter,
                     sealed_as: SealedAs | None = None) -> int:
        """One load in one transaction: the chunks ``chunks_after`` gives (told the highest
        filing id stored) are sealed into ``filing_chunks`` (``sealed_as`` told each) and
        the load is recorded; returns its rows."""
        with self._tx() as cur:
            cur.execute("SELECT pg_advisory_xact_lock(%s)", [LEDGER_LOCK])
            if origin is not None and not origin.force:
                cur.execute(same_file_sql("").replace("?", "%s"), [origin.sha256])
                refuse_reload(cur.fetchall())
            cur.execute("SELECT coalesce(max(max_filing_id), 0) FROM loads")
            row = cur.fetchone()
            extent = _Extent()
            chunks = extent.of(chunks_after(int(row[0]) if row else 0))
            first = next(chunks, None)
            if first is None:
                return 0
            load_id = str(first.column("load_id")[0].as_py())
            total = self._write_sealed(cur, "filing_chunks", load_id, _prepend(first, chunks),
                                       "filings", sealed_as=sealed_as)
            cur.execute(f"INSERT INTO loads ({LOAD_COLS}) VALUES (%s, %s, %s, %s, %s, %s, %s)",
                        [load_id, common.iso_now(), total, extent.low, extent.high,
                         *((origin.sha256, origin.source) if origin else (None, None))])
        return total

    # --- the model, sealed (store/core_sql.py) --------------------------------------------
    _model_col = "sealed"

    def _model_value(self, version: str, model_json: str) -> object:
        return encrypt_bytes(self._key_hex(), model_json.encode("utf-8"),
                             f"model/{version}".encode())

    def _model_text(self, version: str, stored: Any) -> str:
        try:
            text = decrypt_bytes(self._key_hex(), bytes(stored), f"model/{version}".encode())
        except Exception as exc:  # InvalidTag
            raise KeyUnavailable("the stored model cannot be decrypted") from exc
        return text.decode("utf-8")

    # --- requests ---------------------------------------------------------------------------
    def decisions(self, request_id: str) -> pa.Table:
        rows = self._all("SELECT chunk_no, sealed FROM decision_chunks WHERE request_id = %s "
                         "ORDER BY chunk_no", [request_id])
        tables = [sealed.unseal(self._key_hex(), blob, f"decisions/{request_id}/{n}")
                  for n, blob in rows]
        if not tables:
            return common.empty_decisions()
        return pa.concat_tables(tables).cast(common.DECISION_SCHEMA).sort_by("row_number")

    # --- ledger -----------------------------------------------------------------------------
    def ledger_entries(self, after_seq: int = 0) -> Iterator[LedgerEntry]:
        conn = self._connect()
        try:
            with conn.transaction(), conn.cursor(name="taxgate_ledger") as cur:
                cur.itersize = 20_000
                cur.execute(f"SELECT {LEDGER_COLS} FROM ledger WHERE seq > %s ORDER BY seq",
                            [after_seq])
                for row in cur:
                    yield common.entry_from_row(row)
        except psycopg.Error as exc:
            raise StoreError(f"ledger read failed: {type(exc).__name__}") from exc
        finally:
            conn.close()


class _Extent:
    """The lowest and highest ``filing_id`` of the chunks that pass through :meth:`of`."""

    def __init__(self) -> None:
        self.low: int | None = None
        self.high: int | None = None

    def of(self, chunks: Iterator[pa.Table]) -> Iterator[pa.Table]:
        for chunk in chunks:
            lo, hi = (int(v.as_py()) for v in pc.min_max(chunk.column("filing_id")).values())
            self.low = lo if self.low is None else min(self.low, lo)
            self.high = hi if self.high is None else max(self.high, hi)
            yield chunk


def _prepend(first: pa.Table, rest: Iterator[pa.Table]) -> Iterator[pa.Table]:
    yield first
    yield from rest
