"""The lookup tables of ``taxgate/data``: reading them and loading them into DuckDB.

Every table is a small CSV committed to the repository (sources in
``docs/standardization.md``). They are read with ``importlib.resources`` so
they work from an installed wheel as well as from a checkout.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from functools import cache
from importlib import resources

import duckdb
import pyarrow as pa


def _open(name: str) -> io.StringIO:
    """Return the text of one data file as a file-like object."""
    text = resources.files("taxgate").joinpath("data", name).read_text(encoding="utf-8")
    return io.StringIO(text)


@cache
def rows(name: str) -> tuple[dict[str, str], ...]:
    """All rows of a data CSV as dicts (cached: the files never change at run time), as
    ``csv.DictReader`` reads them (blank lines skipped) but strictly: a row of another
    width than the header is an error. Zipping rows is a little cheaper than DictReader,
    and every command that standardizes reads the 39,557 city rows at its start."""
    reader = csv.reader(_open(name))
    header = next(reader, [])
    return tuple(dict(zip(header, r, strict=True)) for r in reader if r)


def column(name: str, col: str) -> list[str]:
    """One column of a data CSV, in file order."""
    return [r[col] for r in rows(name)]


def mapping(name: str, key: str, value: str) -> dict[str, str]:
    """A key -> value dict from a data CSV; the first row wins on duplicates."""
    out: dict[str, str] = {}
    for r in rows(name):
        out.setdefault(r[key], r[value])
    return out


def suffix_rows() -> dict[str, str]:
    """Street suffix variant -> USPS abbreviation (Pub 28 C1), abbreviations first."""
    out: dict[str, str] = {}
    table = rows("std_street_suffix.csv")
    for r in table:  # a standard abbreviation always maps to itself
        out[r["abbr"]] = r["abbr"]
    for r in table:
        out.setdefault(r["primary"], r["abbr"])
        for v in r["variants"].split():
            out.setdefault(v, r["abbr"])
    return out


def _values_table(con: duckdb.DuckDBPyConnection, table: str, cols: list[str],
                  data: Sequence[tuple[str, ...]]) -> None:
    """Create a TEMP table of VARCHAR columns from Python rows, in their order (handed
    to DuckDB as Arrow: a literal VALUES list of thousands of rows took DuckDB longer to
    parse than the rows take to copy)."""
    collist = ", ".join(f"{c} VARCHAR" for c in cols)
    con.execute(f"CREATE OR REPLACE TEMP TABLE {table} ({collist})")
    if data:
        rows_in = pa.table({c: pa.array([row[i] for row in data], pa.string())
                            for i, c in enumerate(cols)})
        con.register("_tg_values", rows_in)
        try:
            con.execute(f"INSERT INTO {table} SELECT * FROM _tg_values")
        finally:
            con.unregister("_tg_values")


def _csv_table(con: duckdb.DuckDBPyConnection, table: str, name: str) -> None:
    """Create a TEMP table straight from a data CSV (used for the big ZIP table)."""
    with resources.as_file(resources.files("taxgate").joinpath("data", name)) as path:
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE {table} AS SELECT * FROM "
            "read_csv(?, header = true, all_varchar = true)",
            [str(path)],
        )


def install_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Create every lookup table as a TEMP table on ``con`` (idempotent)."""
    _values_table(con, "std_street_suffix", ["variant", "abbr"], list(suffix_rows().items()))
    for table, cols in {
        "std_directional": ["variant", "abbr"],
        "std_unit_designator": ["variant", "abbr", "needs_id"],
        "std_ordinal": ["word", "ordinal"],
        "std_state": ["name", "abbr"],
        "name_xlang": ["name", "class"],
    }.items():
        _values_table(con, table, cols, [tuple(r[c] for c in cols) for r in rows(table + ".csv")])
    _csv_table(con, "zip_state", "zip_state.csv")
    _install_nicknames(con)
    _install_given_names(con)


def _install_given_names(con: duckdb.DuckDBPyConnection) -> None:
    """``name_given(name, births, female, male)``: SSA births of each given-name
    spelling, in all and by sex (``given_names.csv``, built by ``build_given_name_table``)."""
    _csv_table(con, "_name_given_raw", "given_names.csv")
    con.execute("""
        CREATE OR REPLACE TEMP TABLE name_given AS
        SELECT name, CAST(female AS BIGINT) + CAST(male AS BIGINT) AS births,
               CAST(female AS BIGINT) AS female, CAST(male AS BIGINT) AS male
        FROM _name_given_raw""")
    con.execute("DROP TABLE _name_given_raw")


def _install_nicknames(con: duckdb.DuckDBPyConnection) -> None:
    """``name_nickname`` (every variant pair) and ``name_first_lookup`` (one row per token)."""
    es = [(r["variant"], r["canonical"], r["is_primary"], "taxgate curated (es)")
          for r in rows("name_hypocorism_es.csv")]
    es_primary = {v for v, _, p, _ in es if p == "Y"}
    en = [(r["variant"], r["canonical"],
           "N" if r["variant"] in es_primary else r["is_primary"], r["source"])
          for r in rows("name_nickname_en.csv")]
    seen: set[tuple[str, str]] = set()
    data = []
    for row in es + en:
        if (row[0], row[1]) not in seen:
            seen.add((row[0], row[1]))
            data.append(row)
    _values_table(con, "name_nickname", ["variant", "canonical", "is_primary", "source"], data)
    con.execute("""
        CREATE OR REPLACE TEMP TABLE name_first_lookup AS
        WITH canon AS (
            SELECT variant AS token, min(split_part(canonical, ' ', 1)) AS canon
            FROM name_nickname WHERE is_primary = 'Y' GROUP BY variant
        ), toks AS (SELECT token FROM canon UNION SELECT name FROM name_xlang)
        SELECT t.token,
               coalesce(c.canon, t.token) AS canon,
               coalesce(x.class, c.canon, t.token) AS xlang
        FROM toks t
        LEFT JOIN canon c ON c.token = t.token
        LEFT JOIN name_xlang x ON x.name = coalesce(c.canon, t.token)
    """)
