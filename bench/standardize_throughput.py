"""Throughput of taxgate.standardize on synthetic filings.

    .venv/bin/python bench/standardize_throughput.py [--rows 1000000] [--threads 2]

Generates N filing rows with DuckDB SQL (names with accents, particles and
nicknames; addresses with directionals, suffixes, units, PO boxes, highways),
then materializes ``standardized_select_sql`` over them and prints rows/s.
"""

from __future__ import annotations

import argparse
import time

import duckdb

from taxgate.standardize import install, standardized_select_sql

SYNTH = """
CREATE OR REPLACE TEMP TABLE bench_filings AS
SELECT
    (100000000 + i)::VARCHAR AS tin,
    ['José', 'MARIA DE LOS ANGELES', 'Pepe', 'Juan Carlos', 'William', 'Guadalupe', 'Bill',
     'Ma. Guadalupe', 'Jesús', 'Francisco'][i % 10 + 1] AS first_name,
    ['', 'Luis', 'A.', NULL, 'de Jesús'][i % 5 + 1] AS middle_name,
    ['García López', 'de la Cruz', 'HERNÁNDEZ-RAMÍREZ', 'Smith Jr.', 'Nguyen', 'O''Brien',
     'Martínez', 'Del Río y Soto'][i % 8 + 1] AS last_name,
    (DATE '1950-01-01' + (i % 20000)::INTEGER)::VARCHAR AS date_of_birth,
    CASE WHEN i % 23 = 0 THEN 'P.O. Box ' || (i % 900 + 1)::VARCHAR
         WHEN i % 29 = 0 THEN 'RR ' || (i % 9 + 1)::VARCHAR || ' Box ' || (i % 99)::VARCHAR
         ELSE (i % 9999 + 1)::VARCHAR || ' '
              || ['North ', 'S. ', '', 'East ', '', 'NW '][i % 6 + 1]
              || ['Main', 'Oak', 'Fifth', 'Martin Luther King', 'N', 'Highway 66', '21st',
                  'Elm Tree'][i % 8 + 1] || ' '
              || ['Street', 'Ave.', 'Boulevard', 'Rd', 'Drive', 'Ct'][i % 6 + 1]
              || CASE WHEN i % 7 = 0 THEN ' Apt ' || (i % 40)::VARCHAR
                      WHEN i % 11 = 0 THEN ' #' || (i % 12)::VARCHAR ELSE '' END
    END AS street_address,
    CASE WHEN i % 5 = 0 THEN 'Apt. ' || (i % 30)::VARCHAR END AS unit,
    ['Los Angeles', 'San José', 'St. Louis', 'Houston', 'Chicago'][i % 5 + 1] AS city,
    ['CA', 'ca', 'MO', 'Texas', 'IL'][i % 5 + 1] AS state,
    lpad((10000 + i % 89999)::VARCHAR, 5, '0') || CASE WHEN i % 3 = 0 THEN '-1234' ELSE '' END
        AS zip,
    '2024' AS tax_year, 'RETURN' AS source, '2025-03-01' AS processed_date
FROM range(?) r(i)
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    con = duckdb.connect(":memory:")
    con.execute(f"SET threads = {args.threads}")
    install(con)
    con.execute(SYNTH, [args.rows])
    sql = standardized_select_sql("bench_filings", side="filing")
    start, cpu0 = time.perf_counter(), time.process_time()
    con.execute(f"CREATE OR REPLACE TEMP TABLE bench_std AS {sql}")
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu0
    n = con.execute("SELECT count(*) FROM bench_std").fetchone()[0]
    assert n == args.rows, (n, args.rows)
    rate = n / seconds
    # CPU seconds summed over threads: a fair figure when other jobs share the cores
    cpu_rate = n / cpu * args.threads
    print(f"standardized {n:,} rows in {seconds:.2f} s wall, {cpu:.2f} s CPU, "
          f"{args.threads} threads: {rate:,.0f} rows/s wall "
          f"(10M rows: {10_000_000 / rate:.0f} s); "
          f"{cpu_rate:,.0f} rows/s on {args.threads} dedicated cores by CPU time "
          f"(10M rows: {10_000_000 / cpu_rate:.0f} s)")


if __name__ == "__main__":
    main()
