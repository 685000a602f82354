"""Throughput of the record-level statutory checks (taxgate.statute.evaluate_records).

    .venv/bin/python bench/statute_rate.py --records 100000 --threads 1

Makes a synthetic request (``taxgate.synth``, seeded), reads it as ``process`` does
(``intake.load_records``), installs the standardization macros, then times
``evaluate_records`` alone, best of ``--repeat`` runs, and prints records per second
of wall time and of CPU time (the process's, which a busy shared machine disturbs
less). One thread by default: the figure is per core.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import duckdb

from taxgate import intake, standardize, statute
from taxgate.settings import Policy
from taxgate.stage_table import table_of
from taxgate.synth import synth_all


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--records", type=int, default=100_000)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--workdir", type=Path, default=None)
    args = ap.parse_args()
    work = args.workdir or Path(tempfile.mkdtemp(prefix="statute-rate-"))
    records = work / "request" / "records.csv"
    if not records.exists():
        synth_all(work, max(10, args.records // 5), args.records, seed=1)
    con = duckdb.connect()
    con.execute(f"SET threads = {args.threads}")
    standardize.install(con)
    n = intake.load_records(con, records, "req")
    best, best_cpu = float("inf"), float("inf")
    for _ in range(args.repeat):
        start, cpu = time.perf_counter(), time.process_time()
        out = statute.evaluate_records(con, table_of(con, "req"), "out", created="2026-11-20",
                                       policy=Policy())
        best = min(best, time.perf_counter() - start)
        best_cpu = min(best_cpu, time.process_time() - cpu)
    (rejected,) = con.execute(
        f"SELECT count(*) FROM {out.name} WHERE len(rejections) > 0").fetchone()
    print(f"{n:,} records, {args.threads} thread(s): evaluate_records {best:.3f} s wall "
          f"({n / best:,.0f} records/s), {best_cpu:.3f} s CPU ({n / best_cpu:,.0f} records/s "
          f"per core); {rejected:,} rejected")


if __name__ == "__main__":
    main()
