"""Person matching with Splink: the model (engine-neutral) and its engines.

``train`` and ``score`` run on DuckDB; the Spark engine (``spark.py``) is imported
only when asked for (:func:`scorer`), so a DuckDB run never starts a JVM. Splink itself
is imported only to train, to record a predict's statements or to make this code's
comparisons: a process whose host keeps both (:mod:`taxgate.matching.kept_predict`)
never imports it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from taxgate.matching.duckdb import score
from taxgate.matching.kept_predict import use_kept_comparisons
from taxgate.matching.levels import check_model, level_labels
from taxgate.matching.model import NameRules
from taxgate.matching.phases import splink_phases
from taxgate.matching.training import train
from taxgate.stage_table import ScoredPairs

__all__ = ["NameRules", "check_model", "level_labels", "score", "scorer", "splink_phases", "train",
           "use_kept_comparisons"]


def scorer(engine: str, spark_master: str = "local[2]", spark_driver_memory: str = "4g",
           spark_partitions: int = 8, spark_index: str = "store") -> Callable[..., ScoredPairs]:
    """The ``score`` function of an engine: DuckDB's, or Spark's bound to a master (and
    its driver memory, local partitions and where its filing index is built: ``store``,
    DuckDB's, or ``spark``, :mod:`taxgate.matching.spark_index`).

    Both take the same arguments and return the same ``out`` table of the DuckDB
    connection, so what follows (policy, ledger, response) never knows which ran.
    """
    if engine == "duckdb":
        return score
    if engine == "spark":
        from taxgate.matching import spark  # pyspark is imported here and only here

        def _score(con: Any, **kwargs: Any) -> ScoredPairs:
            return spark.score(con, master=spark_master, driver_memory=spark_driver_memory,
                               partitions=spark_partitions, index=spark_index, **kwargs)

        return _score
    raise ValueError(f"unknown matching engine {engine!r}")
