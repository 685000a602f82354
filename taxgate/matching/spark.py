"""The person-match model on Spark: candidate generation and scoring by Splink's Spark
backend, with the same model, the same inputs and the same output table as DuckDB.

Only this module (and :mod:`taxgate.matching.spark_index`, which it uses) imports
pyspark, and only when ``--engine spark`` asks for it.

How a request runs here:

1. The model's inputs are the same DuckDB views the DuckDB engine builds
   (``duckdb._input_view``: request rows and the filing variants of the store's
   filing index, :mod:`taxgate.filing_index`).
   They go to Spark as Arrow (``createDataFrame`` from an Arrow table), so no
   taxpayer row is written to disk in the clear by us; Spark's own shuffle and
   spill files are encrypted (``spark.io.encryption.enabled``).
2. The stored model (Splink JSON, written in DuckDB SQL) is transpiled to Spark SQL
   with sqlglot (:func:`spark_spec`), fixing the two forms sqlglot leaves invalid
   for Spark: ``list_has_any`` (-> ``arrays_overlap``) and
   ``jaro_winkler_similarity`` (-> ``tg_jaro_winkler``, DuckDB's algorithm in
   :mod:`taxgate.matching.jaro` as a Python UDF: Splink's Scala ``jaro_winkler``
   counts transpositions differently and moved records to other levels).
3. Splink's Spark linker computes the term-frequency tables and ``predict``s.
4. The scored pairs come back to DuckDB as Arrow and are turned into the ``out``
   table by the DuckDB engine's own function (``duckdb.finish_pairs``), so policy,
   ledger and response never know which engine ran.

The Spark session is made once per process from ``master`` (``local[2]``,
``spark://host:7077``, ``yarn``, ``k8s://...``) and reused; see docs/scale.md.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import tempfile
from collections.abc import Callable
from typing import Any

import duckdb
import pyarrow as pa
import sqlglot
import sqlglot.expressions as exp

from taxgate import filing_index
from taxgate.filing_index import MODEL_COLUMNS
from taxgate.matching import duckdb as ddb
from taxgate.matching import levels, model, spark_index
from taxgate.stage_table import ScoredPairs, StageTable, table_of

_STATE: dict[str, Any] = {}  # the process's SparkSession and its master

# Spark configuration the gateway sets itself; SPARK_CONF_DIR / spark-defaults.conf
# give the rest (executor memory, authentication, network encryption on a cluster).
SPARK_CONF = {
    "spark.app.name": "taxgate-matching",
    "spark.io.encryption.enabled": "true",  # shuffle and spill files encrypted
    "spark.sql.execution.arrow.pyspark.enabled": "true",
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.sql.session.timeZone": "UTC",
}


def session(master: str, driver_memory: str = "4g", partitions: int = 8) -> Any:
    """The process's SparkSession for ``master`` (made on first use; the driver's memory
    and, on a local master, the partitions from Settings: TAXGATE_SPARK_*)."""
    if _STATE.get("master") == master:
        return _STATE["session"]
    stop()
    from pyspark.sql import SparkSession
    from splink.backends.spark import similarity_jar_location

    builder = SparkSession.builder.master(master)
    for k, v in SPARK_CONF.items():
        builder = builder.config(k, v)
    local = master.startswith("local")
    builder = builder.config("spark.jars", similarity_jar_location())
    # The inputs travel from DuckDB through the driver (Arrow); give it room for them.
    builder = builder.config(
        "spark.driver.memory", driver_memory)
    if local:
        # one machine: few partitions (Spark's 200 default is for clusters)
        parts = str(partitions)
        builder = builder.config("spark.sql.shuffle.partitions", parts)
        builder = builder.config("spark.default.parallelism", parts)
        # no stray spark-warehouse/ folder in whatever directory the command ran from
        builder = builder.config(
            "spark.sql.warehouse.dir", tempfile.mkdtemp(prefix="taxgate-spark-warehouse-"))
        # Python workers (the Jaro-Winkler UDF) run this interpreter, with pyarrow
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    _register_jaro(spark)
    _STATE.update(session=spark, master=master)
    return spark


JARO_UDF = "tg_jaro_winkler"


def _register_jaro(spark: Any) -> None:
    """DuckDB's Jaro-Winkler as a Spark SQL function (Arrow-batched Python UDF)."""
    from pyspark import cloudpickle
    from pyspark.sql.functions import udf
    from pyspark.sql.types import DoubleType

    from taxgate.matching import jaro

    cloudpickle.register_pickle_by_value(jaro)  # workers need no taxgate install
    spark.udf.register(JARO_UDF, udf(jaro.jaro_winkler, DoubleType(), useArrow=True))


def stop() -> None:
    """Stop the process's SparkSession, if one was made."""
    spark = _STATE.pop("session", None)
    _STATE.pop("master", None)
    if spark is not None:
        spark_index.drop()
        spark.stop()


# --- the model in Spark SQL -------------------------------------------------------------


def _to_spark_sql(sql: str) -> str:
    """One SQL condition of the model, DuckDB -> Spark."""
    if sql.strip().upper() == "ELSE":
        return sql
    tree = sqlglot.parse_one(sql, read="duckdb")

    def fix(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.ArrayOverlaps):
            return exp.Anonymous(this="arrays_overlap", expressions=[node.this, node.expression])
        if isinstance(node, exp.JarowinklerSimilarity):  # DuckDB's own algorithm (jaro.py)
            return exp.Anonymous(this=JARO_UDF, expressions=[node.this, node.expression])
        return node

    return tree.transform(fix).sql(dialect="spark")


def spark_spec(spec: dict[str, Any]) -> dict[str, Any]:
    """The saved (DuckDB) Splink model with every SQL condition and blocking rule in Spark
    SQL. Raises ValueError naming any condition that cannot be transpiled."""
    out = json.loads(json.dumps(spec))
    problems: list[str] = []
    for comp in out["comparisons"]:
        for level in comp["comparison_levels"]:
            try:
                level["sql_condition"] = _to_spark_sql(level["sql_condition"])
            except sqlglot.errors.SqlglotError as exc:
                problems.append(f"{comp['output_column_name']}: {level['sql_condition']} ({exc})")
    for rule in out.get("blocking_rules_to_generate_predictions", []):
        try:
            rule["blocking_rule"] = _to_spark_sql(rule["blocking_rule"])
        except sqlglot.errors.SqlglotError as exc:
            problems.append(f"blocking rule {rule['blocking_rule']} ({exc})")
        rule["sql_dialect"] = "spark"
    if problems:
        raise ValueError("model SQL that Spark cannot run: " + "; ".join(problems))
    out["sql_dialect"] = "spark"
    return out


# --- scoring ------------------------------------------------------------------------------


def score(
    con: duckdb.DuckDBPyConnection,
    *,
    requests: StageTable,
    filings: str,
    model_json: str,
    prior: float,
    out: str,
    master: str = "local[2]",
    driver_memory: str = "4g",
    partitions: int = 8,
    chunk_records: int = 0,
    progress: Any = None,
    names: model.NameRules = ddb.DEFAULT_NAME_RULES,
    index: str = "store",
    kept: Any = None,  # DuckDB's predict statements only (taxgate.matching.kept_predict)
) -> ScoredPairs:
    """As :func:`taxgate.matching.duckdb.score`, with Splink running on Spark: the whole
    request at once (Spark spreads it over its executors, so ``chunk_records`` is not
    used), with the same filing variants and term frequencies: the filing index's,
    read in DuckDB (``index="store"``), or built on Spark from the store's filings and
    kept in the session (``index="spark"``, :mod:`taxgate.matching.spark_index`)."""
    from splink import Linker
    from splink.backends.spark import SparkAPI

    spec = json.loads(model_json)
    spec["probability_two_random_records_match"] = prior
    spec["retain_intermediate_calculation_columns"] = True
    spec["retain_matching_columns"] = True
    spark_model = spark_spec(spec)
    spark = session(master, driver_memory, partitions)
    ddb._input_view(con, "_tg_spark_left", requests.name, "row_number",
                    names=names)
    tf_tables: dict[str, str] = {}
    try:
        left_df = _frame(spark, con, "_tg_spark_left")
        if index == "spark":  # the index built on Spark, kept across requests
            right_df, tf_frames = spark_index.for_store(
                spark, con, _variant_inputs(spark, con, names), names)
        else:  # the store's index, sent from DuckDB for this request
            ddb._input_view(con, "_tg_spark_right", filing_index.VARIANTS, "filing_id",
                            names=names)
            right_df = _frame(spark, con, "_tg_spark_right")
            tf_tables = ddb.term_frequencies(con)
            tf_frames = {col: _frame(spark, con, t) for col, t in tf_tables.items()}
        db = SparkAPI(spark_session=spark, break_lineage_method="persist")
        left = db.register(left_df, table_name="tg_requests")
        right = db.register(right_df.select(*left_df.columns), table_name="tg_filings")
        linker = Linker([left, right], spark_model, log_level=logging.ERROR)
        for col, frame in tf_frames.items():
            tf = db.register(frame, table_name=f"tg_tf_{col}")
            linker.table_management.register_term_frequency_lookup(tf, col)
        comparisons = [c["output_column_name"] for c in spec["comparisons"]]
        pairs = linker.inference.predict(threshold_match_weight=-5, warning_mode="never")
        wanted = ["uid_l", "uid_r", "source_dataset_l", "match_probability", "match_weight"]
        for c in comparisons:
            wanted += [f"gamma_{c}", f"mw_{c}"]
            if f"mw_tf_adj_{c}" in pairs.as_spark_dataframe().columns:
                wanted.append(f"mw_tf_adj_{c}")
        table = pairs.as_spark_dataframe().select(*wanted).toArrow()
        pairs.drop_table_from_database_and_remove_from_cache()
        for c in comparisons:  # columns Splink leaves out are NULL, as in DuckDB's COALESCE
            if f"mw_tf_adj_{c}" not in table.column_names:
                table = table.append_column(f"mw_tf_adj_{c}", pa.nulls(len(table), pa.float64()))
        con.register("_tg_spark_pairs_in", table)
        con.execute("CREATE OR REPLACE TEMP TABLE _tg_spark_pairs AS "
                    "SELECT * FROM _tg_spark_pairs_in")
        con.unregister("_tg_spark_pairs_in")
        ddb.finish_pairs(con, "_tg_spark_pairs", requests.name, filings, comparisons, out)
        con.execute("DROP TABLE IF EXISTS _tg_spark_pairs")
        left_df.unpersist()
        if index != "spark":
            right_df.unpersist()
        for name in ("tg_requests", "tg_filings", *(f"tg_tf_{c}" for c in model.TF_COLUMNS)):
            spark.catalog.dropTempView(name)
        if progress is not None:
            progress.advance(ddb._count(con, requests.name))
        return ScoredPairs(out, table_of(con, out).columns, levels.level_labels())
    finally:
        for view in ("_tg_spark_left", "_tg_spark_right"):
            con.execute(f"DROP VIEW IF EXISTS {view}")
        for table in tf_tables.values():
            con.execute(f"DROP TABLE IF EXISTS {table}")


_NAME_KEYS = ("n_first", "n_surname1")  # what the model's name features depend on


def _variant_inputs(spark: Any, con: duckdb.DuckDBPyConnection,
                    names: model.NameRules) -> Callable[[Any], Any]:
    """Spark variants -> the model's input rows for them, as ``duckdb._input_view``
    makes them: its name features are computed by that view in DuckDB, once per
    distinct (first name, first surname) of the variants, and joined on Spark."""

    def inputs(variants: Any) -> Any:
        from pyspark.sql import functions as F

        con.register("_tg_sx_keys", variants.select(*_NAME_KEYS).distinct().toArrow())
        cols = ", ".join(c if c in _NAME_KEYS else f"NULL AS {c}" for c in MODEL_COLUMNS)
        ddb._input_view(con, "_tg_sx_names", f"(SELECT 0 AS k, {cols} FROM _tg_sx_keys)",
                        "k", names=names)
        have = [d[0] for d in con.execute("SELECT * FROM _tg_sx_names LIMIT 0").description]
        features = [c for c in have if c not in ("uid", *MODEL_COLUMNS, "a_bldg")]
        table = con.execute(f"SELECT {', '.join((*_NAME_KEYS, *features))} "
                            "FROM _tg_sx_names").fetch_arrow_table()
        con.execute("DROP VIEW _tg_sx_names")
        con.unregister("_tg_sx_keys")
        feats = spark.createDataFrame(table)
        on = [variants[k].eqNullSafe(feats[k]) for k in _NAME_KEYS]
        bldg = F.expr(spark_index.to_spark(model.A_BLDG.format(p="")))
        return variants.join(feats, on, "left").select(
            variants["filing_id"].alias("uid"), *(variants[c] for c in MODEL_COLUMNS),
            bldg.alias("a_bldg"), *(feats[c] for c in features))

    return inputs


def _frame(spark: Any, con: duckdb.DuckDBPyConnection, view: str) -> Any:
    """A DuckDB view as a Spark DataFrame, sent as Arrow through the driver.

    The frame is checkpointed at once (kept by the executors, lineage cut): a frame
    made from local data otherwise carries every row inside its query plan, and
    Spark's optimizer walks them again for every query Splink runs.
    """
    table = con.execute(f"SELECT * FROM {view}").fetch_arrow_table()
    df = spark.createDataFrame(table)
    del table
    parts = max(1, int(spark.conf.get("spark.sql.shuffle.partitions", "8")))
    return df.repartition(parts).localCheckpoint(eager=True)
