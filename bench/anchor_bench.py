"""What the head anchor costs: `process` before/after, and the guard and publish alone.

    python bench/anchor_bench.py --base STORE --request REQUEST_DIR \\
        [--before SRC] [--runs 3] [--entries 500000] [--pg-entries 200000]

``--base``: an initialized, loaded embedded store with the request's official registered
(its key file beside it); each run processes the request on a fresh copy. ``--before``: a
folder holding an older ``taxgate/`` package (e.g. ``git archive <commit> taxgate``), run
alternately with this tree's. Then, on a copy of the store grown to ``--entries`` ledger
entries: the median time of ``integrity.guard`` (what each guarded command adds on start)
and of publishing one anchor line (what each commit adds).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from taxgate import integrity
from taxgate.canonical import new_data_key
from taxgate.domain import LedgerEvent
from taxgate.settings import Settings
from taxgate.store import open_store

HERE = Path(__file__).resolve().parents[1]


def clone(base: Path, dest: Path) -> Path:
    shutil.copytree(base, dest)
    shutil.copy(base.parent / f"{base.name}.key", dest.parent / f"{dest.name}.key")
    return dest


def process_once(src: Path, base: Path, request: Path, work: Path) -> float:
    store = clone(base, work / "store")
    env = {**os.environ, "PYTHONPATH": str(src), "TAXGATE_STORE": str(store)}
    env.pop("TAXGATE_KEY", None)
    start = time.perf_counter()
    run = subprocess.run([sys.executable, "-m", "taxgate.cli", "process", str(request),
                          "--out", str(work / "out")], env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if run.returncode != 0:
        raise SystemExit(f"process failed ({src}): {run.stderr.strip()}")
    return seconds


def median_ms(fn, n: int) -> float:  # noqa: ANN001
    times = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times) * 1000


def micro(settings: Settings, entries: int) -> dict[str, float]:
    with open_store(settings, create=True) as s:
        s.initialize()
        head = s.ledger_head()
        have = head.seq if head else 0
        todo = max(entries - have, 0)
        while todo:
            n = min(todo, 100_000)
            s.append_events([LedgerEvent("DISCLOSURE", {"record_id": f"r{i}"}, "BENCH")
                             for i in range(n)])
            todo -= n
        head = s.ledger_head()
        assert head is not None
        out = {"ledger entries": float(head.seq)}
        out["guard (ms)"] = median_ms(lambda: integrity.guard(s), 50)
        out["publish one anchor line (ms)"] = median_ms(
            lambda: integrity.after_commit(s, head), 50)
        out["commit of one event incl. anchor (ms)"] = median_ms(
            lambda: s.append_events([LedgerEvent("DISCLOSURE", {"record_id": "x"}, "B")]), 20)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--base", type=Path, required=True)
    ap.add_argument("--request", type=Path, required=True)
    ap.add_argument("--before", type=Path)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--entries", type=int, default=500_000)
    ap.add_argument("--pg-entries", type=int, default=0,
                    help="Also time the guard and publish on PostgreSQL (a throw-away server, "
                    "as for the tests) with this many entries.")
    args = ap.parse_args()
    variants = {"after": HERE} | ({"before": args.before} if args.before else {})
    seconds: dict[str, list[float]] = {k: [] for k in variants}
    with tempfile.TemporaryDirectory(prefix="anchor-bench-") as tmp:
        for i in range(args.runs):
            for name, src in variants.items():
                work = Path(tmp) / f"{name}-{i}"
                work.mkdir()
                seconds[name].append(process_once(src, args.base.resolve(), args.request, work))
                shutil.rmtree(work)
        for name, xs in seconds.items():
            if not xs:
                continue
            print(f"process {name}: " + ", ".join(f"{x:.2f}" for x in xs)
                  + f" s (median {statistics.median(xs):.2f} s)")
        big = Settings(store=str(clone(args.base.resolve(), Path(tmp) / "big")))
        for k, v in micro(big, args.entries).items():
            print(f"embedded {k}: {v:,.3f}")
        if args.pg_entries:
            sys.path.insert(0, str(HERE / "tests"))
            from pg_server import running_server

            with running_server() as server:
                pg = Settings(store=server.url, key_hex=new_data_key(),
                              anchor_file=str(Path(tmp) / "pg.anchor.jsonl"))
                for k, v in micro(pg, args.pg_entries).items():
                    print(f"postgres {k}: {v:,.3f}")


if __name__ == "__main__":
    main()
