"""The filing index built on Spark: the tables of :mod:`taxgate.filing_index`, computed
by Spark SQL from a DataFrame of the filings, for stores whose filings outgrow one
machine.

One definition per rule: every table is the SELECT that :mod:`taxgate.filing_index`
runs on DuckDB, transpiled to Spark SQL by sqlglot (:func:`to_spark`). The one
difference of dialect is isolated here: the orders that pick an address of record and
a first or last place (:data:`RECORD_ORDER`, :data:`DATE_ORDER`) are packed into one
128-bit integer on DuckDB (HUGEINT, shifts); Spark has none, so the same numbers are
computed as DECIMAL(38,0) with multiplications by the same powers of two
(``aor_rank`` is equal value for value).

:func:`build` gives every table as a lazy DataFrame; the Spark engine
(:mod:`taxgate.matching.spark`) uses the variants and term counts, the inputs of
candidate generation and scoring, and keeps them in the session across requests
(:func:`for_store`) until the store's filings change.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any

import duckdb
import sqlglot

from taxgate import filing_index as fx

# The two orders of filing_index (processed date in days, a change of address before
# a return, then the filing id), as DECIMAL(38,0): days * 2^66 + rank * 2^64 + id + 2^63.
_DAYS = "CAST(date_diff('day', DATE '1970-01-01', processed_date) AS DECIMAL(38,0))"
_ID = f"(CAST(filing_id AS DECIMAL(38,0)) + {1 << 63})"
RECORD_ORDER = (f"({_DAYS} * {1 << 66} + CAST(CASE source WHEN 'F8822' THEN 2 ELSE 1 END "
                f"AS DECIMAL(38,0)) * {1 << 64} + {_ID})")
DATE_ORDER = f"({_DAYS} * {1 << 64} + {_ID})"

# The DuckDB types filing_index reads a missing column as, in Spark's words.
_SPARK_TYPES = {"VARCHAR[]": "array<string>", "DATE": "date", "INTEGER": "int",
                "VARCHAR": "string"}

SOURCE_VIEW = "tg_fx_filings"  # the filings as the index reads them, on Spark


def to_spark(sql: str) -> str:
    """One statement of :mod:`taxgate.filing_index` (DuckDB SQL) in Spark SQL."""
    return sqlglot.transpile(sql, read="duckdb", write="spark")[0]


def statements(filings: str = SOURCE_VIEW) -> dict[str, str]:
    """Table name -> the Spark SQL SELECT that builds it from the view ``filings``:
    every table of :data:`taxgate.filing_index.TABLES` but its state. The name sides and
    shared pairs read the TINs and names as views of those names (:func:`build`)."""
    selects = {fx.VARIANTS: fx._variants(filings)}
    for col in fx.TF_COLUMNS:
        selects[fx.terms_table(col)] = fx._terms(col, filings)
    selects[fx.TINS] = fx._profiles(filings, order=DATE_ORDER)
    selects[fx.TIN_NAMES] = fx._tin_names(filings)
    selects[fx.ADDRESSES] = fx._addresses(filings, order=RECORD_ORDER)
    selects[fx.STREETS] = fx._streets(filings)
    # read from the tables above (by their names: views on Spark), in this order
    selects[fx.NAME_SIDES] = fx._name_sides("")
    selects[fx.SHARED_PAIRS] = fx._shared_pairs("")
    return {table: to_spark(sql) for table, sql in selects.items()}


def source(frame: Any) -> Any:
    """The filings as the index reads them: ``filing_id`` and the columns it reads, a
    column the frame lacks read as a typed NULL (as :func:`filing_index._source`)."""
    from pyspark.sql import functions as F

    have = set(frame.columns)
    cols = [F.col(c) if c in have else
            F.lit(None).cast(_SPARK_TYPES[fx._TYPES.get(c, "VARCHAR")]).alias(c)
            for c in fx._READ]
    return frame.select(F.col("filing_id"), *cols)


def build(spark: Any, filings: Any) -> dict[str, Any]:
    """Every index table (name -> lazy DataFrame) from the DataFrame ``filings``."""
    source(filings).createOrReplaceTempView(SOURCE_VIEW)
    built = {}
    for table, sql in statements().items():  # a later table may read an earlier one
        built[table] = spark.sql(sql)
        built[table].createOrReplaceTempView(table)
    return built


def term_shares(spark: Any, counts: Any, column: str) -> Any:
    """The (``column``, ``tf_<column>``) lookup of a term counts DataFrame, by the same
    SQL as on DuckDB (:func:`taxgate.filing_index.term_shares_sql`)."""
    view = f"tg_fx_counts_{column}"
    counts.createOrReplaceTempView(view)
    return spark.sql(to_spark(fx.term_shares_sql(column, view)))


# --- the store's filings, indexed once per session ----------------------------------------

_CACHE: dict[str, Any] = {}  # extent, session, and the persisted model inputs


def store_filings(spark: Any, con: duckdb.DuckDBPyConnection) -> Any:
    """The store's filings (as the index reads them) as a Spark DataFrame, sent as
    Arrow through the driver and checkpointed on the executors (in as many partitions
    as Spark shuffles into)."""
    table = con.execute(f"SELECT * FROM {fx._source(con, 'filings')}").fetch_arrow_table()
    frame = spark.createDataFrame(table)
    del table
    parts = max(1, int(spark.conf.get("spark.sql.shuffle.partitions", "8")))
    return frame.repartition(parts).localCheckpoint(eager=True)


def for_store(spark: Any, con: duckdb.DuckDBPyConnection, inputs: Callable[[Any], Any],
              rules: Hashable = None) -> tuple[Any, dict[str, Any]]:
    """(model input rows of the filing variants, term share lookups per column), built
    on Spark from the store's filings, kept in the session while the store's filings
    (their highest id and count) and the ``rules`` the inputs follow stay the same.
    ``inputs(variants)`` turns the Spark variants into the model's input rows (the
    name features come from DuckDB). A process serves one store (the gateway's)."""
    extent = fx._extent(con, "filings")
    key = (id(spark), extent, rules)
    if _CACHE.get("key") == key:
        return _CACHE["right"], _CACHE["tf"]
    drop()
    index = build(spark, store_filings(spark, con))
    variants = index[fx.VARIANTS].localCheckpoint(eager=True)
    right = inputs(variants).localCheckpoint(eager=True)
    tf = {col: term_shares(spark, index[fx.terms_table(col)], col).localCheckpoint(eager=True)
          for col in fx.TF_COLUMNS}
    _CACHE.update(key=key, right=right, tf=tf, variants=variants)
    return right, tf


def drop() -> None:
    """Forget the session's index (its frames unpersisted)."""
    for frame in (_CACHE.get("right"), _CACHE.get("variants"),
                  *(_CACHE.get("tf") or {}).values()):
        if frame is not None:
            frame.unpersist()
    _CACHE.clear()
