"""The person-match model on DuckDB: estimate it from the filings, score requests.

Only this module's :mod:`~taxgate.matching.predict_sql` (and ``spark.py``) import
Splink's engine APIs; the model itself is described in :mod:`taxgate.matching.model`.
"""

from __future__ import annotations

import json
import logging
import time
from typing import TYPE_CHECKING

import duckdb

from taxgate import filing_index
from taxgate.filing_index import MODEL_COLUMNS
from taxgate.matching import kept_predict, levels, model, name_lookups, predict_sql
from taxgate.matching.name_keys import diminutive_base, hypocoristic_stem, sound_key, spelling_key
from taxgate.settings import Policy
from taxgate.stage_table import ScoredPairs, StageTable, table_of

if TYPE_CHECKING:
    from taxgate.progress import Progress
    from taxgate.standardize.lookup_cache import LookupCache

logging.getLogger("splink").setLevel(logging.WARNING)
_log = logging.getLogger("taxgate.matching")  # "Blocking time" lines: see phases.py


def _count(con: duckdb.DuckDBPyConnection, table: str) -> int:
    row = con.execute(f"SELECT count(*) FROM {table}").fetchone()
    return int(row[0]) if row else 0


# The policy's name rules, passed in by the pipeline; this default is the policy's default.
DEFAULT_NAME_RULES = model.NameRules.of(Policy())


def _input_view(
    con: duckdb.DuckDBPyConnection, name: str, source: str, uid: str, where: str = "",
    names: model.NameRules = DEFAULT_NAME_RULES,
) -> None:
    """A view of the model's input rows of ``source``: its id as ``uid``, the model
    columns, every given name its first-name token may stand for, and whether the
    first given name (and the first surname, for a swapped name) is an established
    given name (``names.established_min_count`` births in ``name_given``); and the first
    surname's cross-language class (for a swapped name: GARCIA SUSAN); and the sex the
    first given name is of (``names.sex_dominance``), NULL for a name of both or neither;
    the first given name's spelling key and hypocoristic stem (``names.hypocorism_min_letters``,
    :mod:`taxgate.matching.name_keys`; a listed clipping with a silent E: its stem, KAT of
    KATE); a name the nickname table does not list takes the entries of the listed
    spellings of its sound, and a diminutive those of its listed short form that are
    not of the other sex (LEONARD of LEN for LENNIE)."""
    cols = ", ".join(f"s.{c}" for c in MODEL_COLUMNS)
    established, dominance = int(names.established_min_count), float(names.sex_dominance)
    hypo = hypocoristic_stem("d.n_first", names.hypocorism_min_letters)
    name_lookups.install(con, dominance, names.hypocorism_min_letters)

    def sex(g: str) -> str:
        return name_lookups.sex(g, dominance)

    # The first given name's features depend on the name alone: computed once per
    # distinct name of the source, then joined to its rows, NULL to NULL.
    con.execute(f"""
        CREATE OR REPLACE TEMP VIEW {name} AS
        WITH first_names AS (
          SELECT d.n_first,
                 list_distinct(list_concat(
                   coalesce(nk.nicks, list_append(ns.nicks, d.n_first), [d.n_first]),
                   list_transform(list_filter(coalesce(db.entries, []), lambda e:
                     coalesce(e.sex = {sex('g1')}, true)
                     AND NOT coalesce(starts_with(e.key, {hypo}), false)), lambda e: e.name)))
                   AS n_first_nicks,
                 {spelling_key('d.n_first')} AS n_first_spell,
                 coalesce(se.stem, {hypo}) AS n_first_hypo,
                 coalesce(g1.births >= {established}, false) AS n_first_established,
                 {sex('g1')} AS n_first_sex
          FROM (SELECT DISTINCT n_first FROM {source}) d
          LEFT JOIN {name_lookups.NICKS} nk ON nk.variant = d.n_first
          LEFT JOIN {name_lookups.NICKS_SOUND} ns ON ns.sound = {sound_key('d.n_first')}
          LEFT JOIN {name_lookups.SILENT_E} se ON se.variant = d.n_first
          LEFT JOIN {name_lookups.DIMINUTIVES} db ON db.base = {diminutive_base('d.n_first')}
          LEFT JOIN name_given g1 ON g1.name = d.n_first
        )
        SELECT s.{uid} AS uid, {cols}, {model.A_BLDG.format(p="s.")} AS a_bldg,
               f.n_first_nicks, f.n_first_spell, f.n_first_hypo, f.n_first_established,
               coalesce(g2.births >= {established}, false) AS n_surname1_established,
               f.n_first_sex,
               coalesce(x.xlang, s.n_surname1) AS n_surname1_xlang
        FROM {source} s JOIN first_names f ON f.n_first IS NOT DISTINCT FROM s.n_first
        LEFT JOIN name_given g2 ON g2.name = s.n_surname1
        LEFT JOIN name_first_lookup x ON x.token = s.n_surname1
        {where}""")


def term_frequencies(con: duckdb.DuckDBPyConnection, values: str | None = None
                     ) -> dict[str, str]:
    """One temp table per term-frequency column (``<column>``, ``tf_<column>``: its share
    of the filings that give one), read from the filing index
    (:mod:`taxgate.filing_index`), so every request record is weighed against the same
    population. ``values``: a relation with the columns the terms are read from
    (``filing_index.TERM_SOURCES``) whose values alone are wanted (all when None).
    Returns column -> table."""
    tables = {}
    for col in model.TF_COLUMNS:
        table = f"_tg_tf_{col}"
        wanted = (f"SELECT {filing_index.term_expression(col)} FROM {values}"
                  if values else None)
        con.execute(f"CREATE OR REPLACE TEMP TABLE {table} AS "
                    + filing_index.term_shares_sql(col, filing_index.terms_table(col), wanted))
        tables[col] = table
    return tables


def score(
    con: duckdb.DuckDBPyConnection,
    *,
    requests: StageTable,
    filings: str,
    model_json: str,
    prior: float,
    out: str,
    chunk_records: int = 200_000,
    progress: Progress | None = None,
    names: model.NameRules = DEFAULT_NAME_RULES,
    kept: LookupCache | None = None,
) -> ScoredPairs:
    """Score request rows against filings; return table ``out``, one row per candidate pair:
    row_number, filing_id, tin, match_probability, match_weight, dob_agrees,
    dob_disagrees, name_compatible, first_name_level and address_level (Splink's gammas,
    which the decisions read), evidence (JSON: the pair's match weight, and per
    comparison its level (Splink's gamma) and its match weight).

    The requests are scored ``chunk_records`` at a time, each chunk against only the
    filing variants that share a blocking key with it (the model's own rules, joined
    once for the whole request against the index's ``filing_variants``), so memory
    follows the chunk, not the store: at 10M filings (4.0M variants) a 200k-record
    chunk meets 1.1M variants. Term frequencies come from the filings alone (the
    index's counts, :func:`term_frequencies`), so a record's weights do not depend on
    the chunk it falls in. The index (:mod:`taxgate.filing_index`) must cover
    ``filings`` (the store's matching connection sees to it). ``names``: the policy's
    name rules (:func:`_input_view`). ``kept``: where the host keeps the predict's
    statements between processes (:mod:`taxgate.matching.kept_predict`), if anywhere.
    """
    spec = json.loads(model_json)
    spec["probability_two_random_records_match"] = prior
    spec["retain_intermediate_calculation_columns"] = True
    spec["retain_matching_columns"] = True  # Splink keeps gamma_ (the levels) only then
    tf: dict[str, str] = {}
    try:
        bounds = _candidate_chunks(con, spec, requests.name, chunk_records)
        tf = term_frequencies(con, "_tg_met")
        for chunk, rows in enumerate(bounds or [(0, -1)]):  # one, even if there is nothing
            _score_chunk(con, spec, tf, chunk, rows, requests.name, out, names,
                         variants_made=len(bounds) <= 1, kept=kept)
            if progress is not None:
                progress.advance(_count(con, "_tg_req_chunk"))
        return ScoredPairs(out, table_of(con, out).columns, levels.level_labels())
    finally:
        for view in (predict_sql.LEFT, predict_sql.RIGHT, "_tg_req_chunk"):
            con.execute(f"DROP VIEW IF EXISTS {view}")
        for table in ("_tg_fil_chunk", "_tg_candidates", "_tg_met", *tf.values()):
            con.execute(f"DROP TABLE IF EXISTS {table}")


def _candidate_chunks(
    con: duckdb.DuckDBPyConnection, spec: dict, requests: str, size: int
) -> list[tuple[int, int]]:
    """Cut the requests in chunks of ``size`` and find, in one pass, which filing
    variants (the index's, :data:`taxgate.filing_index.VARIANTS`) share a blocking key
    with which request (``_tg_candidates``: row_number, filing_id): one join per rule of
    the model (``l``: requests, ``r``: variants; the rules read model columns only, so a
    variant shares a key exactly when its filings do). These are the candidate pairs
    Splink's blocking would find again for each chunk: its predict is handed them
    (:meth:`~taxgate.matching.predict_sql.Compiled.run`). ``_tg_met``: the requests and
    the candidate variants, the rows whose term frequencies are looked up. When there is
    one chunk, its variants (``_tg_fil_chunk``) are read from the index here, once for
    both uses. Returns each chunk's first and last row number: a chunk is a range of
    them, read by range, never by joining every request again."""
    start = time.perf_counter()
    bounds = [(int(lo), int(hi)) for lo, hi in con.execute(f"""
        SELECT min(row_number), max(row_number) FROM (
          SELECT row_number, (row_number() OVER (ORDER BY row_number) - 1) // {int(size)}
                   AS chunk
          FROM {requests}) GROUP BY chunk ORDER BY chunk""").fetchall()]
    rules = [r["blocking_rule"] for r in spec["blocking_rules_to_generate_predictions"]]
    con.execute("CREATE OR REPLACE TEMP TABLE _tg_candidates AS " + " UNION ALL ".join(
        f"SELECT l.row_number, r.filing_id FROM {requests} l JOIN {filing_index.VARIANTS} r "
        f"ON {rule}{_not_met(rules[:i])}" for i, rule in enumerate(rules)))
    variants = filing_index.VARIANTS
    if len(bounds) <= 1:  # the one chunk's variants, read from the index once for both uses
        _fil_chunk(con, bounds[0] if bounds else (0, -1))
        variants = "_tg_fil_chunk"
    cols = ", ".join(filing_index.TERM_SOURCES)
    con.execute(f"""CREATE OR REPLACE TEMP TABLE _tg_met AS
        SELECT {cols} FROM {requests}
        UNION ALL SELECT {cols} FROM {variants} v
        SEMI JOIN _tg_candidates c ON c.filing_id = v.filing_id""")
    _log.info("Blocking time: %.3f seconds", time.perf_counter() - start)
    return bounds


def _not_met(earlier: list[str]) -> str:
    """The condition that a pair meets none of the ``earlier`` rules, as Splink's blocking
    writes it: each pair is found once, by the first rule it meets, with no pass over
    all of them to drop the repeats (at 1.28M records, 12.9M pairs in 3.1 to 3.9 s where a
    UNION took 9.1 to 9.8 s)."""
    if not earlier:
        return ""
    return " WHERE NOT (" + " OR ".join(f"coalesce(({rule}), false)" for rule in earlier) + ")"


def _chunk_pairs(rows: tuple[int, int]) -> str:
    """The candidate pairs of the requests numbered ``rows`` (first and last)."""
    return (f"SELECT row_number AS request_uid, filing_id AS filing_uid FROM _tg_candidates "
            f"WHERE row_number BETWEEN {int(rows[0])} AND {int(rows[1])}")


def _fil_chunk(con: duckdb.DuckDBPyConnection, rows: tuple[int, int]) -> None:
    """``_tg_fil_chunk``: the filing variants that share a blocking key with a request
    numbered ``rows`` (first and last)."""
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE _tg_fil_chunk AS
        SELECT v.* FROM {filing_index.VARIANTS} v
        SEMI JOIN ({_chunk_pairs(rows)}) c ON c.filing_uid = v.filing_id""")


def _score_chunk(
    con: duckdb.DuckDBPyConnection, spec: dict, tf: dict[str, str], chunk: int,
    rows: tuple[int, int], requests: str, out: str, names: model.NameRules, *,
    variants_made: bool, kept: LookupCache | None = None,
) -> None:
    """Splink's predict for one chunk of ``requests`` (row numbers ``rows``, first and
    last) against its candidate variants; the pairs go to ``out`` (created by the first
    chunk, appended to after). ``variants_made``: ``_tg_fil_chunk`` holds the chunk's
    variants already. The chunk's requests are a view (``_tg_req_chunk``): a range is
    read cheaply each time, where a copy of the rows cost more."""
    start = time.perf_counter()
    con.execute(f"""
        CREATE OR REPLACE TEMP VIEW _tg_req_chunk AS
        SELECT q.* FROM {requests} q WHERE q.row_number BETWEEN {rows[0]} AND {rows[1]}""")
    if not variants_made:
        _fil_chunk(con, rows)
    _log.info("Blocking time: %.3f seconds", time.perf_counter() - start)
    _input_view(con, predict_sql.LEFT, "_tg_req_chunk", "row_number", names=names)
    _input_view(con, predict_sql.RIGHT, "_tg_fil_chunk", "filing_id", names=names)
    pairs = _predict(con, spec, tf, kept, _chunk_pairs(rows))
    comparisons = [c["output_column_name"] for c in spec["comparisons"]]
    try:
        finish_pairs(con, pairs, "_tg_req_chunk", "_tg_fil_chunk", comparisons, out,
                     append=chunk > 0)
    finally:
        con.execute(f"DROP TABLE IF EXISTS {pairs}")


# The predict of the last (connection, settings) scored, its SQL kept for the next chunk
# or job of this process (:mod:`taxgate.matching.predict_sql`): each predict generated
# its SQL again (about 0.2 s a job; 0.4 s under a profiler). The statements read the
# input views (predict_sql.LEFT, RIGHT) and the term-frequency tables by name, made again
# for each chunk; the tables they make are dropped before each use and after.
_KEPT: list[tuple[duckdb.DuckDBPyConnection, str, predict_sql.Compiled]] = []


def _predict(con: duckdb.DuckDBPyConnection, spec: dict, tf: dict[str, str],
             kept: LookupCache | None = None, pairs: str | None = None) -> str:
    """Splink's predict of ``spec`` on ``con`` over the chunk's views and the
    term-frequency tables ``tf``; the name of the table of scored pairs it made. The
    statements are those of this process's last predict of the same model on ``con``,
    or those the host keeps (``kept``), or recorded now (and kept there). ``pairs``: a
    query of the chunk's candidate pairs, when known (:meth:`predict_sql.Compiled.run`);
    a predict recorded now blocks through Splink itself."""
    key = json.dumps([spec, tf], sort_keys=True)
    if _KEPT and _KEPT[0][0] is con and _KEPT[0][1] == key:
        return _KEPT[0][2].run(con, pairs)
    _KEPT.clear()
    digest = kept_predict.digest(con, spec, tf) if kept is not None else ""
    compiled = kept_predict.load(kept, digest) if kept is not None else None
    if compiled is not None:
        compiled.run(con, pairs)
    else:
        keep = pair_columns([c["output_column_name"] for c in spec["comparisons"]])
        compiled = predict_sql.record(con, spec, tf, keep)
        if kept is not None:
            kept_predict.keep(kept, digest, compiled)
    _KEPT[:] = [(con, key, compiled)]
    return compiled.output


def finish_pairs(
    con: duckdb.DuckDBPyConnection,
    pairs: str,
    requests: str,
    filings: str,
    comparisons: list[str],
    out: str,
    *,
    append: bool = False,
) -> None:
    """Splink's scored pairs (table ``pairs``) -> ``out`` (or appended to it), one
    statement for every engine: request and filing ids, the TIN, DOB agreement, name
    compatibility, the first-name and address levels and the evidence."""
    # Splink orders each pair by source dataset name, so either side may be "l".
    swap = f"p.source_dataset_l = '{predict_sql.FILINGS}'"
    head = f"INSERT INTO {out}" if append else f"CREATE OR REPLACE TEMP TABLE {out} AS"
    con.execute(f"""
        {head}
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
               CAST(p.gamma_first_name AS INTEGER) AS first_name_level,
               CAST(p.gamma_address AS INTEGER) AS address_level,
               to_json(struct_pack(match_weight := round(p.match_weight, 3),
                                   levels := struct_pack({_levels(comparisons)}),
                                   weights := struct_pack({_weights(comparisons)})))
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
    """Per comparison: the level the pair fell in (-1 null, 0 else, higher more alike).
    (Struct fields, in the comparisons' order: the same JSON as a map of them, a fifth
    of the work.)"""
    return ", ".join(f'"{c}" := CAST(p.gamma_{c} AS INTEGER)' for c in comparisons)


# The comparisons whose weights carry a term-frequency adjustment.
_TF_ADJUSTED = ("first_name", "surname", "address")


def _weights(comparisons: list[str]) -> str:
    """Per comparison: its match weight, term-frequency adjustment included."""
    parts = []
    for c in comparisons:
        tf = f" + coalesce(p.mw_tf_adj_{c}, 0)" if c in _TF_ADJUSTED else ""
        parts.append(f'"{c}" := round(p.mw_{c}{tf}, 3)')
    return ", ".join(parts)


def pair_columns(comparisons: list[str]) -> tuple[str, ...]:
    """The columns of Splink's scored pairs that :func:`finish_pairs` reads: the only
    ones a predict needs to keep (:func:`taxgate.matching.predict_sql.record`)."""
    return ("source_dataset_l", "uid_l", "uid_r", "match_probability", "match_weight",
            *(f"gamma_{c}" for c in comparisons), *(f"mw_{c}" for c in comparisons),
            *(f"mw_tf_adj_{c}" for c in comparisons if c in _TF_ADJUSTED))
