"""Estimating the person-match model from the stored filings (Splink on DuckDB).

Two samples of the filings, each read once: for u, the filings Splink's random sampling
would pick from the whole store for ``max_pairs`` pairs; for m, every filing of a sample
of taxpayers (by a hash of the TIN). The model's inputs (:func:`_input_view`) are
computed once per sample, into a table every step of training reads (:func:`_model_inputs`),
so training reads the store twice whatever its size, and both samples are hashes of ids
and a seed, and expectation maximisation runs on one thread: the same stored filings
(the same filing ids: `load` numbers them in the file's order) give the same model JSON
(docs/matching.md). The samples may be read in one connection and the model estimated in
another, a DuckDB of its own (``work``): ``load`` trains so beside building the filing
index, which then never waits for the one thread of expectation maximisation.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager

import duckdb

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
    names: model.NameRules = DEFAULT_NAME_RULES,
    work: duckdb.DuckDBPyConnection | None = None,
) -> str:
    """Estimate the model from the loaded filings; return the model JSON.

    u: random pairs of a random sample of all filings (the rows ``max_pairs`` pairs
    need: :func:`_u_sample`). m: expectation maximisation on pairs of filings of a
    sample of taxpayers (whole TINs, about ``em_filings`` filings), one session per rule
    of ``model.em_blocking_rules()``; then the documented floors of ``model.M_FLOORS`` for
    levels only requests show. Each sample is read from ``filings`` once and the model's
    inputs are computed on it alone, once, so the cost is bounded whatever the store's
    size. EM takes every pair its rule blocks in the sample (no pair sampling: the
    sample bounds them, and Splink's pair sampling would read the inputs again to count).
    Both samples are hashes of ids and ``seed``, not draws, and EM adds up in one order
    (:func:`_one_thread`): the same stored filings give the same JSON. The prior is
    set per request at scoring time (it depends on the store's size). ``names``: the
    policy's name rules (:class:`model.NameRules`). ``work``: where the model is
    estimated, when not in ``con`` (which is then only read, for the samples): another
    DuckDB, with standardization installed (its own threads, so that ``con``'s database
    keeps all of its own meanwhile).
    """
    from splink import DuckDBAPI, Linker  # (imported when training, not with the package)

    work = con if work is None else work
    db = DuckDBAPI(connection=work)
    both = (con,) if work is con else (con, work)
    for c in both:
        c.execute("SET enable_progress_bar = false")  # the command shows its own stage
    n = _count(con, filings)
    try:
        rows = _u_sample(con, work, "_tg_u_sample", filings, n, max_pairs, seed)
        _model_inputs(work, "_tg_train", "_tg_u_sample", "uid", names)
        settings = model.settings(1e-6)
        settings.link_type = "dedupe_only"
        linker = Linker(db.register("_tg_train"), settings, log_level=logging.ERROR)
        # every row of the sample: Splink's own sampling of them takes all of them
        linker.training.estimate_u_using_random_sampling(
            max_pairs=max(max_pairs, rows * (rows - 1) / 2 + 1), seed=seed)
        spec = linker.misc.save_model_to_json()

        buckets = max(1, int(n) // em_filings)
        _sample(con, work, "_tg_em_sample", filings, f"hash(f.tin, {seed}) % {buckets} = 0")
        _model_inputs(work, "_tg_em", "_tg_em_sample", "filing_id", names)
        em = Linker(db.register("_tg_em"), spec, log_level=logging.ERROR)
        with _one_thread(work):  # EM sums fractions: in one order, the same sums
            for rule in model.em_blocking_rules():
                em.training.estimate_parameters_using_expectation_maximisation(
                    rule, estimate_without_term_frequencies=True)
        spec = model.apply_m_floors(em.misc.save_model_to_json())
    finally:
        work.execute("DROP VIEW IF EXISTS _tg_names_view")
        for table in ("_tg_u_sample", "_tg_em_sample", "_tg_train", "_tg_em", "_tg_names"):
            work.execute(f"DROP TABLE IF EXISTS {table}")
        for c in both:
            c.execute("RESET enable_progress_bar")
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


def _u_sample(con: duckdb.DuckDBPyConnection, work: duckdb.DuckDBPyConnection, name: str,
              filings: str, n: int, max_pairs: float, seed: int) -> int:
    """Temp table ``name`` of ``work``: the filings (id as ``uid``, the model columns) that Splink's
    ``estimate_u_using_random_sampling`` would sample from all ``n`` of ``filings`` for
    ``max_pairs`` pairs: the same share, chosen by Splink's own hash of the unique id and
    ``seed``, so the u estimates are those of sampling the whole store, while the
    model's inputs are computed for these rows only. Returns the row count."""
    from splink.internals.dialects import SplinkDialect
    from splink.internals.estimate_u import _rows_needed_for_n_pairs

    creator = model.settings(1e-6)
    creator.link_type = "dedupe_only"
    uid = creator.get_settings("duckdb").column_info_settings.unique_id_input_columns
    proportion = _rows_needed_for_n_pairs(max_pairs) / max(n, 1)
    where = (SplinkDialect.from_string("duckdb").proportion_sample_sql(proportion, uid, seed)
             if proportion < 1 else "")
    cols = ", ".join(f"f.{c}" for c in MODEL_COLUMNS)
    _take(con, work, name, f"""SELECT * FROM (SELECT f.filing_id AS uid, {cols}
                                FROM {filings} f) WHERE 1=1 {where}""")
    return _count(work, name)


def _sample(con: duckdb.DuckDBPyConnection, work: duckdb.DuckDBPyConnection, name: str,
            filings: str, where: str) -> None:
    """Temp table ``name`` of ``work``: the filing id and model columns of the filings
    ``where`` holds for (one read of the store; the model's inputs are computed on these
    only)."""
    cols = ", ".join(f"f.{c}" for c in MODEL_COLUMNS)
    _take(con, work, name, f"SELECT f.filing_id, {cols} FROM {filings} f WHERE {where}")


def _take(con: duckdb.DuckDBPyConnection, work: duckdb.DuckDBPyConnection, name: str,
          select: str) -> None:
    """Temp table ``name`` of ``work`` holding the rows ``select`` gives on ``con`` (through
    Arrow when they are two connections; a sample is small)."""
    if work is con:
        con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS {select}")
        return
    rows = con.execute(select).fetch_arrow_table()
    work.register("_tg_sample_in", rows)
    try:
        work.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT * FROM _tg_sample_in")
    finally:
        work.unregister("_tg_sample_in")


# What the name features of the model's inputs depend on (:func:`_input_view`).
_NAME_KEYS = ("n_first", "n_surname1")


def _model_inputs(con: duckdb.DuckDBPyConnection, name: str, source: str, uid: str,
                  names: model.NameRules) -> None:
    """Temp table ``name``: the model's input rows of ``source`` as :func:`_input_view`
    gives them, in ``uid`` order. The view's name features (nicknames, spelling keys,
    established names: regular expressions and joins) are computed once per distinct
    first name and first surname of the sample, not once per filing, and the table is
    read by every step of training instead of the view being computed again for each."""
    keys = ", ".join(c if c in _NAME_KEYS else f"NULL AS {c}" for c in MODEL_COLUMNS)
    _input_view(con, "_tg_names_view", f"(SELECT DISTINCT 0 AS k, {keys} FROM {source})",
                "k", names=names)
    have = [d[0] for d in con.execute("SELECT * FROM _tg_names_view LIMIT 0").description]
    features = [c for c in have if c not in ("uid", *MODEL_COLUMNS, "a_bldg")]
    con.execute("CREATE OR REPLACE TEMP TABLE _tg_names AS SELECT "
                + ", ".join((*_NAME_KEYS, *features)) + " FROM _tg_names_view")
    con.execute("DROP VIEW _tg_names_view")
    cols = ", ".join(f"s.{c}" for c in MODEL_COLUMNS)
    on = " AND ".join(f"f.{k} IS NOT DISTINCT FROM s.{k}" for k in _NAME_KEYS)
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE {name} AS
        SELECT s.{uid} AS uid, {cols}, {model.A_BLDG.format(p="s.")} AS a_bldg,
               {", ".join(f"f.{c}" for c in features)}
        FROM {source} s LEFT JOIN _tg_names f ON {on} ORDER BY uid""")
