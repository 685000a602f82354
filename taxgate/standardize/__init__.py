"""Name and address standardization as vectorized DuckDB SQL (R9, R10, R24).

    install(con)                              lookup tables + macros, TEMP, idempotent
    standardized_select_sql(source, side=...) SELECT *, <standardized columns> FROM source
    standardize_name(...), standardize_address(...)   the same SQL on one row

The columns are those of ``docs/architecture.md`` ("Standardized columns");
the rules and the data tables are described in ``docs/standardization.md``.
"""

from taxgate.standardize.install import install
from taxgate.standardize.one_row import standardize_address, standardize_name, standardize_rows
from taxgate.standardize.select import STD_COLUMNS, standardized_select_sql

__all__ = [
    "STD_COLUMNS",
    "install",
    "standardize_address",
    "standardize_name",
    "standardize_rows",
    "standardized_select_sql",
]
