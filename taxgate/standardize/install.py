"""``install(con)``: the lookup tables and SQL macros of standardization on one connection.

Everything is TEMP (tables and macros), so nothing is written into a
persistent database the connection may have attached, and calling it again
simply replaces what is there.
"""

from __future__ import annotations

from functools import cache

import duckdb

from taxgate.standardize._data import install_tables
from taxgate.standardize.addresses import address_macros
from taxgate.standardize.cities import city_macros, create_city_table, fill_city_table
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


def install(con: duckdb.DuckDBPyConnection) -> None:
    """Create the lookup tables and macros on ``con`` (idempotent)."""
    install_tables(con)
    create_city_table(con)
    for stmt in macro_statements():
        con.execute(stmt)
    fill_city_table(con)
