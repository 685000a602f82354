"""Taxpayer filings (contract §1): read a CSV or Parquet file, check its shape, and
hand it on as a DuckDB relation ready to be standardized.

Values are never echoed in errors: a bad file is described by its name, its
columns and the count of rows that failed each check.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from taxgate.errors import TaxpayerFileError
from taxgate.records import FILING_SOURCES, TAXPAYER_COLUMNS


def _columns_of(con: duckdb.DuckDBPyConnection, source: str, path: Path) -> list[str]:
    try:
        return [
            r[0] for r in con.execute(f"DESCRIBE SELECT * FROM {source}", [str(path)]).fetchall()
        ]
    except duckdb.Error:
        raise TaxpayerFileError(
            f"taxpayer file {path.name} is not readable CSV or Parquet"
        ) from None


def stage_filings(con: duckdb.DuckDBPyConnection, path: Path, table: str) -> int:
    """Read ``path`` into temp table ``table`` with the contract's columns, typed:
    tax_year INTEGER, processed_date DATE, the rest VARCHAR. Returns the row count."""
    if not path.is_file():
        raise TaxpayerFileError(f"taxpayer file {path} does not exist")
    if path.suffix.lower() in (".parquet", ".pq"):
        source = "read_parquet(?)"
    else:
        source = (
            "read_csv(?, header=true, all_varchar=true, strict_mode=true, delim=',', "
            "quote='\"', escape='\"', encoding='utf-8', max_line_size=65536)"
        )
    columns = _columns_of(con, source, path)
    missing = [c for c, required in TAXPAYER_COLUMNS.items() if required and c not in columns]
    if missing:
        raise TaxpayerFileError(
            f"taxpayer file {path.name} lacks required columns: {', '.join(missing)}"
        )
    select = ", ".join(
        f'CAST("{c}" AS VARCHAR) AS "{c}"' if c in columns else f'CAST(NULL AS VARCHAR) AS "{c}"'
        for c in TAXPAYER_COLUMNS
        if c not in ("tax_year", "processed_date")
    )
    try:
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE {table} AS SELECT {select}, "
            "try_cast(trim(CAST(tax_year AS VARCHAR)) AS INTEGER) AS tax_year, "
            "try_cast(trim(CAST(processed_date AS VARCHAR)) AS DATE) AS processed_date "
            f"FROM {source}",
            [str(path)],
        )
    except duckdb.Error:
        raise TaxpayerFileError(
            f"taxpayer file {path.name} is not well-formed (bad encoding, quoting or row length)"
        ) from None
    sources = ", ".join(f"'{s}'" for s in FILING_SOURCES)
    bad = con.execute(f"""
        SELECT count(*) FILTER (WHERE NOT regexp_full_match(coalesce(trim(tin), ''), '\\d{{9}}')),
               count(*) FILTER (WHERE tax_year IS NULL),
               count(*) FILTER (WHERE processed_date IS NULL),
               count(*) FILTER (WHERE upper(trim(coalesce(source, ''))) NOT IN ({sources})),
               count(*)
        FROM {table}
    """).fetchone()
    assert bad is not None
    problems = [
        f"{n} row(s) with {what}"
        for n, what in zip(
            bad[:4],
            (
                "a TIN that is not 9 digits",
                "no valid tax_year",
                "no valid processed_date",
                "an unknown source",
            ),
            strict=True,
        )
        if n
    ]
    if problems:
        raise TaxpayerFileError(f"taxpayer file {path.name}: " + "; ".join(problems))
    return int(bad[4])
