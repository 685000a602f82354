"""Near-miss benchmark: taxgate, plain Splink and the zip proxy on a labeled set built from
public tables (R23, R24, R26; issue 12 item 8), plus the contradicting-name probe.

    python -m bench.nearmiss --seed 1 --out bench/results/nearmiss.md

Builds the set (bench/nearmiss/package.py, seeded), runs the real CLI flow (init, load,
officials add, process) on a fresh embedded store, scores the answer per kind, then
scores the two baselines of bench/quality.py on the very same data, and finally runs
the probe on the demo's world (bench/nearmiss/probe.py). Writes a markdown report
(appended) and a JSON file beside it (replaced).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

import duckdb

from bench.nearmiss.flow import prepare, process
from bench.nearmiss.misses import KINDS
from bench.nearmiss.package import NearMissSet, build
from bench.nearmiss.probe import run_probe
from bench.nearmiss.report import render
from bench.nearmiss.score import score, totals


def baselines(s: NearMissSet, results: Path, seed: int) -> dict[str, Path]:
    """bench/quality.py's plain Splink and zip proxy on the same filings and request."""
    from bench.quality import _lawful, plain_splink, zip_proxy

    con = duckdb.connect()
    _lawful(con, s.request_dir / "records.csv", results)
    con.execute(f"CREATE TABLE tp AS SELECT * FROM read_csv('{s.taxpayers}', all_varchar=true)")
    out = {"plain Splink": s.workdir / "plain_splink.csv",
           "zip proxy": s.workdir / "zip_proxy.csv"}
    zip_proxy(con, out["zip proxy"])
    plain_splink(con, seed, out["plain Splink"])
    con.close()
    return out


def _command(argv: list[str]) -> str:
    """The command line as run, less the local work folder."""
    shown, skip = ["python -m bench.nearmiss"], False
    for a in argv:
        if skip or a.startswith("--workdir"):
            skip = a == "--workdir"
            continue
        shown.append(a)
    return " ".join(shown)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--background", type=int, default=20_000,
                    help="ordinary filers besides the labeled targets")
    ap.add_argument("--per-kind", type=int, default=150, help="records per variant kind")
    ap.add_argument("--near-miss-per-kind", type=int, default=150)
    ap.add_argument("--probe-people", type=int, default=20_000, help="the demo's default")
    ap.add_argument("--probe-records", type=int, default=2_000, help="the demo's default")
    ap.add_argument("--probe-seed", type=int, default=2026, help="the demo's default")
    ap.add_argument("--no-baselines", action="store_true")
    ap.add_argument("--no-probe", action="store_true")
    ap.add_argument("--workdir", default=None, help="kept when given; else a temp folder")
    ap.add_argument("--out", default=None, help="append the markdown report to this file; "
                    "the JSON goes beside it")
    args = ap.parse_args(argv)
    base = Path(args.workdir or tempfile.mkdtemp(prefix="tg-nearmiss-"))
    if base.exists() and args.workdir:
        shutil.rmtree(base)
    t: dict[str, float] = {}
    t0 = time.perf_counter()
    s = build(base / "set", seed=args.seed, background=args.background,
              per_kind=args.per_kind, near_miss_per_kind=args.near_miss_per_kind,
              full_tables=True)
    t["build set"] = time.perf_counter() - t0
    t.update(prepare(base / "store", s.taxpayers, s.public_key))
    results, t["process"] = process(base / "store", s.request_dir, base / "response")
    systems = {"taxgate": score(results, s.truth)}
    if not args.no_baselines:
        t0 = time.perf_counter()
        for name, path in baselines(s, results, args.seed).items():
            systems[name] = score(path, s.truth)
        t["baselines"] = time.perf_counter() - t0
    probe = None
    if not args.no_probe:
        t0 = time.perf_counter()
        probe = run_probe(base / "probe", people=args.probe_people,
                          records=args.probe_records, seed=args.probe_seed)
        t["probe"] = time.perf_counter() - t0
    data = {
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "command": _command(argv if argv is not None else sys.argv[1:]),
        "machine": f"{platform.node()} {platform.machine()}, {os.cpu_count()} CPU cores "
                   f"(shared), Python {platform.python_version()}, DuckDB {duckdb.__version__}",
        "sizes": {**s.counts, "per_kind": args.per_kind,
                  "near_miss_per_kind": args.near_miss_per_kind, "seed": args.seed},
        "seconds": {k: round(v, 1) for k, v in t.items()},
        "kinds": {k.name: k.what for k in KINDS},
        "systems": {name: {"totals": totals(sc), "kinds": [x.as_dict() for x in sc.values()]}
                    for name, sc in systems.items()},
        "probe": probe,
    }
    text = render(data)
    print(text)
    if args.out:
        out = Path(args.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        with out.open("a", encoding="utf-8") as fh:
            fh.write(text)
        out.with_suffix(".json").write_text(json.dumps(data, indent=1) + "\n",
                                            encoding="utf-8")
    if not args.workdir:
        shutil.rmtree(base, ignore_errors=True)
