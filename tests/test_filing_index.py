"""The filing index (taxgate/filing_index.py): computed at load, extended by later loads
exactly as a rebuild would compute it, brought up to date on a store that lacks it, and
equal to what process computed from every filing before it existed."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pytest
from world_cache import SMALL, trained_once

from taxgate import filing_index, standardize
from taxgate.domain import Official
from taxgate.filings import stage_filings
from taxgate.gateway import Gateway
from taxgate.settings import Settings
from taxgate.standardize.install import installed
from taxgate.store import open_store
from taxgate.store.base import Store
from taxgate.synth import generate_taxpayers, synth_all, write_taxpayers

SPLIT_YEAR = 2023  # the first load holds the returns up to this year, the second the rest


@pytest.fixture(scope="module")
def standardized(tmp_path_factory: pytest.TempPathFactory) -> duckdb.DuckDBPyConnection:
    """The suite's small population's filings, standardized as `taxgate load` does."""
    path = write_taxpayers(generate_taxpayers(*SMALL),
                           tmp_path_factory.mktemp("fx") / "taxpayers.parquet", "parquet")
    con = duckdb.connect()
    standardize.install(con)
    stage_filings(con, path, "raw")
    con.execute("CREATE TABLE std AS "
                + standardize.standardized_select_sql("raw", side="filing"))
    return con


def _load(con: duckdb.DuckDBPyConnection, where: str) -> Iterator[pa.RecordBatch]:
    return iter(con.execute(f"SELECT * FROM std WHERE {where}").fetch_arrow_table()
                .to_batches(max_chunksize=500))


def _rows(con: duckdb.DuckDBPyConnection, table: str) -> list[tuple]:
    return con.execute(f"SELECT * FROM {table} ORDER BY ALL").fetchall()


def _rebuilt(con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    """The index built from scratch, in a connection of its own, from ``con``'s filings."""
    ref = duckdb.connect()
    ref.register("_in", con.execute("SELECT * FROM filings").fetch_arrow_table())
    ref.execute("CREATE TABLE filings AS SELECT * FROM _in")
    filing_index.update(ref, "", "filings")
    return ref


def test_the_index_is_kept_at_load_and_a_second_load_extends_it_as_a_rebuild_would(
        store: Store, standardized: duckdb.DuckDBPyConnection) -> None:
    """On each engine: the index covers the first load once it is stored, and after a
    second load (a new year's filings: new TINs, new variants, new filings of known
    TINs) every index table equals, row for row, the index built from all filings."""
    store.append_filings(_load(standardized, f"tax_year <= {SPLIT_YEAR}"))
    store.update_filing_index()
    con = store.matching_connection()
    first = con.execute("SELECT max(filing_id), count(*) FROM filings").fetchone()
    assert filing_index.coverage(con, "store.main." if _embedded(store) else "") == first
    before = _rows(con, filing_index.VARIANTS)

    store.append_filings(_load(standardized, f"tax_year > {SPLIT_YEAR}"))
    store.update_filing_index()
    con = store.matching_connection()
    total = con.execute("SELECT count(*) FROM filings").fetchone()[0]
    assert total > first[1] > 0
    ref = _rebuilt(con)
    for table in filing_index.TABLES:
        assert _rows(con, table) == _rows(ref, table), table
    after = {repr(r) for r in _rows(con, filing_index.VARIANTS)}
    assert {repr(r) for r in before} < after  # a variant keeps its row and its filing_id
    if _embedded(store):  # the update merged row groups; answering requests never does
        assert con.execute("SELECT current_setting('max_vacuum_tasks')").fetchone() == (0,)


def _embedded(store: Store) -> bool:
    return type(store).__name__ == "EmbeddedStore"


def test_update_extends_and_leaves_untouched_tins_alone(
        standardized: duckdb.DuckDBPyConnection) -> None:
    """A second batch is added to the index (not rebuilt): a TIN it does not touch keeps
    its profile row as it was, and the counts are the first counts plus the new ones."""
    con = duckdb.connect()
    con.register("std_in", standardized.execute("SELECT * FROM std").fetch_arrow_table())
    con.execute(f"""CREATE TABLE filings AS SELECT row_number() OVER (ORDER BY tax_year,
                    tin, processed_date, a_key, n_first) AS filing_id, *
                    FROM std_in WHERE tax_year <= {SPLIT_YEAR}""")
    assert filing_index.update(con, "", "filings")
    assert not filing_index.update(con, "", "filings")  # nothing new: nothing written
    old = con.execute(f"SELECT tin FROM {filing_index.TINS} WHERE tin NOT IN (SELECT tin "
                      f"FROM std_in WHERE tax_year > {SPLIT_YEAR}) LIMIT 1").fetchone()[0]
    con.execute(f"UPDATE {filing_index.TINS} SET sfx = 'MARK' WHERE tin = ?", [old])
    con.execute(f"""INSERT INTO filings SELECT {first_id(con)} + row_number() OVER (ORDER BY
                    tax_year, tin, processed_date, a_key, n_first), *
                    FROM std_in WHERE tax_year > {SPLIT_YEAR}""")
    assert filing_index.update(con, "", "filings")
    assert con.execute(f"SELECT sfx FROM {filing_index.TINS} WHERE tin = ?",
                       [old]).fetchone()[0] == "MARK"
    con.execute(f"UPDATE {filing_index.TINS} SET sfx = '' WHERE tin = ?", [old])
    ref = _rebuilt(con)
    for table in filing_index.TABLES:
        assert _rows(con, table) == _rows(ref, table), table


def first_id(con: duckdb.DuckDBPyConnection) -> int:
    return int(con.execute("SELECT max(filing_id) FROM filings").fetchone()[0])


def test_the_index_equals_what_process_computed_from_every_filing(
        standardized: duckdb.DuckDBPyConnection) -> None:
    """The variants, term shares (the same doubles), the count of TINs and the profiles
    the index keeps are what the statements over all filings gave before it existed."""
    con = duckdb.connect()
    con.register("std_in", standardized.execute("SELECT * FROM std").fetch_arrow_table())
    con.execute("CREATE TABLE filings AS SELECT row_number() OVER (ORDER BY tin, tax_year, "
                "processed_date, a_key, n_first) AS filing_id, * FROM std_in")
    filing_index.update(con, "", "filings")
    cols = ", ".join(filing_index.MODEL_COLUMNS)
    assert _rows(con, filing_index.VARIANTS) == con.execute(
        f"SELECT min(filing_id), {cols} FROM filings GROUP BY {cols} ORDER BY ALL").fetchall()
    for col in filing_index.TF_COLUMNS:
        expr = filing_index.term_expression(col)
        old = con.execute(f"""SELECT {col}, count(*) / sum(count(*)) OVER ()
                              FROM (SELECT {expr} AS {col} FROM filings)
                              WHERE {col} IS NOT NULL GROUP BY {col} ORDER BY ALL""").fetchall()
        new = con.execute(filing_index.term_shares_sql(col, filing_index.terms_table(col))
                          + " ORDER BY ALL").fetchall()
        assert new == old and len(new) > 10, col
    assert con.execute(f"SELECT count(*) FROM {filing_index.TINS}").fetchone() == con.execute(
        "SELECT count(DISTINCT tin) FROM filings").fetchone()
    old_profiles = con.execute("""
        SELECT tin, list_sort(coalesce(list(DISTINCT dob) FILTER (WHERE dob IS NOT NULL), [])),
               min(tax_year), max(tax_year), coalesce(max(n_suffix), ''),
               bool_or(coalesce(upper(trim(disclosure_hold)), '') = 'Y')
        FROM filings GROUP BY tin ORDER BY ALL""").fetchall()
    assert con.execute(f"SELECT tin, dobs, fy, ly, sfx, held FROM {filing_index.TINS} "
                       "ORDER BY ALL").fetchall() == old_profiles
    periods = "2023, 2024, 2025"  # the address of record of each TIN over a request's periods
    old_aor = con.execute(f"""
        SELECT tin, arg_max(struct_pack(a_number, a_street, a_street_name, a_unit, a_po_box,
                                        a_zip5, a_city, a_state),
                            (processed_date, CASE source WHEN 'F8822' THEN 2 ELSE 1 END,
                             filing_id))
        FROM filings WHERE tax_year IN ({periods}) GROUP BY tin ORDER BY ALL""").fetchall()
    assert len(old_aor) > 100 and con.execute(
        f"SELECT tin, arg_max(aor, aor_rank) FROM {filing_index.ADDRESSES} "
        f"WHERE tax_year IN ({periods}) GROUP BY tin ORDER BY ALL").fetchall() == old_aor


def test_a_store_without_its_index_is_brought_up_to_date(
        tmp_path: Path, standardized: duckdb.DuckDBPyConnection) -> None:
    """A store made before the index (or by a load stopped between storing its filings and
    indexing them, or with an index of another version) is indexed when matching opens it."""
    settings = Settings(store=str(tmp_path / "store"), key_hex="ef" * 32)
    with open_store(settings, create=True) as st:
        st.initialize()
        st.append_filings(_load(standardized, "true"))  # no update_filing_index: as before
    with open_store(settings) as st:
        con = st.matching_connection()
        n = con.execute("SELECT max(filing_id), count(*) FROM filings").fetchone()
        assert filing_index.coverage(con, "store.main.") == n
        con.execute("UPDATE store.main.filing_index_state SET version = version + 1")
        st.update_filing_index()
        assert filing_index.coverage(con, "store.main.") == n  # rebuilt at this version
        # a load with ids of its own below the watermark: rebuilt whole, not extended
        low = standardized.execute("SELECT * REPLACE (0 AS tax_year) FROM std LIMIT 3"
                                   ).fetch_arrow_table().append_column(
            "filing_id", pa.array([-3, -2, -1], pa.int64()))
        st.append_filings(iter(low.to_batches()))
        con = st.matching_connection()
        assert filing_index.coverage(con, "store.main.") == (n[0], n[1] + 3)
        ref = _rebuilt(con)
        for table in filing_index.TABLES:
            assert _rows(con, table) == _rows(ref, table), table


def test_process_answers_the_same_with_the_index_kept_at_load_or_rebuilt(
        tmp_path: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    """The decisions of one request on a store whose index load kept, and again after
    the index is dropped (a store made before it): the same outcome, TIN, probability
    and evidence for every record (R23, R24, R25 decided on the same evidence)."""
    paths = synth_all(tmp_path / "synthetic", SMALL[0], 60, seed=SMALL[1])
    settings = Settings(store=str(tmp_path / "store"), key_hex="cd" * 32)
    with Gateway(settings) as gw:
        gw.init()
        with trained_once(tmp_path_factory):  # the suite's population: trained once
            gw.load(paths.taxpayers)
        gw.add_official(Official("ice-director", "DHS-ICE", "Director",
                                 paths.public_key.read_text(), dt.date(2026, 1, 1)), "test")
        _warmed_by_the_worker(gw)
        first = gw.process(paths.request_dir, tmp_path / "out1")
        assert first.exit_code == 0 and first.counts.get("CONFIRMED"), first.message
        with gw.lock() as s:
            con = s.matching_connection()
            for table in filing_index.TABLES:
                con.execute(f"DROP TABLE store.main.{table}")
        again = _renamed(paths.request_dir, tmp_path / "again", paths.private_key)
        second = gw.process(again, tmp_path / "out2")
        assert second.exit_code == 0, second.message
        with gw.lock() as s:
            a = s.decisions(_request_id(paths.request_dir)).drop(["request_id"])
            b = s.decisions(_request_id(again)).drop(["request_id"])
    assert a.to_pylist() == b.to_pylist()
    assert (tmp_path / "out1" / "results.csv").read_bytes() == (
        tmp_path / "out2" / "results.csv").read_bytes()
    _a_kept_predict_carries_nothing_over(gw, paths, tmp_path)


def _a_kept_predict_carries_nothing_over(gw: Gateway, paths: Any, tmp_path: Path) -> None:
    """Another request (the last third of the records) scored by the Splink predict the
    jobs before it recorded (its statements run again), and again by a new one: the
    same decisions (nothing of the earlier requests is found in the tables it makes)."""
    from taxgate.matching import duckdb as engine

    assert engine._KEPT, "the jobs before kept their predict"
    with gw.lock() as s:  # the tables a predict makes are dropped after it
        con = s.matching_connection()
        made = [t for t, in con.execute("SELECT table_name FROM duckdb_tables() "
                                        "WHERE starts_with(table_name, '__splink__')").fetchall()]
    assert made == []
    part = _renamed(paths.request_dir, tmp_path / "part", paths.private_key, keep=(2, 3),
                    suffix="-PART")
    kept = gw.process(part, tmp_path / "out3")
    recorded = engine._KEPT[0][2].statements
    engine._KEPT.clear()
    again = _renamed(part, tmp_path / "part-again", paths.private_key)
    fresh = gw.process(again, tmp_path / "out4")
    assert kept.exit_code == fresh.exit_code == 0
    # what the statements were recorded from (another request) leaves no trace in them:
    # Splink gives this request the same ones, its tables' names aside
    assert _unnamed(engine._KEPT[0][2].statements) == _unnamed(recorded)
    assert (tmp_path / "out3" / "results.csv").read_bytes() == (
        tmp_path / "out4" / "results.csv").read_bytes()
    with gw.lock() as s:
        one = s.decisions(_request_id(part)).drop(["request_id"]).to_pylist()
        two = s.decisions(_request_id(again)).drop(["request_id"]).to_pylist()
    assert one == two and sum(r["outcome"] == "CONFIRMED" for r in one) > 0


def _unnamed(statements: tuple[str, ...]) -> list[str]:
    """Splink's statements with the hash in its tables' names taken out."""
    import re

    return [re.sub(r"(__splink__\w+?)_[0-9a-f]{9}\b", r"\1", s) for s in statements]


def _warmed_by_the_worker(gw: Gateway) -> None:
    """The service's job worker, started, makes the matching connection and installs
    standardization on it before any job comes (the first request pays no more than
    the next)."""
    import time

    gw.close()  # a new process's store: load installed standardization on the old one
    with gw.lock() as s:
        assert not installed(s.matching_connection())
    runner = gw.jobs
    runner.start()
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with gw.lock() as s:
                if installed(s.matching_connection()):
                    return
            time.sleep(0.2)
        raise AssertionError("the worker did not warm the store")
    finally:
        runner.stop()


def _request_id(folder: Path) -> str:
    import json

    return json.loads((folder / "manifest.json").read_text(encoding="utf-8"))["request_id"]


def _renamed(folder: Path, to: Path, private_key: Path,
             keep: tuple[int, int] | None = None, suffix: str = "-AGAIN") -> Path:
    """The same package under another request_id, signed again; with ``keep`` (i, n),
    only the records of the i-th of n parts (a request of its own)."""
    import json
    import shutil

    from taxgate.canonical import load_private_key_pem, sha256_file, sign_object

    shutil.copytree(folder, to)
    m = json.loads((to / "manifest.json").read_text(encoding="utf-8"))
    m.pop("signature", None)
    m["request_id"] = m["request_id"] + suffix
    if keep is not None:
        records = to / m["records_file"]
        head, *rows = records.read_text(encoding="utf-8").splitlines(keepends=True)
        part = rows[len(rows) * keep[0] // keep[1]:len(rows) * (keep[0] + 1) // keep[1]]
        records.write_text(head + "".join(part), encoding="utf-8")
        m["record_count"], m["records_sha256"] = len(part), sha256_file(records)
    signed = sign_object(load_private_key_pem(private_key.read_bytes()), m)
    (to / "manifest.json").write_text(json.dumps(signed), encoding="utf-8")
    return to


def test_a_full_double_surname_is_the_surnames_sorted_and_joined() -> None:
    """The full double surname a profile keeps (R25) is the filing's surnames, two or
    more, sorted and joined by a space, whether ordered by one comparison (two
    surnames) or sorted (more, or a NULL among them)."""
    lists = ["['B', 'A']", "['A', 'B']", "['A', 'A']", "['A', NULL]", "[NULL, 'A']",
             "[NULL, NULL]", "['C', 'A', 'B']", "['A']", "[]", "NULL", "['ÉA', 'EZ']",
             "['a', 'B']", "['A B', 'A']", "['', 'A']"]
    rows = duckdb.connect().execute(
        f"""SELECT n_surnames, {filing_index._FULL_SURNAME},
                   CASE WHEN array_length(n_surnames) >= 2
                        THEN array_to_string(list_sort(n_surnames), ' ') END
            FROM (VALUES {", ".join(f"(CAST({x} AS VARCHAR[]))" for x in lists)})
                 t(n_surnames)""").fetchall()
    assert len(rows) == len(lists)
    assert [r[1] for r in rows] == [r[2] for r in rows]
    assert [r[1] for r in rows[:3]] == ["A B", "A B", "A A"]
