"""The embedded store's own promises: encryption at rest, key handling, file modes,
one process at a time. Everything here uses real files and real processes."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest
from test_store import TIN, decisions, outcome

from taxgate.canonical import new_data_key
from taxgate.domain import LedgerEvent, RequestOutcome
from taxgate.errors import KeyUnavailable, StoreError
from taxgate.settings import Settings
from taxgate.store import duck, open_store
from taxgate.store.embedded import DB_FILE
from taxgate.store.migrations import latest

NAME = "XOCHITLQUETZAL"


def make(tmp_path: Path, **kw: str) -> Settings:
    s = Settings(store=str(tmp_path / "store"), **kw)
    with open_store(s, create=True) as st:
        st.initialize()
    return s


def mode(p: Path) -> int:
    return stat.S_IMODE(p.stat().st_mode)


def raw(settings: Settings, sql: str) -> list[tuple]:
    """Run SQL straight on the database file (the store must be closed)."""
    con = duck.new_connection(settings)
    con.execute(f"ATTACH '{Path(settings.store) / DB_FILE}' AS store "
                f"(ENCRYPTION_KEY '{settings.resolve_key()}')")
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def test_folder_and_files_are_owner_only(tmp_path: Path) -> None:
    s = make(tmp_path)
    folder = Path(s.store)
    assert mode(folder) == 0o700
    assert s.key_file == tmp_path / "store.key" and mode(s.key_file) == 0o600
    with open_store(s) as st:
        st.commit_request(outcome())  # leaves a WAL while open
        files = [p for p in folder.rglob("*") if p.is_file()]
        assert files and all(mode(p) == 0o600 for p in files), {p.name: oct(mode(p)) for p in files}
    assert all(mode(p) == 0o600 for p in folder.rglob("*") if p.is_file())


def test_no_taxpayer_value_in_any_file_bytes(tmp_path: Path) -> None:
    s = make(tmp_path)
    batch = pa.record_batch({"tin": [TIN] * 500, "last_name": [NAME] * 500})
    with open_store(s) as st:
        st.append_filings(iter([batch]))
        st.commit_request(outcome())
        for p in Path(s.store).rglob("*"):  # while open: database and WAL
            if p.is_file():
                data = p.read_bytes()
                assert TIN.encode() not in data and NAME.encode() not in data, p.name
    data = (Path(s.store) / DB_FILE).read_bytes()
    assert TIN.encode() not in data and NAME.encode() not in data
    assert raw(s, "SELECT count(*) FROM store.filings WHERE last_name = 'XOCHITLQUETZAL'") == [
        (500,)]


def test_opening_without_the_key_fails(tmp_path: Path) -> None:
    s = make(tmp_path)
    s.key_file.rename(tmp_path / "elsewhere.key")
    with pytest.raises(KeyUnavailable, match="no at-rest key"):
        open_store(s)


def test_opening_with_a_wrong_key_fails(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    s = make(tmp_path)
    with pytest.raises(KeyUnavailable, match="wrong key"):
        open_store(Settings(store=s.store, key_hex=new_data_key()))
    monkeypatch.setenv("TAXGATE_KEY", new_data_key())
    with pytest.raises(KeyUnavailable):
        open_store(Settings(store=s.store))
    with pytest.raises(KeyUnavailable, match="64 hexadecimal"):
        open_store(Settings(store=s.store, key_hex="not-a-key"))


def test_taxgate_key_env_is_used_and_no_key_file_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TAXGATE_KEY", new_data_key())
    s = make(tmp_path)
    assert not s.key_file.exists()
    with open_store(s) as st:
        assert st.filing_count() == 0


def test_init_of_an_existing_store_without_its_key_is_refused(tmp_path: Path) -> None:
    s = make(tmp_path)
    s.key_file.unlink()
    with pytest.raises(KeyUnavailable, match="key is missing"):
        open_store(s, create=True).initialize()
    assert not s.key_file.exists()


def test_missing_store_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="run `taxgate init`"):
        open_store(Settings(store=str(tmp_path / "nothing")))


def test_schema_and_encrypted_signing_key(tmp_path: Path) -> None:
    s = make(tmp_path)
    assert raw(s, "SELECT max(version) FROM store.schema_migrations") == [(latest("duckdb"),)]
    [(pem,)] = raw(s, "SELECT value FROM store.meta WHERE name = 'signing_key'")
    assert bytes(pem).startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----")


def test_second_process_gets_a_store_error_not_a_traceback(tmp_path: Path) -> None:
    s = make(tmp_path)
    code = textwrap.dedent(f"""
        from taxgate.errors import StoreError
        from taxgate.settings import Settings
        from taxgate.store import open_store
        try:
            open_store(Settings(store={s.store!r}))
        except StoreError as exc:
            print("StoreError:", exc)
        else:
            print("opened")
    """)
    with open_store(s) as st:
        proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                              timeout=120, env={**os.environ, "TAXGATE_KEY": s.resolve_key()})
        assert st.filing_count() == 0  # the holder is unaffected
    assert proc.returncode == 0, proc.stderr
    assert "StoreError: store is in use by another process" in proc.stdout
    assert "Traceback" not in proc.stderr
    with open_store(s) as st:  # released on close
        assert st.filing_count() == 0


def test_same_process_second_open_is_refused(tmp_path: Path) -> None:
    s = make(tmp_path)
    with open_store(s), pytest.raises(StoreError, match="in use"):
        open_store(s)


def test_matching_scratch_tables_stay_out_of_the_store(tmp_path: Path) -> None:
    s = make(tmp_path)
    with open_store(s) as st:
        st.append_filings(iter([pa.record_batch({"tin": [TIN]})]))
        con = st.matching_connection()
        con.execute("CREATE TABLE scratch AS SELECT * FROM filings")
        assert con.execute("SELECT count(*) FROM scratch").fetchone() == (1,)
    assert raw(s, "SELECT count(*) FROM duckdb_tables() WHERE table_name = 'scratch'") == [(0,)]


def test_the_filings_reader_and_its_scratch_share_the_memory_limit(tmp_path: Path) -> None:
    """While ``load`` trains beside the index, the store's connection keeps 1 - share of
    the memory limit and the training's scratch DuckDB (a database of its own, encrypted
    spill files) the share; the limit comes back after, and the reader sees the filings."""
    s = make(tmp_path, memory_limit="1000MB")
    with open_store(s) as st:
        st.append_filings(iter([pa.record_batch({"tin": [TIN]})]))
        con = st.matching_connection()

        def limit(c: duckdb.DuckDBPyConnection) -> str:
            return c.execute("SELECT current_setting('memory_limit')").fetchone()[0]

        before = limit(con)
        with st.filings_reader(0.25) as reader, st.scratch(0.25, threads=1) as work:
            assert reader is not None
            cursor, filings = reader
            assert cursor.execute(f"SELECT tin FROM {filings}").fetchall() == [(TIN,)]
            assert (limit(con), limit(work)) == ("715.0 MiB", "238.0 MiB")  # 750MB, 250MB
            assert work.execute("SELECT current_setting('threads')").fetchone() == (1,)
            assert work.execute("SELECT current_setting('temp_file_encryption')"
                                ).fetchone() == (True,)
            assert work.execute("SELECT count(*) FROM duckdb_databases() "
                                "WHERE database_name = 'store'").fetchone() == (0,)
        assert limit(con) == before


def test_extension_lookup(monkeypatch: pytest.MonkeyPatch) -> None:
    path = duck.httpfs_extension_path()
    assert path.is_file() and path.name == "httpfs.duckdb_extension"
    monkeypatch.setattr(duck, "duckdb_platform", lambda: "plan9_mips")
    with pytest.raises(StoreError, match="plan9_mips"):
        duck.httpfs_extension_path()


def test_spill_files_are_encrypted(tmp_path: Path) -> None:
    con = duck.new_connection(Settings(), temp_dir=tmp_path)
    assert con.execute("SELECT current_setting('temp_file_encryption')").fetchone() == (True,)
    assert con.execute("SELECT current_setting('autoload_known_extensions')").fetchone() == (
        False,)
    con.close()
    assert isinstance(con, duckdb.DuckDBPyConnection)


def test_decisions_the_database_refuses_on_the_writer_thread_commit_nothing(
    tmp_path: Path,
) -> None:
    """The decisions and the ledger are written on a worker thread while the ledger is
    chained: an insert the database refuses there (an outcome missing) still fails the
    whole commit, and nothing of the request is left behind."""
    s = make(tmp_path)
    bad = outcome("REQ-W")
    col = bad.decisions.column_names.index("outcome")
    bad.decisions = bad.decisions.set_column(
        col, "outcome", pa.array([None, "NOT_CONFIRMED", "NOT_CONFIRMED"], pa.string()))
    with open_store(s) as st:
        with pytest.raises(StoreError, match="store write failed"):
            st.commit_request(bad)
        assert st.find_request("REQ-W") is None
        assert st.decisions("REQ-W").num_rows == 0
        assert list(st.ledger_entries()) == []
        assert st.commit_request(outcome("REQ-W")) is True
        assert st.decisions("REQ-W").num_rows == 3


def test_insert_worker_keeps_order_and_raises_an_insert_error() -> None:
    """One insert in flight at a time, in the order given; an insert's error reaches the
    caller at its next insert or at the end of the block, and the block never ends with
    an insert still running."""
    import threading
    import time

    from taxgate.store.embedded import _InsertWorker

    done: list[str] = []
    main = threading.get_ident()

    def insert(table: str, rows: pa.Table) -> None:
        assert threading.get_ident() != main
        time.sleep(0.01)
        if table == "bad":
            raise duckdb.ConstraintException("refused")
        done.append(table)

    rows = pa.table({"x": [1]})
    with _InsertWorker(insert) as write:
        for name in ("a", "b", "c"):
            write(name, rows)
    assert done == ["a", "b", "c"]
    with pytest.raises(duckdb.ConstraintException), _InsertWorker(insert) as write:
        write("bad", rows)
        write("d", rows)  # raises here: "bad" failed before it
    assert done == ["a", "b", "c"]
    with pytest.raises(duckdb.ConstraintException), _InsertWorker(insert) as write:
        write("e", rows)
        write("bad", rows)  # raised when the block ends
    assert done == ["a", "b", "c", "e"]
    with pytest.raises(KeyError), _InsertWorker(insert) as write:
        write("f", rows)
        raise KeyError("the block's own error")  # waits for "f", keeps this error
    assert done[-1] == "f"


def test_a_read_while_the_ledger_is_written_fails_instead_of_waiting(tmp_path: Path) -> None:
    """While a request's ledger is written its connection is the writer thread's: an
    event stream that reads the store then gets a clear error, never a hang, and the
    request is not committed."""
    from taxgate.domain import LedgerEvent

    s = make(tmp_path)
    with open_store(s) as st:
        def events() -> Iterator[LedgerEvent]:
            yield LedgerEvent("REQUEST_RECEIVED", {"request_id": "REQ-R"}, "REQ-R")
            st.find_request("REQ-R")
            yield LedgerEvent("DISCLOSURE", {"record_id": "r0", "tin": TIN}, "REQ-R")

        reading = outcome("REQ-R")
        reading.events = events()
        with pytest.raises(StoreError, match="busy"):
            st.commit_request(reading)
        assert st.find_request("REQ-R") is None and list(st.ledger_entries()) == []


def _big_request(request_id: str, rows: int) -> RequestOutcome:
    """A request of ``rows`` decisions: more than one of DuckDB's row groups."""
    return RequestOutcome(
        request_id, "sha-pkg", "2026-11-20T14:00:00Z", "2026-11-20T14:01:00Z",
        f'{{"request_id": "{request_id}"}}', decisions(request_id, rows),
        [LedgerEvent("REQUEST_RECEIVED", {"request_id": request_id}, request_id)])


def _decision_blocks(settings: Settings) -> set[tuple[int, int, int]]:
    """(row group, column, block) of every stored segment of the decisions table."""
    return {(int(g), int(c), int(b)) for g, c, b in raw(
        settings, "SELECT row_group_id, column_id, block_id "
                  "FROM pragma_storage_info('store.decisions') WHERE block_id >= 0")}


def test_a_large_requests_decisions_are_written_once_not_merged_again(
        tmp_path: Path) -> None:
    """docs/scale.md: a large request's rows are written once. DuckDB merges a short
    last row group with the next rows at a checkpoint, which wrote a request's rows a
    second time when the next large request came; the store answering requests never
    merges. Each store close checkpoints."""
    s = make(tmp_path)
    rows = 130_000  # one full row group of 122,880 and a short one
    with open_store(s) as st:
        st.commit_request(_big_request("REQ-A", rows))
    first = _decision_blocks(s)
    with open_store(s) as st:
        st.commit_request(_big_request("REQ-B", rows))
        assert st.decisions("REQ-A").num_rows == rows
    assert first and first <= _decision_blocks(s), "the first request's rows were rewritten"
    assert raw(s, "SELECT count(*) FROM store.decisions") == [(2 * rows,)]
