"""Person matching with Splink: the model (engine-neutral) and its engines.

``train`` and ``score`` run on DuckDB; the Spark engine (``spark.py``) is imported
only when asked for, so a DuckDB run never starts a JVM.
"""

from __future__ import annotations

from taxgate.matching.duckdb import score, train

__all__ = ["score", "train"]
