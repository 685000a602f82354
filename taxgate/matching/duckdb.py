"""The person-match model on DuckDB: estimate it from the filings, score requests.

Only this module (and ``spark.py``) imports Splink's engine APIs; the model itself is
described in :mod:`taxgate.matching.model`.
"""

from __future__ import annotations

import json
import logging

import duckdb
from splink import DuckDBAPI, Linker

from taxgate.matching import model

# Columns Splink needs on both sides: the model's inputs and the blocking keys.
MODEL_COLUMNS = (
    "n_first",
    "n_first_canon",
    "n_first_xlang",
    "n_given_all",
    "n_middle_initial",
    "n_surnames",
    "n_surname1",
    "n_last",
    "n_suffix",
    "a_number",
    "a_street",
    "a_street_name",
    "a_unit",
    "a_po_box",
    "a_city",
    "a_state",
    "a_zip5",
    "a_key",
    "dob",
    "tin",
)

logging.getLogger("splink").setLevel(logging.WARNING)


# Every given name a first-name token may stand for (all variants of an ambiguous
# nickname: AB -> ABEL, ABIEL, ABNER ...), from standardization's name_nickname table.
_NICKS = """
    SELECT variant, list_append(list(DISTINCT split_part(canonical, ' ', 1)), variant) AS nicks
    FROM name_nickname GROUP BY variant
"""


def _input_view(
    con: duckdb.DuckDBPyConnection, name: str, source: str, uid: str, where: str = ""
) -> None:
    cols = ", ".join(f"s.{c}" for c in MODEL_COLUMNS)
    con.execute(f"""
        CREATE OR REPLACE TEMP VIEW {name} AS
        SELECT s.{uid} AS uid, {cols},
               coalesce(nk.nicks, [s.n_first]) AS n_first_nicks
        FROM {source} s LEFT JOIN ({_NICKS}) nk ON nk.variant = s.n_first
        {where}""")


def train(
    con: duckdb.DuckDBPyConnection,
    *,
    filings: str = "filings",
    seed: int = 6103,
    max_pairs: float = 2e6,
    em_filings: int = 300_000,
    em_max_pairs: float = 2e6,
) -> str:
    """Estimate the model from the loaded filings; return the model JSON.

    u: random pairs of all filings (so u scales with the store). m: expectation
    maximisation on pairs of filings of a sample of taxpayers (whole TINs, about
    ``em_filings`` filings, so the cost is bounded whatever the store's size), one
    session per rule of ``model.EM_BLOCKING_RULES``; then the documented floors of
    ``model.M_FLOORS`` for levels only requests show. The prior probability is set
    per request at scoring time (it depends on the store's size).
    """
    db = DuckDBAPI(connection=con)
    _input_view(con, "_tg_train", filings, "filing_id")
    settings = model.settings(1e-6)
    settings.link_type = "dedupe_only"
    linker = Linker(db.register("_tg_train"), settings, log_level=logging.ERROR)
    linker.training.estimate_u_using_random_sampling(max_pairs=max_pairs, seed=seed)
    spec = linker.misc.save_model_to_json()

    n = con.execute(f"SELECT count(*) FROM {filings}").fetchone()[0]
    buckets = max(1, int(n) // em_filings)
    _input_view(con, "_tg_em", filings, "filing_id",
                where=f"WHERE hash(s.tin, {seed}) % {buckets} = 0")
    em = Linker(db.register("_tg_em"), spec, log_level=logging.ERROR)
    for rule in model.EM_BLOCKING_RULES:
        em.training.estimate_parameters_using_expectation_maximisation(
            rule, estimate_without_term_frequencies=True, max_pairs=em_max_pairs)
    spec = model.apply_m_floors(em.misc.save_model_to_json())
    spec["link_type"] = "link_only"
    spec["probability_two_random_records_match"] = 1e-6
    for view in ("_tg_train", "_tg_em"):
        con.execute(f"DROP VIEW IF EXISTS {view}")
    return json.dumps(spec, sort_keys=True)


def score(
    con: duckdb.DuckDBPyConnection,
    *,
    requests: str,
    filings: str,
    model_json: str,
    prior: float,
    out: str,
) -> None:
    """Score request rows against filings; create ``out`` with one row per candidate pair:
    row_number, filing_id, tin, match_probability, match_weight, dob_agrees,
    dob_disagrees, name_compatible, evidence (JSON: the pair's match weight, and per comparison its
    level (Splink's gamma) and its match weight)."""
    spec = json.loads(model_json)
    spec["probability_two_random_records_match"] = prior
    spec["retain_intermediate_calculation_columns"] = True
    spec["retain_matching_columns"] = True  # Splink keeps gamma_ (the levels) only then
    _input_view(con, "_tg_left", requests, "row_number")
    _input_view(con, "_tg_right", filings, "filing_id")
    db = DuckDBAPI(connection=con)
    left = db.register("_tg_left", table_name="tg_requests")
    right = db.register("_tg_right", table_name="tg_filings")
    linker = Linker([left, right], spec, log_level=logging.ERROR)
    for col in model.TF_COLUMNS:
        tf = linker.table_management.compute_tf_table(col)
        del tf
    spec_levels = [c["output_column_name"] for c in spec["comparisons"]]
    pairs = linker.inference.predict(threshold_match_weight=-5, warning_mode="never")
    finish_pairs(con, pairs.physical_name, requests, filings, spec_levels, out)
    pairs.drop_table_from_database_and_remove_from_cache()
    for view in ("_tg_left", "_tg_right"):
        con.execute(f"DROP VIEW IF EXISTS {view}")


def finish_pairs(
    con: duckdb.DuckDBPyConnection,
    pairs: str,
    requests: str,
    filings: str,
    comparisons: list[str],
    out: str,
) -> None:
    """Splink's scored pairs (table ``pairs``) -> ``out``, one statement for every engine:
    request and filing ids, the TIN, DOB agreement, name compatibility and the evidence."""
    # Splink orders each pair by source dataset name, so either side may be "l".
    swap = "p.source_dataset_l = 'tg_filings'"
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE {out} AS
        WITH p AS (
          SELECT *,
                 CAST(CASE WHEN {swap} THEN uid_r ELSE uid_l END AS BIGINT) AS request_uid,
                 CAST(CASE WHEN {swap} THEN uid_l ELSE uid_r END AS BIGINT) AS filing_uid
          FROM {pairs} p
        )
        SELECT p.request_uid AS row_number,
               p.filing_uid AS filing_id,
               f.tin AS tin,
               p.match_probability, p.match_weight,
               (r.dob IS NOT NULL AND f.dob IS NOT NULL AND {_DOB_AGREES}) AS dob_agrees,
               (r.dob IS NOT NULL AND f.dob IS NOT NULL AND NOT {_DOB_AGREES})
                 AS dob_disagrees,
               {_NAME_COMPATIBLE} AS name_compatible,
               to_json(struct_pack(match_weight := round(p.match_weight, 3),
                                   levels := map_from_entries([{_levels(comparisons)}]),
                                   weights := map_from_entries([{_weights(comparisons)}])))
                 AS evidence
        FROM p
        JOIN {requests} r ON r.row_number = p.request_uid
        JOIN {filings} f ON f.filing_id = p.filing_uid
    """)


_DOB_AGREES = (
    "(r.dob = f.dob OR (year(r.dob) = year(f.dob) AND month(r.dob) = day(f.dob) "
    "AND day(r.dob) = month(f.dob)))"
)


# The names could be one person's as written: every name comparison at a level above
# "else" (or null), and no two full double surnames that differ.
_NAME_COMPATIBLE = """(
    p.gamma_first_name <> 0 AND p.gamma_surname <> 0
    AND p.gamma_suffix <> 0 AND p.gamma_middle_initial <> 0
    AND NOT (len(r.n_surnames) >= 2 AND len(f.n_surnames) >= 2
             AND NOT (list_has_all(r.n_surnames, f.n_surnames)
                      AND list_has_all(f.n_surnames, r.n_surnames)))
)"""


def _levels(comparisons: list[str]) -> str:
    """Per comparison: the level the pair fell in (-1 null, 0 else, higher more alike)."""
    return ", ".join(f"struct_pack(k := '{c}', v := CAST(p.gamma_{c} AS INTEGER))"
                     for c in comparisons)


def _weights(comparisons: list[str]) -> str:
    """Per comparison: its match weight, term-frequency adjustment included."""
    parts = []
    for c in comparisons:
        tf = f" + coalesce(p.mw_tf_adj_{c}, 0)" if c in ("first_name", "surname", "address") else ""
        parts.append(f"struct_pack(k := '{c}', v := round(p.mw_{c}{tf}, 3))")
    return ", ".join(parts)
