"""The suite's training cache (tests/world_cache.py): one training per input and session."""

from __future__ import annotations

from pathlib import Path

import duckdb
from world_cache import trained_once

from taxgate import matching, standardize
from taxgate.synth import generate_taxpayers, write_taxpayers


def _filings(tmp_path: Path) -> duckdb.DuckDBPyConnection:
    write_taxpayers(generate_taxpayers(150, 3), tmp_path / "pop.parquet", "parquet")
    con = duckdb.connect()
    standardize.install(con)
    con.execute(f"CREATE TABLE raw AS SELECT * FROM read_parquet('{tmp_path / 'pop.parquet'}')")
    select = standardize.standardized_select_sql("raw", side="filing")
    con.execute(f"CREATE TABLE filings AS SELECT row_number() OVER (ORDER BY tin, tax_year) "
                f"AS filing_id, * FROM ({select})")
    return con


def test_a_training_is_remembered_per_input_and_restored_after(tmp_path: Path) -> None:
    con, real, models = _filings(tmp_path), matching.train, tmp_path / "models"
    models.mkdir()
    with trained_once(models):
        first = matching.train(con)
        again = matching.train(con)
        con.execute("DELETE FROM filings WHERE filing_id = (SELECT max(filing_id) FROM filings)")
        matching.train(con)
    assert again == first
    assert len(list(models.glob("model-*.json"))) == 2  # one per distinct input
    assert matching.train is real
