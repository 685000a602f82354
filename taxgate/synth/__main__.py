"""``python -m taxgate.synth --workdir DIR --people N --records M --seed S``: benchmark data."""

from __future__ import annotations

import argparse
import sys
import time

from taxgate.synth.workflow import DEFAULT_CREATED_AT, synth_all


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m taxgate.synth", description=__doc__)
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--people", type=int, required=True)
    ap.add_argument("--records", type=int, required=True)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--format", choices=("csv", "parquet"), default="csv")
    ap.add_argument("--created-at", default=DEFAULT_CREATED_AT,
                    help="the request's created_at (default: midnight UTC today)")
    ap.add_argument("--periods", default="2023,2024,2025", help="comma-separated tax years")
    ap.add_argument("--bulk-officer", type=int, default=None,
                    help="records moved to one officer (default: 600 when records >= 20000)")
    a = ap.parse_args(argv)
    t0 = time.perf_counter()
    paths = synth_all(
        a.workdir, a.people, a.records, a.seed, fmt=a.format, created_at=a.created_at,
        taxable_periods=[int(y) for y in a.periods.split(",")], bulk_officer_records=a.bulk_officer,
    )
    total = time.perf_counter() - t0
    for name, count in paths.counts.items():
        print(f"{name}: {count}")
    for name, secs in paths.seconds.items():
        print(f"{name}: {secs:.2f} s")
    print(f"total: {total:.2f} s")
    print(f"request: {paths.request_dir}\ntruth: {paths.truth}\ntaxpayers: {paths.taxpayers}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
