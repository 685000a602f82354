"""``install(con)``: the lookup tables and SQL macros of standardization on one connection.

Everything is TEMP (tables and macros), so nothing is written into a
persistent database the connection may have attached. A connection holds them
once: the last statement records the fingerprint of what was installed (the temp
table ``_tg_std_installed``), and a later call on the same connection that finds
that fingerprint does nothing, so a long-lived connection (the service's) does not
rebuild them for every request. Being TEMP objects of the same connection, the
mark goes with them (a rolled-back transaction or a new connection loses both).
Given a :class:`~taxgate.standardize.lookup_cache.LookupCache`, the tables are copied
from the file it keeps (made by the first process to build them) instead of built.
"""

from __future__ import annotations

import hashlib
from functools import cache

import duckdb

from taxgate.standardize._data import install_tables
from taxgate.standardize.addresses import address_macros
from taxgate.standardize.cities import city_macros, create_city_table, fill_city_table
from taxgate.standardize.lookup_cache import LookupCache
from taxgate.standardize.names import name_macros
from taxgate.standardize.text import FOLD_MACROS
from taxgate.standardize.validity import validity_macros


@cache
def macro_statements() -> tuple[str, ...]:
    """The CREATE MACRO statements, in dependency order (built once per process)."""
    macros = {**FOLD_MACROS, **name_macros(), **address_macros(), **validity_macros(),
              **city_macros()}
    return tuple(f"CREATE OR REPLACE TEMP MACRO {sig} AS ({body.strip()})"
                 for sig, body in macros.items())


_MARK = "_tg_std_installed"

# Every TEMP table install makes, the mark aside (what a LookupCache keeps).
LOOKUP_TABLES = (
    "std_street_suffix", "std_directional", "std_unit_designator", "std_ordinal",
    "std_state", "name_xlang", "zip_state", "name_nickname", "name_first_lookup",
    "name_given", "city_state",
)


@cache
def fingerprint() -> str:
    """What :func:`install` creates, as a digest (built once per process)."""
    return hashlib.sha256("\n".join(macro_statements()).encode()).hexdigest()


def installed(con: duckdb.DuckDBPyConnection) -> bool:
    """True when ``con`` already holds this process's lookup tables and macros."""
    row = con.execute("SELECT count(*) FROM duckdb_tables() WHERE temporary "
                      "AND table_name = ?", [_MARK]).fetchone()
    if not row or not row[0]:
        return False
    mark = con.execute(f"SELECT fingerprint FROM temp.main.{_MARK}").fetchone()
    return mark is not None and mark[0] == fingerprint()


def install(con: duckdb.DuckDBPyConnection, cache: LookupCache | None = None) -> None:
    """Create the lookup tables and macros on ``con`` (idempotent; once per connection).
    ``cache``: where the tables are kept between processes (read from there when it
    holds them, written there when they had to be built)."""
    if installed(con):
        return
    restored = cache is not None and cache.restore(con, LOOKUP_TABLES)
    if not restored:
        install_tables(con)
        create_city_table(con)
    for stmt in macro_statements():
        con.execute(stmt)
    if not restored:
        fill_city_table(con)
        if cache is not None:
            cache.keep(con, LOOKUP_TABLES)
    con.execute(f"CREATE OR REPLACE TEMP TABLE {_MARK} AS SELECT ? AS fingerprint",
                [fingerprint()])
