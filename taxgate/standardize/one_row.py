"""One-row conveniences for tests, the review desk and the docs.

They run the very SQL of ``standardized_select_sql`` on a one-row relation in
a private in-memory DuckDB: there is no second implementation in Python.
"""

from __future__ import annotations

import threading
from functools import cache
from typing import Any

import duckdb

from taxgate.standardize._sql import lit
from taxgate.standardize.install import install
from taxgate.standardize.select import standardized_select_sql

_LOCK = threading.Lock()
_NAME_COLS = ("n_first", "n_first_canon", "n_first_xlang", "n_given_all", "n_middle_initial",
              "n_surnames", "n_surname1", "n_last", "n_suffix")
_ADDR_COLS = ("a_number", "a_street", "a_street_name", "a_unit", "a_po_box",
              "a_city", "a_state", "a_zip5", "a_key")
_INPUT = ("first_name", "middle_name", "last_name", "second_last_name", "date_of_birth",
          "street_address", "unit", "city", "state", "zip")


@cache
def _connection() -> duckdb.DuckDBPyConnection:
    """A private in-memory connection with everything installed (made on first use)."""
    con = duckdb.connect(":memory:")
    con.execute("SET threads = 1")
    install(con)
    return con


def _value(v: object) -> str:
    return "NULL::VARCHAR" if v is None else f"{lit(str(v))}::VARCHAR"


def standardize_rows(records: list[dict[str, str | None]], *, side: str = "request"
                     ) -> list[dict[str, Any]]:
    """Standardize records given as dicts of the contract's columns, in order, in one query."""
    if not records:
        return []
    rows = ", ".join("(" + ", ".join([str(i)] + [_value(r.get(c)) for c in _INPUT]) + ")"
                     for i, r in enumerate(records))
    source = f"(SELECT * FROM (VALUES {rows}) v(_row, {', '.join(_INPUT)}))"
    sql = standardized_select_sql(source, side=side)
    with _LOCK:
        con = _connection()  # not a cursor: TEMP macros belong to one connection
        rel = con.execute(f"SELECT * EXCLUDE (_row) FROM ({sql}) ORDER BY _row")
        names = [d[0] for d in rel.description]
        return [dict(zip(names, row, strict=True)) for row in rel.fetchall()]


def name_columns(row: dict[str, Any]) -> dict[str, Any]:
    """The ``n_*`` columns of a standardized row."""
    return {c: row[c] for c in _NAME_COLS}


def address_columns(row: dict[str, Any]) -> dict[str, Any]:
    """The ``a_*`` columns of a standardized row."""
    return {c: row[c] for c in _ADDR_COLS}


def standardize_name(first: str | None, middle: str | None, last: str | None,
                     second_last: str | None = None) -> dict[str, Any]:
    """The ``n_*`` columns for one name."""
    row = standardize_rows([{"first_name": first, "middle_name": middle, "last_name": last,
                             "second_last_name": second_last}])[0]
    return name_columns(row)


def standardize_address(street: str | None, unit: str | None, city: str | None,
                        state: str | None, zip: str | None) -> dict[str, Any]:
    """The ``a_*`` columns for one address."""
    row = standardize_rows([{"street_address": street, "unit": unit, "city": city,
                             "state": state, "zip": zip}])[0]
    return address_columns(row)
