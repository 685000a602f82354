"""Cities of a state (R9): is the city a placeholder, and is it a place of the state?

A real postal address names a city of its ZIP's state. ``data/city_state.csv``
(built from the ``zipcodes`` package by ``build_zip_table``) lists every city name
USPS accepts for a ZIP of each state, primary and alternate ("BROOKLYN HGTS");
``data/city_state_extra.csv`` adds the few well-known names USPS does not list (QUEENS).

City spellings vary, so a city is compared by its *key*: ``std_city`` (accents
stripped, punctuation to spaces, ST/STE/FT/MT spelled out: ST. LOUIS = SAINT LOUIS)
with the spaces then removed (MC ALLEN = MCALLEN, LA GRANGE = LAGRANGE, WINSTON-SALEM
= WINSTON SALEM). The table side also holds every name with its usual words written
the other way (``data/city_words.csv``: NORTH = N, HEIGHTS = HTS, SPRINGS = SPGS, ...),
so "N LAS VEGAS" and "NORTH LAS VEGAS" are both found. Keys are computed by the same
macro on both sides. A state with no city listed (none today) is never refused.
"""

from __future__ import annotations

import itertools
from functools import cache

import duckdb
import pyarrow as pa

from taxgate.standardize._data import column, rows
from taxgate.standardize._sql import alternation

_MAX_VARIANTS = 16
_CITY_BLANK = "p_city IS NULL OR trim(CAST(p_city AS VARCHAR)) = ''"


@cache
def _word_forms() -> dict[str, tuple[str, ...]]:
    """Word -> every way of writing it (full and abbreviated), both directions."""
    groups: dict[str, set[str]] = {}
    for r in rows("city_words.csv"):
        group = groups.setdefault(r["word"], {r["word"]}) | {r["abbr"]}
        for w in group:
            groups[w] = group
    return {w: tuple(sorted(g)) for w, g in groups.items()}


def city_variants(city: str) -> list[str]:
    """``city`` and the same name with its usual words written the other way."""
    forms = _word_forms()
    words = city.split()
    if not any(w in forms for w in words):  # most names: no word to write otherwise
        out = [" ".join(words)]
    else:
        options = [forms.get(w, (w,)) for w in words]
        out = [" ".join(v) for v in itertools.islice(itertools.product(*options),
                                                      _MAX_VARIANTS)]
    return out if city in out else [city, *out]


@cache
def _city_rows() -> tuple[list[str], list[str]]:
    states: list[str] = []
    cities: list[str] = []
    for r in (*rows("city_state.csv"), *rows("city_state_extra.csv")):
        for v in city_variants(r["city"]):
            states.append(r["state"])
            cities.append(v)
    return states, cities


def create_city_table(con: duckdb.DuckDBPyConnection) -> None:
    """The empty TEMP table ``city_state(state, city_key)`` the macros below name."""
    con.execute("CREATE TEMP TABLE IF NOT EXISTS city_state (state VARCHAR, city_key VARCHAR)")


def fill_city_table(con: duckdb.DuckDBPyConnection) -> None:
    """Fill ``city_state`` (idempotent); needs the macros of this module."""
    states, cities = _city_rows()
    con.register("_tg_city_rows", pa.table({"state": states, "city": cities}))
    try:
        con.execute("DELETE FROM city_state")
        con.execute("INSERT INTO city_state "
                    "SELECT DISTINCT state, city_key(city) FROM _tg_city_rows")
    finally:
        con.unregister("_tg_city_rows")


def _placeholder_pattern() -> str:
    """One RE2 pattern: digits only, XXX, or placeholder words only (one regex is far
    cheaper per record than splitting the name and looking each word up)."""
    words = alternation([*column("addr_placeholders.csv", "placeholder"),
                         *column("city_placeholders.csv", "placeholder")])
    return f"[0-9 ]+|X{{2,}}( X+)*|{words}( {words})*".replace("'", "''")


def city_macros() -> dict[str, str]:
    """Macro signature -> body."""
    return {
        # the comparison key of a city name (see the module docstring)
        "city_key(c)": "replace(std_city(c), ' ', '')",
        # the city is a place of that state (2-letter code)
        "city_known(p_city, p_state)": """
            EXISTS (SELECT 1 FROM city_state c
                    WHERE c.state = p_state AND c.city_key = city_key(p_city))
        """,
        # as city_known, and true when the state lists no city at all
        "city_in_state(p_city, p_state)": """
            city_known(p_city, p_state)
            OR NOT EXISTS (SELECT 1 FROM city_state c WHERE c.state = p_state)
        """,
        # UNKNOWN, N/A, NONE, "." or "--" (punctuation only), "00000" (digits only), XXX,
        # or only words of the list; never a real place of the state (STREET, Maryland)
        "city_is_placeholder(p_city, p_state)": f"""
            CASE WHEN {_CITY_BLANK} THEN false ELSE coalesce(list_transform(
                [std_fold(p_city)], lambda f: f IS NULL
                    OR regexp_full_match(f, '{_placeholder_pattern()}'))[1], true)
                AND NOT city_known(p_city, p_state) END
        """,
    }
