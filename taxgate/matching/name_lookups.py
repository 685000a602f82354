"""The given-name lookups the model's input rows join, made once per connection.

:func:`taxgate.matching.duckdb._input_view` gives every row the names its first given
name may stand for, its silent-E stem and its diminutive's entries, read from four
small tables computed from standardization's name tables (``name_nickname``,
``name_given``, :mod:`taxgate.standardize`) and the policy's name rules alone. Written
as subqueries of the view, DuckDB computed all four again for every statement that read
it: 0.04–0.08 s a side, four times a request (Splink's blocking and its scoring each
read both sides), whatever the request's size.

They are TEMP tables of the connection, made by :func:`install` the first time a set of
name rules asks for them. The last statement records the digest of the SQL that made
them (the temp table ``_tg_name_lookups``, as standardization's own mark does), so other
name rules, a new connection or a rolled-back transaction make them again; what they
are made from is this package's data, the same for the whole process.
"""

from __future__ import annotations

import hashlib

import duckdb

from taxgate.matching.name_keys import NICKS_BY_SOUND, diminutive_entries, silent_e_stems

# Every given name a first-name token may stand for (all variants of an ambiguous
# nickname: AB -> ABEL, ABIEL, ABNER ...), from standardization's name_nickname table.
_NICKS = """
    SELECT variant, list_append(list(DISTINCT split_part(canonical, ' ', 1)), variant) AS nicks
    FROM name_nickname GROUP BY variant
"""

NICKS, NICKS_SOUND = "_tg_name_nicks", "_tg_name_nicks_sound"
SILENT_E, DIMINUTIVES = "_tg_name_silent_e", "_tg_name_diminutives"
_MARK = "_tg_name_lookups"


def sex(g: str, dominance: float) -> str:
    """SQL: the sex the ``name_given`` row ``g`` is of (``dominance`` times more births of
    one sex than of the other), NULL for a name of both or neither."""
    return (f"CASE WHEN {g}.female >= {dominance} * {g}.male THEN 'F' "
            f"WHEN {g}.male >= {dominance} * {g}.female THEN 'M' END")


def _statements(dominance: float, hypocorism_min_letters: int) -> tuple[tuple[str, str], ...]:
    """(table, SELECT) of every lookup under these name rules."""
    return ((NICKS, _NICKS), (NICKS_SOUND, NICKS_BY_SOUND),
            (SILENT_E, silent_e_stems(hypocorism_min_letters)),
            (DIMINUTIVES, diminutive_entries(sex("g", dominance))))


def install(con: duckdb.DuckDBPyConnection, dominance: float,
            hypocorism_min_letters: int) -> None:
    """Make the lookup tables on ``con`` for these name rules, unless it holds them
    already. Standardization's tables must be installed on ``con``."""
    statements = _statements(dominance, hypocorism_min_letters)
    digest = hashlib.sha256(repr(statements).encode()).hexdigest()
    if _installed(con) == digest:
        return
    for table, select in statements:
        con.execute(f"CREATE OR REPLACE TEMP TABLE {table} AS {select}")
    con.execute(f"CREATE OR REPLACE TEMP TABLE {_MARK} AS SELECT ? AS digest", [digest])


def _installed(con: duckdb.DuckDBPyConnection) -> str | None:
    """The digest the connection's lookups were made under, or None."""
    try:
        row = con.execute(f"SELECT digest FROM temp.main.{_MARK}").fetchone()
    except duckdb.CatalogException:
        return None
    return str(row[0]) if row else None
