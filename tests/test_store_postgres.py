"""The PostgreSQL store's own promises: sealed taxpayer data and key checks (R35), an
append-only ledger that never forks (R28), exactly-once commits across processes (R27),
and no credential in its messages."""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import psycopg
import pyarrow as pa
import pytest
from store_raw import run_sql
from test_store import outcome

from taxgate import ledger
from taxgate.canonical import new_data_key
from taxgate.errors import KeyUnavailable, StoreError
from taxgate.settings import Settings
from taxgate.store import open_store
from taxgate.store.migrations import latest
from taxgate.store.sealed import CHUNK_ROWS

pytestmark = pytest.mark.postgres


@pytest.fixture
def pg_settings(pg_url: str) -> Settings:
    s = Settings(store=pg_url)
    with open_store(s, create=True) as st:
        st.initialize()
    return s


def test_r35_key_file_is_created_owner_only_outside_any_repo(pg_settings: Settings) -> None:
    key_file = pg_settings.key_file
    assert key_file.is_file() and key_file.stat().st_mode & 0o777 == 0o600
    assert key_file.parent.stat().st_mode & 0o777 == 0o700
    assert re.fullmatch(r"pg-[0-9a-f]{16}\.key", key_file.name)  # no credentials in the name


def test_r35_wrong_or_missing_key_is_refused(pg_settings: Settings) -> None:
    with pytest.raises(KeyUnavailable, match="wrong key"):
        open_store(Settings(store=pg_settings.store, key_hex=new_data_key()))
    pg_settings.key_file.unlink()
    with pytest.raises(KeyUnavailable, match="no at-rest key"):
        open_store(pg_settings)


def test_empty_database_is_not_a_store(pg_url: str) -> None:
    with pytest.raises(StoreError, match="run `taxgate init`"):
        open_store(Settings(store=pg_url))


def test_unreachable_server_message_has_no_password() -> None:
    with pytest.raises(StoreError) as info:
        open_store(Settings(store="postgresql://u:s3cret@127.0.0.1:1/x"))
    assert "s3cret" not in str(info.value) and "127.0.0.1:1/x" in str(info.value)


def test_r28_schema_version_and_append_only_trigger(pg_settings: Settings) -> None:
    with open_store(pg_settings) as st:
        st.append_events([ledger.LedgerEvent("REVIEW_DECIDED", {"record_id": "a"})])
    with psycopg.connect(pg_settings.store) as conn:
        assert conn.execute("SELECT max(version) FROM schema_migrations").fetchone() == (
            latest("postgres"),)
        with pytest.raises(psycopg.errors.RaiseException, match="append-only"):
            conn.execute("UPDATE ledger SET payload = '{}' WHERE seq = 1")
        conn.rollback()
        with pytest.raises(psycopg.errors.RaiseException):
            conn.execute("DELETE FROM ledger")


def test_r35_taxpayer_values_are_sealed_in_the_database_and_on_disk(
    pg_settings: Settings, pg_server
) -> None:
    tin = "9" + "".join(secrets.choice("0123456789") for _ in range(8))
    name = "ZQ" + secrets.token_hex(6).upper()
    with open_store(pg_settings) as st:
        st.append_filings(iter([pa.record_batch({"tin": [tin] * 300, "last_name": [name] * 300})]))
        o = outcome("REQ-SEAL")
        o.decisions = o.decisions.set_column(5, "tin", pa.array([tin] * o.decisions.num_rows))
        st.commit_request(o)
        st.save_model("m", f'{{"seen": "{name}"}}')
        con = st.matching_connection()
        assert con.execute("SELECT count(*) FROM filings WHERE tin = ?", [tin]).fetchone() == (300,)
        assert st.decisions("REQ-SEAL").column("tin").to_pylist()[0] == tin
        assert name in st.current_model()[1]
    needles = (tin.encode(), name.encode())
    with psycopg.connect(pg_settings.store) as conn:
        tables = [r[0] for r in conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'").fetchall()]
        for t in tables:
            for (row,) in conn.execute(f"SELECT t::text FROM {t} t").fetchall():
                assert tin not in row and name not in row, t
        for (blob,) in conn.execute("SELECT sealed FROM filing_chunks UNION ALL "
                                    "SELECT sealed FROM decision_chunks").fetchall():
            assert not any(n in bytes(blob) for n in needles)
        conn.execute("CHECKPOINT")
    if pg_server.data_dir is not None:  # our own server: scan its files, WAL included
        for p in Path(pg_server.data_dir).rglob("*"):
            if p.is_file() and p.stat().st_size:
                data = p.read_bytes()
                assert not any(n in data for n in needles), p.name


def test_r35_each_sealed_chunk_is_written_while_the_next_is_made(pg_settings: Settings) -> None:
    """A load's chunks reach the server's files as they are sealed, not all at its end
    (a binary COPY had the server hold every chunk in memory until then)."""
    sizes: list[int] = []

    def batches():
        for n in range(3):
            with psycopg.connect(pg_settings.store) as other:  # the files, not the rows
                sizes.append(other.execute(
                    "SELECT pg_total_relation_size('filing_chunks')").fetchone()[0])
            tins = pa.array([f"{n}{i:08d}" for i in range(CHUNK_ROWS)])
            yield pa.record_batch({"tin": tins, "last_name": pa.array(["ZQ"] * CHUNK_ROWS)})

    with open_store(pg_settings) as st:
        assert st.append_filings(batches()) == 3 * CHUNK_ROWS
        assert st.filing_count() == 3 * CHUNK_ROWS
    # chunk 0 is written by the time chunk 2 is made (chunk 1 may still be on its way)
    assert sizes[2] > sizes[0] + 100_000, sizes


def test_r35_a_moved_chunk_does_not_decrypt(pg_settings: Settings) -> None:
    with open_store(pg_settings) as st:
        st.commit_request(outcome("REQ-A"))
        st.commit_request(outcome("REQ-B"))
    run_sql(pg_settings, "UPDATE decision_chunks SET sealed = (SELECT sealed FROM "
                         "decision_chunks WHERE request_id = 'REQ-A') WHERE request_id = 'REQ-B'")
    with open_store(pg_settings) as st, pytest.raises(StoreError, match="altered"):
        st.decisions("REQ-B")


def test_matching_connection_picks_up_new_loads(pg_settings: Settings) -> None:
    with open_store(pg_settings) as st:
        st.append_filings(iter([pa.record_batch({"tin": ["1"]})]))
        con = st.matching_connection()
        st.append_filings(iter([pa.record_batch({"tin": ["2"], "a_zip5": ["12345"]})]))
        assert st.matching_connection() is con
        assert con.execute("SELECT tin, a_zip5 FROM filings ORDER BY filing_id").fetchall() == [
            ("1", None), ("2", "12345")]


_WORKER = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from taxgate.settings import Settings
    from taxgate.store import open_store
    sys.path.insert(0, {tests!r})
    from test_store import outcome
    store = open_store(Settings(store={url!r}, key_hex={key!r}))
    go = Path({go!r})
    while not go.exists():
        time.sleep(0.001)
    print(store.commit_request(outcome("REQ-RACE")), flush=True)
    store.close()
""")


def test_r27_concurrent_commits_of_one_request_disclose_once(
    pg_settings: Settings, tmp_path: Path
) -> None:
    go = tmp_path / "go"
    code = _WORKER.format(tests=str(Path(__file__).parent), url=pg_settings.store,
                          key=pg_settings.resolve_key(), go=str(go))
    procs = [subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, env=dict(os.environ))
             for _ in range(4)]
    time.sleep(1.5)  # all four connected and waiting
    go.touch()
    results = []
    for p in procs:
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
        results.append(out.strip())
    assert sorted(results) == ["False", "False", "False", "True"]
    with open_store(pg_settings) as st:
        entries = list(st.ledger_entries())
        assert sum(e.event_type == "DISCLOSURE" for e in entries) == 1
        assert sum(e.event_type == "REQUEST_RECEIVED" for e in entries) == 1
        assert st.decisions("REQ-RACE").num_rows == 3
        assert ledger.verify(entries, st.signing_key().public_key()).ok


def test_r28_concurrent_appenders_never_fork_the_chain(pg_settings: Settings,
                                                        tmp_path: Path) -> None:
    code = textwrap.dedent(f"""
        from taxgate.settings import Settings
        from taxgate.store import open_store
        from taxgate.domain import LedgerEvent
        s = open_store(Settings(store={pg_settings.store!r}, key_hex={pg_settings.resolve_key()!r}))
        for i in range(30):
            s.append_events([LedgerEvent("REVIEW_DECIDED", {{"n": i}})] * 3)
        s.close()
    """)
    procs = [subprocess.Popen([sys.executable, "-c", code], stderr=subprocess.PIPE, text=True)
             for _ in range(3)]
    for p in procs:
        _, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
    with open_store(pg_settings) as st:
        report = ledger.verify(st.ledger_entries(), st.signing_key().public_key())
    assert report.ok and report.entries == 3 * 30 * 4
