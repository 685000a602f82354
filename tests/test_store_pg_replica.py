"""The PostgreSQL store's matching replica (taxgate/store/replica.py): a host decrypts
each sealed filing chunk once, into a DuckDB file encrypted with the store's key, and
later processes read it instead of decrypting every chunk again; made again from the
store when it is not the store's own, answered around when another process holds it,
and the answers are the ones the in-memory path and the embedded store give."""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest
from e2e import taxgate
from store_raw import run_sql
from test_filing_index import SPLIT_YEAR, _load, _rebuilt, _rows, standardized  # noqa: F401
from world_cache import SMALL, trained_once

from taxgate import filing_index
from taxgate.canonical import load_private_key_pem, new_data_key, sign_object
from taxgate.domain import Official
from taxgate.errors import StoreError
from taxgate.faults import FAIL_POINTS, LOAD_POINTS
from taxgate.gateway import Gateway
from taxgate.records import TAXPAYER_COLUMNS
from taxgate.settings import Settings
from taxgate.store import open_store, sealed, source_rows
from taxgate.store.postgres import PostgresStore
from taxgate.synth import synth_all

pytestmark = pytest.mark.postgres

_NOTICE = "matching replica is made again"


@pytest.fixture
def pg(pg_url: str) -> Settings:
    s = Settings(store=pg_url, key_hex=new_data_key())
    with open_store(s, create=True) as st:
        st.initialize()
    return s


def _open(settings: Settings) -> PostgresStore:
    store = open_store(settings)
    assert isinstance(store, PostgresStore)
    return store


def _filings(settings: Settings) -> tuple[int, int, list[tuple]]:
    """(chunks this object unsealed, filings, index variants) as one process sees them."""
    with _open(settings) as st:
        con = st.matching_connection()
        n = con.execute("SELECT count(*) FROM filings").fetchone()[0]
        return st.chunks_unsealed, n, _rows(con, filing_index.VARIANTS)


_SECOND_PROCESS = textwrap.dedent("""
    from taxgate.settings import Settings
    from taxgate.store import open_store
    with open_store(Settings(store={url!r}, key_hex={key!r})) as st:
        n = st.matching_connection().execute("SELECT count(*) FROM filings").fetchone()[0]
        print(st.chunks_unsealed, n)
""")


def test_a_second_process_reads_the_replica_and_unseals_no_chunk(
        pg: Settings, standardized: duckdb.DuckDBPyConnection) -> None:  # noqa: F811
    """The first opener unseals every chunk into the host's replica (owner-only files,
    encrypted: no filed name in clear); another process then unseals none."""
    with _open(pg) as st:
        st.append_filings(_load(standardized, f"tax_year <= {SPLIT_YEAR}"))
        st.append_filings(_load(standardized, f"tax_year > {SPLIT_YEAR}"))
        con = st.matching_connection()
        assert st.chunks_unsealed == 2
        total = con.execute("SELECT count(*) FROM filings").fetchone()[0]
        name = con.execute("SELECT last_name FROM filings WHERE length(last_name) > 6 "
                           "LIMIT 1").fetchone()[0]
    code = _SECOND_PROCESS.format(url=pg.store, key=pg.key_hex)
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=dict(os.environ), timeout=120)
    assert run.returncode == 0, run.stderr
    assert run.stdout.split() == ["0", str(total)]
    path = pg.pg_replica_path
    assert path is not None and path.is_file()
    assert path.parent.stat().st_mode & 0o777 == 0o700
    assert path.stat().st_mode & 0o777 == 0o600
    assert name.encode() not in path.read_bytes()


def test_a_later_load_unseals_only_its_own_chunks_and_extends_the_index(
        pg: Settings, standardized: duckdb.DuckDBPyConnection) -> None:  # noqa: F811
    """After a second load, the next process unseals that load's chunk alone, and the
    replica's index equals, row for row, the index built from all its filings."""
    with _open(pg) as st:
        st.append_filings(_load(standardized, f"tax_year <= {SPLIT_YEAR}"))
        assert st.matching_connection() is not None and st.chunks_unsealed == 1
    with _open(pg) as st:
        st.append_filings(_load(standardized, f"tax_year > {SPLIT_YEAR}"))
    with _open(pg) as st:
        con = st.matching_connection()
        assert st.chunks_unsealed == 1
        ref = _rebuilt(con)
        for table in filing_index.TABLES:
            assert _rows(con, table) == _rows(ref, table), table
        assert st.matching_connection() is con and st.chunks_unsealed == 1


def _batch(tins: list[str]) -> Iterator[pa.RecordBatch]:
    return iter([pa.record_batch({"tin": tins, "n_first": ["ANA"] * len(tins)})])


def test_a_replica_of_another_key_or_store_is_made_again(
        pg: Settings, pg_url: str, caplog: pytest.LogCaptureFixture, tmp_path: Path) -> None:
    """One replica file offered to a store of another key, then to another store under
    the same key: each time it is made again from that store's chunks, with a notice,
    never read as theirs."""
    shared = str(tmp_path / "replica" / "r.duckdb")
    mine = Settings(store=pg.store, key_hex=pg.key_hex, pg_replica=shared)
    with _open(mine) as st:
        st.append_filings(_batch(["1", "2", "3"]))
    assert _filings(mine)[:2] == (1, 3)
    for key in (new_data_key(), pg.key_hex):  # another key; then another store, same key
        other = Settings(store=_new_database(pg_url), key_hex=key, pg_replica=shared)
        with open_store(other, create=True) as st:
            st.initialize()
            st.append_filings(_batch(["7"]))
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="taxgate.store"):
            unsealed, n, variants = _filings(other)
        assert (unsealed, n) == (1, 1) and [v[-1] for v in variants] == ["7"]
        said = " ".join(r.getMessage() for r in caplog.records)  # not the log's line numbers
        assert _NOTICE in said and "7" not in said
    with caplog.at_level(logging.WARNING, logger="taxgate.store"):
        assert _filings(mine)[:2] == (1, 3)  # and back: made again for the first store


def _new_database(pg_url: str) -> str:
    """Another empty database on the test server (dropped with the server)."""
    import uuid

    import psycopg

    name = f"taxgate_t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(pg_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    return f"{pg_url.rpartition('/')[0]}/{name}"


def test_a_chunk_the_store_no_longer_has_or_sealed_again_makes_the_replica_again(
        pg: Settings, caplog: pytest.LogCaptureFixture) -> None:
    """A chunk the replica holds but the store dropped, or one whose sealed bytes were
    replaced (another nonce): the replica is made again from what the store holds now,
    never answering from the old rows."""
    with _open(pg) as st:
        st.append_filings(_batch(["1", "2"]))
        st.append_filings(_batch(["3"]))
        st.matching_connection()
    load = run_sql(pg, "SELECT load_id FROM loads ORDER BY min_filing_id DESC LIMIT 1")[0][0]
    run_sql(pg, f"DELETE FROM filing_chunks WHERE load_id = '{load}'")
    with caplog.at_level(logging.WARNING, logger="taxgate.store"):
        assert _filings(pg)[:2] == (1, 2)
    assert _NOTICE in caplog.text
    caplog.clear()
    first = run_sql(pg, "SELECT load_id FROM loads ORDER BY min_filing_id LIMIT 1")[0][0]
    with _open(pg) as st:  # the same label sealed again, as a restore from backup might
        rows = st.matching_connection().execute(
            "SELECT * FROM filings WHERE tin = '1'").fetch_arrow_table()
    blob = sealed.seal(pg.key_hex, rows, f"filings/{first}/0")
    run_sql(pg, f"UPDATE filing_chunks SET sealed = '\\x{blob.hex()}'::bytea, row_count = 1 "
                f"WHERE load_id = '{first}'")
    with caplog.at_level(logging.WARNING, logger="taxgate.store"):
        assert _filings(pg)[:2] == (1, 1)
    assert _NOTICE in caplog.text


def test_an_index_of_another_version_is_built_again(
        pg: Settings, caplog: pytest.LogCaptureFixture) -> None:
    with _open(pg) as st:
        st.append_filings(_batch(["1", "2"]))
        con = st.matching_connection()
        con.execute("UPDATE replica.main.filing_index_state SET version = version + 1")
    with caplog.at_level(logging.WARNING, logger="taxgate.store"), _open(pg) as st:
        con = st.matching_connection()
        assert st.chunks_unsealed == 0
        assert filing_index.coverage(con, "replica.main.") == (2, 2)
    assert "index is of another version" in caplog.text


def test_a_replica_held_by_another_process_falls_back_to_memory(
        pg: Settings, caplog: pytest.LogCaptureFixture) -> None:
    """While one opener (a running service) holds the replica, another answers from the
    chunks decrypted in its own memory, with a one-line notice; with the replica off no
    file is made at all; a path that holds another kind of file is not touched."""
    with _open(pg) as st:
        st.append_filings(_batch(["1", "2"]))
    with _open(pg) as holder:
        holder.matching_connection()
        with caplog.at_level(logging.WARNING, logger="taxgate.store"):
            assert _filings(pg)[:2] == (1, 2)
        said = [r.getMessage() for r in caplog.records if r.name == "taxgate.store"]
        assert len(said) == 1 and "in use by another process" in said[0] and "\n" not in said[0]
    off = Settings(store=pg.store, key_hex=pg.key_hex, pg_replica="off")
    assert off.pg_replica_path is None
    pg.pg_replica_path.unlink()  # type: ignore[union-attr]
    assert _filings(off)[:2] == (1, 2) and _filings(off)[0] == 1
    assert not pg.pg_replica_path.exists()  # type: ignore[union-attr]
    other = pg.pg_replica_path.with_name("notes.txt")  # type: ignore[union-attr]
    other.write_text("not a replica")  # a path set by mistake: used in memory, left as is
    mistaken = Settings(store=pg.store, key_hex=pg.key_hex, pg_replica=str(other))
    assert _filings(mistaken)[:2] == (1, 2) and other.read_text() == "not a replica"


def _renamed(folder: Path, to: Path, private_key: Path, suffix: str) -> Path:
    """The same package under another request_id, signed again."""
    shutil.copytree(folder, to)
    m = json.loads((to / "manifest.json").read_text(encoding="utf-8"))
    m.pop("signature", None)
    m["request_id"] = m["request_id"] + suffix
    signed = sign_object(load_private_key_pem(private_key.read_bytes()), m)
    (to / "manifest.json").write_text(json.dumps(signed), encoding="utf-8")
    return to


def _answer(settings: Settings, request: Path, out: Path) -> tuple[int, list[dict]]:
    """Process ``request`` in a gateway of its own: (chunks unsealed, its decisions)."""
    with Gateway(settings) as gw:
        result = gw.process(request, out)
        assert result.exit_code == 0, result.message
        with gw.lock() as s:
            rid = json.loads((request / "manifest.json").read_text())["request_id"]
            rows = s.decisions(rid).drop(["request_id"]).to_pylist()
            return getattr(s, "chunks_unsealed", 0), rows


def test_r26_outcomes_with_the_replica_equal_the_in_memory_path_and_the_embedded_store(
        pg: Settings, tmp_path: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    """One request answered from the replica `load` made, again decrypted in memory
    (the replica off), and on the embedded store: the same
    decisions (outcome, TIN, probability, evidence) and results.csv byte for byte, so no
    confirmation depends on where the filings were read (R26)."""
    paths = synth_all(tmp_path / "synthetic", SMALL[0], 60, seed=SMALL[1])
    official = Official("ice-director", "DHS-ICE", "Director", paths.public_key.read_text(),
                        dt.date(2026, 1, 1))
    embedded = Settings(store=str(tmp_path / "store"), key_hex=new_data_key())
    for settings in (pg, embedded):
        with Gateway(settings) as gw:
            gw.init()
            with trained_once(tmp_path_factory):
                gw.load(paths.taxpayers)
            gw.add_official(official, "test")
    runs = [(pg, "-R1"), (Settings(store=pg.store, key_hex=pg.key_hex, pg_replica="off"),
                          "-MEM"), (embedded, "-EMB")]
    answers = []
    for settings, suffix in runs:
        req = _renamed(paths.request_dir, tmp_path / f"req{suffix}", paths.private_key, suffix)
        answers.append((*_answer(settings, req, tmp_path / f"out{suffix}"), suffix))
    assert [a[0] for a in answers[:2]] == [0, 1]  # load made the replica; off: in memory
    assert any(r["outcome"] == "CONFIRMED" for r in answers[0][1])
    for _, rows, suffix in answers[1:]:
        assert rows == answers[0][1], suffix
        assert (tmp_path / f"out{suffix}" / "results.csv").read_bytes() == (
            tmp_path / "out-R1" / "results.csv").read_bytes(), suffix


def _stored(settings: Settings) -> tuple[list[tuple], list[tuple]]:
    """(every filing, ordered by id; the chunks held) as ``settings``' replica, or this
    process's memory, holds them."""
    with _open(settings) as st:
        con = st.matching_connection()
        rows = con.execute("SELECT * FROM filings ORDER BY filing_id").fetchall()
        held = con.execute("SELECT load_id, chunk_no, nonce, row_count FROM "
                           "replica.main.replica_chunks ORDER BY load_id, chunk_no"
                           ).fetchall() if st.chunks_unsealed == 0 else []
        return rows, held


def _described(settings: Settings) -> list[tuple]:
    with _open(settings) as st:
        return list(st.matching_connection().execute("SELECT * FROM filings LIMIT 0")
                    .description)


def test_r31_a_load_stores_its_filings_through_the_replica_and_trains_the_same_model(
        pg: Settings, tmp_path: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    """`load` inserts the filings into the host's replica from the query that prepared
    them and seals the store's chunks from their source rows (store/source_rows.py):
    the replica then holds exactly what the chunks give, standardized again, in memory
    or in another host's replica (every column, in the same order), each chunk recorded
    with its nonce, and the next process unseals nothing. The model, trained from the
    replica while the index is built, is
    the one the embedded store trains from the same file (R31: a decision's model
    version names what it was estimated from; trained once per input and session, so
    the versions differ when the filings read differ)."""
    paths = synth_all(tmp_path / "synthetic", SMALL[0], 10, seed=SMALL[1])
    embedded = Settings(store=str(tmp_path / "store"), key_hex=new_data_key())
    versions = []
    for settings in (pg, embedded):
        with Gateway(settings) as gw, trained_once(tmp_path_factory):
            gw.init()
            loaded = gw.load(paths.taxpayers)
            assert loaded.model_trained
            versions.append(loaded.model_version)
    assert versions[0] == versions[1]
    with _open(pg) as st, st.filings_reader() as reader:  # what `load` trained from
        assert reader is not None and reader[1] == "replica.main.filings"
    rows, held = _stored(pg)
    in_memory, _ = _stored(Settings(store=pg.store, key_hex=pg.key_hex, pg_replica="off"))
    assert rows == in_memory and len(rows) == loaded.total_filings
    other = Settings(store=pg.store, key_hex=pg.key_hex, pg_replica=str(tmp_path / "other"))
    with _open(other) as st:  # another host: its replica made from the chunks
        con = st.matching_connection()
        assert st.chunks_unsealed == len(held)
        assert con.execute("SELECT * FROM filings ORDER BY filing_id").fetchall() == rows
        assert ([d[0] for d in con.execute("SELECT * FROM filings LIMIT 0").description]
                == [d[0] for d in _described(pg)])
    listed = run_sql(pg, "SELECT load_id, chunk_no, substring(sealed FROM 1 FOR 12), "
                         "row_count FROM filing_chunks ORDER BY load_id, chunk_no")
    assert held == [(a, b, bytes(c), d) for a, b, c, d in listed] and held
    # a host's load seals its chunks as Arrow string views (half the bytes of strings)
    load_id, chunk_no = listed[0][:2]
    blob = run_sql(pg, f"SELECT sealed FROM filing_chunks WHERE load_id = '{load_id}' "
                       f"AND chunk_no = {chunk_no}")[0][0]
    chunk = sealed.unseal(pg.key_hex or "", bytes(blob), f"filings/{load_id}/{chunk_no}")
    assert pa.types.is_string_view(chunk.schema.field("last_name").type)
    assert source_rows.holds_source_rows(chunk)  # the file's columns, nothing derived
    assert set(chunk.schema.names) == {*TAXPAYER_COLUMNS, "load_id", "filing_id"}


def _loaded_then_more(pg: Settings, tmp_path: Path,
                      tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The store loaded with a small world; returns a file of 39 more filings (its first
    rows) to load after."""
    paths = synth_all(tmp_path / "synthetic", SMALL[0], 10, seed=SMALL[1])
    lines = paths.taxpayers.read_text(encoding="utf-8").splitlines(keepends=True)
    more = tmp_path / "more.csv"
    more.write_text("".join([lines[0], *lines[1:40]]), encoding="utf-8")
    with Gateway(pg) as gw, trained_once(tmp_path_factory):
        gw.init()
        gw.load(paths.taxpayers)
    return more


def test_a_load_the_store_fails_to_commit_leaves_the_replica_as_it_was(
        pg: Settings, tmp_path: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    """A load whose sealed chunks PostgreSQL refuses (here a trigger, as a full disk or
    a lost connection would) stores nothing: neither in the store nor in the replica,
    whose filings were inserted in the same, rolled back, transaction. The next load
    and process go on from what the store holds."""
    more = _loaded_then_more(pg, tmp_path, tmp_path_factory)
    before = _stored(pg)
    run_sql(pg, "CREATE FUNCTION refuse_chunk() RETURNS trigger LANGUAGE plpgsql AS "
                "$$ BEGIN RAISE EXCEPTION 'disk full'; END $$",
                "CREATE TRIGGER refuse BEFORE INSERT ON filing_chunks "
                "FOR EACH ROW EXECUTE FUNCTION refuse_chunk()")
    with Gateway(pg) as gw, pytest.raises(StoreError, match="store write failed"):
        gw.load(more)
    assert _stored(pg) == before
    run_sql(pg, "DROP TRIGGER refuse ON filing_chunks")
    with Gateway(pg) as gw:
        assert gw.load(more).rows == 39
    rows, held = _stored(pg)
    assert len(rows) == len(before[0]) + 39 and len(held) == len(before[1]) + 1


@pytest.mark.parametrize("point", LOAD_POINTS)
def test_r26_a_load_killed_between_the_two_commits_is_stored_once_and_unsealed_after(
        pg: Settings, tmp_path: Path, tmp_path_factory: pytest.TempPathFactory,
        point: str) -> None:
    """`taxgate load` killed (SIGKILL, no cleanup) after PostgreSQL committed the load and
    before the replica did: the store holds the load once (loading the file again is
    refused as a reload), the replica holds none of it, and the next process unseals
    exactly its chunk, so its filings equal the in-memory path's (R26: no answer depends
    on where the filings were read)."""
    more = _loaded_then_more(pg, tmp_path, tmp_path_factory)
    before = _stored(pg)
    env = {"TAXGATE_KEY": str(pg.key_hex)}
    crashed = taxgate("load", str(more), store=pg.store, env={**env, "TAXGATE_CRASH_AT": point})
    assert crashed.code == -signal.SIGKILL
    loads = run_sql(pg, "SELECT row_count FROM loads ORDER BY min_filing_id")
    assert [r[0] for r in loads][1:] == [39]
    with _open(pg) as st:
        rows = st.matching_connection().execute(
            "SELECT * FROM filings ORDER BY filing_id").fetchall()
        assert st.chunks_unsealed == 1
    in_memory, _ = _stored(Settings(store=pg.store, key_hex=pg.key_hex, pg_replica="off"))
    assert rows == in_memory and len(rows) == len(before[0]) + 39
    again = taxgate("load", str(more), store=pg.store, env=env)
    assert again.code != 0 and "loaded already" in again.stdout + again.stderr, again
    assert _stored(pg)[0] == rows


@pytest.mark.parametrize("point", FAIL_POINTS)
def test_r26_a_replica_that_fails_to_commit_a_stored_load_is_caught_up(
        pg: Settings, tmp_path: Path, tmp_path_factory: pytest.TempPathFactory,
        point: str) -> None:
    """The replica's commit failing after PostgreSQL committed the load (as a full disk
    on the host would): `load` says so in one line naming no taxpayer value and goes on,
    since the load is stored; the replica, behind the store and never ahead, takes the
    load's chunk in `load`'s own index stage, so the next process unseals nothing and
    reads what the in-memory path reads (R26)."""
    more = _loaded_then_more(pg, tmp_path, tmp_path_factory)
    before = _stored(pg)
    env = {"TAXGATE_KEY": str(pg.key_hex), "TAXGATE_FAIL_AT": point}
    done = taxgate("load", str(more), store=pg.store, env=env)
    assert done.code == 0, done
    notices = [line for line in done.stderr.splitlines() if "could not record" in line]
    assert len(notices) == 1 and "IOException" in notices[0], done.stderr
    assert "Traceback" not in done.stderr
    loads = run_sql(pg, "SELECT row_count FROM loads ORDER BY min_filing_id")
    assert [r[0] for r in loads][1:] == [39]
    rows, held = _stored(pg)  # held is listed only when this process unsealed nothing
    in_memory, _ = _stored(Settings(store=pg.store, key_hex=pg.key_hex, pg_replica="off"))
    assert rows == in_memory and len(rows) == len(before[0]) + 39
    assert len(held) == len(before[1]) + 1


def test_r26_another_host_standardizes_each_loads_source_rows_as_the_load_did(
        pg: Settings, tmp_path: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    """Two loads sealed as source rows, with chunks of stored rows between them
    (store/source_rows.py): another host's replica, which standardizes each load's
    chunks together, and a process without a replica hold the same filings (every
    column, in the same order) and the same index as the host that loaded them, so no
    answer depends on the host (R26)."""
    more = _loaded_then_more(pg, tmp_path, tmp_path_factory)
    with _open(pg) as st:
        st.append_filings(_batch(["912345678", "912345679"]))  # stored rows, sealed as given
    with Gateway(pg) as gw:
        assert gw.load(more).rows == 39
    with _open(pg) as st:
        con = st.matching_connection()
        assert st.chunks_unsealed == 0  # the host that loaded
        chunks = len(st._chunks())
        columns = [d[0] for d in con.execute("SELECT * FROM filings LIMIT 0").description]
        index = {t: _rows(con, t) for t in filing_index.TABLES}
    rows, _ = _stored(pg)
    assert any(r[columns.index("a_key")] for r in rows)
    for replica in (str(tmp_path / "other-host"), "off"):
        with _open(Settings(store=pg.store, key_hex=pg.key_hex, pg_replica=replica)) as st:
            con = st.matching_connection()
            assert st.chunks_unsealed == chunks == 3, replica
            assert [d[0] for d in con.execute("SELECT * FROM filings LIMIT 0").description
                    ] == columns
            assert con.execute("SELECT * FROM filings ORDER BY filing_id").fetchall() == rows
            for table in filing_index.TABLES:
                assert _rows(con, table) == index[table], (replica, table)


def test_r26_a_replica_standardized_by_other_rules_is_made_again(
        pg: Settings, tmp_path: Path, tmp_path_factory: pytest.TempPathFactory,
        caplog: pytest.LogCaptureFixture) -> None:
    """A replica whose filings another version's standardization rules made (its
    `replica_meta` names another fingerprint of the standardization code and data) is
    made again from the chunks, with a notice, so a host never answers from filings
    standardized otherwise than its requests (R26); here the same rules give the same
    rows."""
    _loaded_then_more(pg, tmp_path, tmp_path_factory)
    rows, _ = _stored(pg)
    with _open(pg) as st:
        st.matching_connection().execute("UPDATE replica.main.replica_meta SET value = "
                                         "'another version' WHERE name = 'standardization'")
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="taxgate.store"), _open(pg) as st:
        con = st.matching_connection()
        assert st.chunks_unsealed == len(st._chunks()) > 0
        assert con.execute("SELECT * FROM filings ORDER BY filing_id").fetchall() == rows
    assert "standardized by other rules" in caplog.text
    with _open(pg) as st:  # stamped with this version's rules: not made again
        st.matching_connection()
        assert st.chunks_unsealed == 0
