"""Estimating the person-match model from the stored filings (Splink on DuckDB).

Two samples of the filings, each read once: for u, the filings Splink's random sampling
would pick from the whole store for ``max_pairs`` pairs; for m, every filing of a sample
of taxpayers (by a hash of the TIN). The model's inputs (:func:`_input_view`) are
computed on the samples alone, so training reads the store twice whatever its size, and
both samples are hashes of ids and a seed, and expectation maximisation runs on one
thread: the same filings give the same model JSON (docs/matching.md).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager

import duckdb
from splink import DuckDBAPI, Linker
from splink.internals.dialects import SplinkDialect
from splink.internals.estimate_u import _rows_needed_for_n_pairs

from taxgate.matching import model
from taxgate.matching.duckdb import DEFAULT_NAME_RULES, MODEL_COLUMNS, _count, _input_view

__all__ = ["train"]


def train(
    con: duckdb.DuckDBPyConnection,
    *,
    filings: str = "filings",
    seed: int = 6103,
    max_pairs: float = 2e6,
    em_filings: int = 300_000,
    em_max_pairs: float = 2e6,
    names: model.NameRules = DEFAULT_NAME_RULES,
) -> str:
    """Estimate the model from the loaded filings; return the model JSON.

    u: random pairs of a random sample of all filings (the rows ``max_pairs`` pairs
    need: :func:`_u_sample`). m: expectation maximisation on pairs of filings of a
    sample of taxpayers (whole TINs, about ``em_filings`` filings), one session per rule
    of ``model.EM_BLOCKING_RULES``; then the documented floors of ``model.M_FLOORS`` for
    levels only requests show. Each sample is read from ``filings`` once and the model's
    inputs are computed on it alone, so the cost is bounded whatever the store's size.
    Both samples are hashes of ids and ``seed``, not draws, and EM adds up in one order
    (:func:`_one_thread`): the same filings give the same JSON. The prior probability is
    set per request at scoring time (it depends on the store's size). ``names``: the
    policy's name rules (:class:`model.NameRules`).
    """
    db = DuckDBAPI(connection=con)
    n = _count(con, filings)
    con.execute("SET enable_progress_bar = false")  # the command shows its own stage
    try:
        rows = _u_sample(con, "_tg_u_sample", filings, n, max_pairs, seed)
        _input_view(con, "_tg_train", "_tg_u_sample", "uid", names=names)
        settings = model.settings(1e-6)
        settings.link_type = "dedupe_only"
        linker = Linker(db.register("_tg_train"), settings, log_level=logging.ERROR)
        # every row of the sample: Splink's own sampling of them takes all of them
        linker.training.estimate_u_using_random_sampling(
            max_pairs=max(max_pairs, rows * (rows - 1) / 2 + 1), seed=seed)
        spec = linker.misc.save_model_to_json()

        buckets = max(1, int(n) // em_filings)
        _sample(con, "_tg_em_sample", filings, f"hash(f.tin, {seed}) % {buckets} = 0")
        _input_view(con, "_tg_em", "_tg_em_sample", "filing_id", names=names)
        em = Linker(db.register("_tg_em"), spec, log_level=logging.ERROR)
        with _one_thread(con):  # EM sums fractions: in one order, the same sums
            for rule in model.EM_BLOCKING_RULES:
                em.training.estimate_parameters_using_expectation_maximisation(
                    rule, estimate_without_term_frequencies=True, max_pairs=em_max_pairs)
        spec = model.apply_m_floors(em.misc.save_model_to_json())
    finally:
        for view in ("_tg_train", "_tg_em"):
            con.execute(f"DROP VIEW IF EXISTS {view}")
        for table in ("_tg_u_sample", "_tg_em_sample"):
            con.execute(f"DROP TABLE IF EXISTS {table}")
        con.execute("RESET enable_progress_bar")
    spec["link_type"] = "link_only"
    spec["probability_two_random_records_match"] = 1e-6
    spec.pop("linker_uid", None)  # Splink's random name for its cached tables, not the model
    return json.dumps(spec, sort_keys=True)


@contextmanager
def _one_thread(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """Within the block, ``con`` runs on one thread. Expectation maximisation adds up
    match probabilities per level; on several threads the order of the additions, and
    so the last bits of the sums, change from run to run, and with them the model's
    digest. (u counts whole pairs: exact in any order.)"""
    row = con.execute("SELECT current_setting('threads')").fetchone()
    threads = int(row[0]) if row else 1
    con.execute("SET threads = 1")
    try:
        yield
    finally:
        con.execute(f"SET threads = {threads}")


def _u_sample(con: duckdb.DuckDBPyConnection, name: str, filings: str, n: int,
              max_pairs: float, seed: int) -> int:
    """Temp table ``name``: the filings (id as ``uid``, the model columns) that Splink's
    ``estimate_u_using_random_sampling`` would sample from all ``n`` of ``filings`` for
    ``max_pairs`` pairs: the same share, chosen by Splink's own hash of the unique id and
    ``seed``, so the u estimates are those of sampling the whole store, while the
    model's inputs are computed for these rows only. Returns the row count."""
    creator = model.settings(1e-6)
    creator.link_type = "dedupe_only"
    uid = creator.get_settings("duckdb").column_info_settings.unique_id_input_columns
    proportion = _rows_needed_for_n_pairs(max_pairs) / max(n, 1)
    where = (SplinkDialect.from_string("duckdb").proportion_sample_sql(proportion, uid, seed)
             if proportion < 1 else "")
    cols = ", ".join(f"f.{c}" for c in MODEL_COLUMNS)
    con.execute(f"""CREATE OR REPLACE TEMP TABLE {name} AS SELECT * FROM
                    (SELECT f.filing_id AS uid, {cols} FROM {filings} f) WHERE 1=1 {where}""")
    return _count(con, name)


def _sample(con: duckdb.DuckDBPyConnection, name: str, filings: str, where: str) -> None:
    """Temp table ``name``: the filing id and model columns of the filings ``where``
    holds for (one read of the store; the model's inputs are computed on these only)."""
    cols = ", ".join(f"f.{c}" for c in MODEL_COLUMNS)
    con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS "
                f"SELECT f.filing_id, {cols} FROM {filings} f WHERE {where}")
