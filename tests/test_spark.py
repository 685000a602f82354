"""The Spark engine gives the same answers as DuckDB (issue 5).

One synthetic world (600 request records: every category of the generator), loaded
once; the same signed request is processed by two copies of that store, one with
``engine="duckdb"`` and one with ``engine="spark"`` and the filing index built on Spark
(local[2], one SparkSession for the whole module), and every record's outcome and
reasons must agree. The scored pairs are compared too, probability by probability (with
the store's index and with Spark's), so a drift shows where it starts; and the index
Spark builds is compared with the store's, table by table, row by row (issue 14).
"""

from __future__ import annotations

import csv
import datetime as dt
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from world_cache import LARGE, trained_once

from taxgate.domain import Official
from taxgate.gateway import Gateway
from taxgate.settings import Settings
from taxgate.synth import synth_all

if shutil.which("java") is None:  # `make test` installs it first (make system-deps)
    raise RuntimeError("local Spark needs Java: run `make system-deps`")

pytestmark = [pytest.mark.spark, pytest.mark.xdist_group("spark")]

PEOPLE, SEED, RECORDS = *LARGE, 600
PARTITIONS = 2  # tiny data: few tasks


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Path]]:
    root = tmp_path_factory.mktemp("spark-world")
    paths = synth_all(root / "synthetic", PEOPLE, RECORDS, seed=SEED)
    base = Settings(store=str(root / "base"), key_hex="ab" * 32)
    with Gateway(base) as gw:
        gw.init()
        with trained_once(tmp_path_factory):  # the suite's population: trained once
            gw.load(paths.taxpayers)
        gw.add_official(
            Official("ice-director", "DHS-ICE", "Director", paths.public_key.read_text(),
                     dt.date(2026, 1, 1)),
            "test",
        )
    yield {"root": root, "base": root / "base", "request": paths.request_dir}
    from taxgate.matching import spark

    spark.stop()


def _run(world: dict[str, Path], engine: str, index: str = "store"
         ) -> list[tuple[str, str, str]]:
    store = world["root"] / f"store-{engine}"
    shutil.copytree(world["base"], store)
    settings = Settings(store=str(store), key_hex="ab" * 32, engine=engine,
                        spark_partitions=PARTITIONS, spark_index=index)
    out = world["root"] / f"response-{engine}"
    with Gateway(settings) as gw:
        result = gw.process(world["request"], out)
    assert result.exit_code == 0, result.message
    with (out / "results.csv").open(newline="") as f:
        return [(r["record_id"], r["outcome"], r["reasons"]) for r in csv.DictReader(f)]


def test_spark_outcomes_equal_duckdb(world: dict[str, Path]) -> None:
    """`process` on Spark, with the filing index built on Spark (TAXGATE_SPARK_INDEX=spark),
    answers every record as DuckDB does."""
    duck = _run(world, "duckdb")
    spark = _run(world, "spark", index="spark")
    assert len(duck) == RECORDS  # one row per record, in file order, on both engines
    assert [r[0] for r in spark] == [r[0] for r in duck]
    differ = [(d, s) for d, s in zip(duck, spark, strict=True) if d != s]
    assert not differ, f"{len(differ)} records differ, e.g. {differ[:5]}"
    outcomes = {r[1] for r in duck}
    assert {"CONFIRMED", "NOT_CONFIRMED", "REJECTED"} <= outcomes  # a real mix was compared


def test_spark_pairs_equal_duckdb(world: dict[str, Path]) -> None:
    """Same candidate pairs, same probabilities (to 1e-9), straight from both engines: on
    Spark with the store's filing index and with the index built on Spark."""
    from taxgate import matching, standardize
    from taxgate.stage_table import table_of
    from taxgate.store import open_store

    store = open_store(Settings(store=str(world["base"]), key_hex="ab" * 32))
    try:
        con = store.matching_connection()
        standardize.install(con)
        _, model_json = store.current_model()  # type: ignore[misc]
        con.execute(
            "CREATE OR REPLACE TEMP TABLE _t_req AS SELECT row_number() OVER () AS row_number, "
            "* EXCLUDE (filing_id) FROM filings USING SAMPLE 200 ROWS (reservoir, 5)"
        )
        kwargs = {"requests": table_of(con, "_t_req"), "filings": "filings",
                  "model_json": model_json, "prior": 1e-4}
        duck = matching.scorer("duckdb")(con, out="_t_duck", **kwargs)
        for index in ("store", "spark"):
            spark = matching.scorer("spark", "local[2]", spark_partitions=PARTITIONS,
                                    spark_index=index)(con, out="_t_spark", **kwargs)
            assert (duck.name, spark.name) == ("_t_duck", "_t_spark")
            assert duck.columns == spark.columns
            counts = con.execute("SELECT (SELECT count(*) FROM _t_duck), "
                                 "(SELECT count(*) FROM _t_spark)").fetchone()
            assert counts[0] > 200 and counts[0] == counts[1], index
            worst = con.execute("""
                SELECT max(abs(d.match_probability - s.match_probability)),
                       count(*) FILTER (WHERE s.row_number IS NULL OR d.row_number IS NULL)
                FROM _t_duck d FULL JOIN _t_spark s USING (row_number, filing_id)
            """).fetchone()
            assert worst[1] == 0, index
            assert worst[0] < 1e-9, index
        _the_spark_index_is_kept(con)
    finally:
        store.close()


def _the_spark_index_is_kept(con: object) -> None:
    """The session keeps the index Spark built while the store's filings stay the same:
    asked again, it is given without building anything."""
    from taxgate.matching import spark, spark_index
    from taxgate.matching.duckdb import DEFAULT_NAME_RULES

    def never(variants: object) -> object:
        raise AssertionError("the index was built again")

    session = spark.session("local[2]", partitions=PARTITIONS)
    kept = spark_index._CACHE["right"]
    right, tf = spark_index.for_store(session, con, never, DEFAULT_NAME_RULES)
    assert right is kept and set(tf) == set(spark_index.fx.TF_COLUMNS)


def test_spark_index_equals_duckdb_index(world: dict[str, Path]) -> None:
    """Every table of the filing index, built on Spark from the store's filings
    (taxgate/matching/spark_index.py), equals the one `load` built in DuckDB, row for row."""
    from taxgate import filing_index
    from taxgate.matching import spark, spark_index
    from taxgate.store import open_store

    store = open_store(Settings(store=str(world["base"]), key_hex="ab" * 32))
    try:
        con = store.matching_connection()
        session = spark.session("local[2]", partitions=PARTITIONS)
        built = spark_index.build(session, spark_index.store_filings(session, con))
        assert set(built) == set(filing_index.TABLES) - {filing_index.STATE}
        for table, frame in built.items():
            con.register("_t_spark_in", frame.toArrow())
            types = con.execute(f"SELECT column_name, column_type FROM (DESCRIBE {table})"
                                ).fetchall()
            assert [c for c, _ in types] == frame.columns, table
            cast = ", ".join(f"CAST({c} AS {t}) AS {c}" for c, t in types)
            spark_rows = f"SELECT {cast} FROM _t_spark_in"
            diff = con.execute(f"""SELECT (SELECT count(*) FROM {table}),
                (SELECT count(*) FROM _t_spark_in),
                (SELECT count(*) FROM (SELECT * FROM {table} EXCEPT ALL {spark_rows})),
                (SELECT count(*) FROM ({spark_rows} EXCEPT ALL SELECT * FROM {table}))
            """).fetchone()
            con.unregister("_t_spark_in")
            assert diff[0] > 0 and diff == (diff[0], diff[0], 0, 0), (table, diff)
    finally:
        store.close()
