"""Throughput of reading a records file (intake.load_records: taxgate.records_csv), per core.

    .venv/bin/python bench/intake_rate.py RECORDS_CSV [--threads 1] [--repeat 3]

Reads the file into a DuckDB table as ``process`` does, best of ``--repeat`` runs,
and prints records per second of wall time and of the process's CPU time (which a
busy shared machine disturbs less). One DuckDB thread by default: the figure is per
core. Any records file will do, e.g. ``python -m taxgate.synth``'s request records.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import duckdb

from taxgate import intake


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("records", type=Path)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    con = duckdb.connect()
    con.execute(f"SET threads = {args.threads}")
    best, best_cpu, n = float("inf"), float("inf"), 0
    for _ in range(args.repeat):
        start, cpu = time.perf_counter(), time.process_time()
        n = intake.load_records(con, args.records, "req")
        best = min(best, time.perf_counter() - start)
        best_cpu = min(best_cpu, time.process_time() - cpu)
    print(f"{n:,} records, {args.threads} thread(s): load_records {best:.2f} s wall "
          f"({n / best:,.0f} records/s), {best_cpu:.2f} s CPU ({n / best_cpu:,.0f} records/s "
          "per core)")


if __name__ == "__main__":
    main()
