"""Name and address standardization as vectorized DuckDB SQL (R9, R10, R24).

    install(con)                              lookup tables + macros, TEMP, idempotent
    standardized_select_sql(source, side=...) SELECT *, <standardized columns> FROM source
    deduplicated_select_sql(source)           the same for filings, each distinct name,
                                              street line and place standardized once (load)
    standardize_name(...), standardize_address(...)   the same SQL on one row
    street_parts_sql(street, name)            pre-directional, suffix, post-directional
                                              of a standardized street, from its columns

The columns are those of ``docs/architecture.md`` ("Standardized columns");
the rules and the data tables are described in ``docs/standardization.md``.
"""

from taxgate.standardize.addresses import street_parts_sql
from taxgate.standardize.install import install
from taxgate.standardize.one_row import standardize_address, standardize_name, standardize_rows
from taxgate.standardize.select import (
    STD_COLUMNS,
    deduplicated_select_sql,
    join_standardized_sql,
    standardized_names_sql,
    standardized_places_sql,
    standardized_select_sql,
    standardized_streets_sql,
)

__all__ = [
    "STD_COLUMNS",
    "deduplicated_select_sql",
    "install",
    "join_standardized_sql",
    "standardized_names_sql",
    "standardized_places_sql",
    "standardize_address",
    "standardize_name",
    "standardize_rows",
    "standardized_select_sql",
    "standardized_streets_sql",
    "street_parts_sql",
]
