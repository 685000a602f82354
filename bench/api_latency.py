"""The fixed cost of one job: one-record requests in one process and through the service.

On the demo world of ``python -m taxgate.demo --workdir WORLD`` (its store, its signed
request and truth), each mode works on a fresh copy of the store:

- ``inproc``: one :class:`taxgate.gateway.Gateway` answers ``--requests`` one-record
  packages in turn (``Gateway.process``, as the service's job worker calls it) after a
  first one, timed apart; the median, the largest and the first request's stage table.
- ``service``: ``taxgate serve`` and ``--requests`` uploads, upload to signed response
  (bench/scale_service.py), after a first one.
- ``cli``: ``taxgate process`` of a one-record package, ``--requests`` times, wall
  seconds including the interpreter's start.

The one-record package is the request's first record the truth expects CONFIRMED
(bench/scale_packages.py), signed again with a new request id and created_at now. ::

    python -m taxgate.demo --workdir /tmp/world --people 2000 --records 300
    python bench/api_latency.py --world /tmp/world --workdir /tmp/lat --requests 20
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from scale_packages import make_package, sized_records
from scale_service import latency
from scale_stats import median, percentile


def _store_copy(world: Path, dest: Path) -> dict[str, str]:
    """A copy of the world's store (and its key and anchor) in ``dest``; its env."""
    shutil.rmtree(dest, ignore_errors=True)
    dest.mkdir(parents=True)
    shutil.copytree(world / "store", dest / "store")
    for name in ("store.key", "store.anchor.jsonl"):
        if (world / name).exists():
            shutil.copy(world / name, dest / name)
    env = {**os.environ, "TAXGATE_STORE": str(dest / "store")}
    env.pop("TAXGATE_KEY", None)
    return env


class Packages:
    """Fresh signed one-record packages of the world's request."""

    def __init__(self, world: Path, dest: Path) -> None:
        self.data, self.dest, self.n = world / "synthetic", dest, 0
        self.records = sized_records(self.data, 1)

    def __call__(self, request_id: str | None = None) -> Path:
        self.n += 1
        rid = request_id or f"BENCH-LAT-{os.getpid()}-{int(time.time())}-{self.n}"
        return make_package(self.data, self.records, self.dest / f"pkg{self.n}", rid)


def _summary(seconds: list[float]) -> dict:
    return {"p50_s": round(median(seconds) or 0, 3),
            "p99_s": round(percentile(seconds, 99) or 0, 3),
            "max_s": round(max(seconds), 3), "seconds": [round(s, 3) for s in seconds]}


def inproc(world: Path, work: Path, count: int) -> dict:
    """``Gateway.process`` of ``count`` one-record packages in this process."""
    env = _store_copy(world, work)
    os.environ.update(TAXGATE_STORE=env["TAXGATE_STORE"])
    os.environ.pop("TAXGATE_KEY", None)
    from taxgate.cli._common import settings_for
    from taxgate.gateway import Gateway

    packages, seconds, first = Packages(world, work), [], {}
    with Gateway(settings_for(None)) as gw:
        for i in range(count + 1):
            pkg = packages()
            start = time.perf_counter()
            result = gw.process(pkg, work / f"out{i}")
            took = time.perf_counter() - start
            if i == 0:
                first = {"first_s": round(took, 3), "stages": {
                    k: round(v, 3) for k, v in result.timings.stages.items()}}
            else:
                seconds.append(took)
            if result.exit_code != 0:
                raise SystemExit(f"request {i} answered exit {result.exit_code}")
    return {**first, **_summary(seconds)}


def cli(world: Path, work: Path, count: int) -> dict:
    """``taxgate process`` of a one-record package, ``count`` times."""
    env = _store_copy(world, work)
    packages, seconds = Packages(world, work), []
    for i in range(count):
        pkg = packages()
        start = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "taxgate.cli", "process", str(pkg),
                               "--out", str(work / f"out{i}")], env=env,
                              capture_output=True, text=True, timeout=600)
        seconds.append(time.perf_counter() - start)
        if done.returncode != 0:
            raise SystemExit(f"taxgate process failed ({done.returncode}): {done.stderr[-300:]}")
    return _summary(seconds)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--world", type=Path, required=True, help="a taxgate.demo --workdir")
    ap.add_argument("--workdir", type=Path, required=True)
    ap.add_argument("--requests", type=int, default=20)
    ap.add_argument("--modes", default="inproc,service,cli")
    args = ap.parse_args()
    world, work = args.world.resolve(), args.workdir.resolve()
    out: dict = {"load_before": os.getloadavg()}
    for mode in args.modes.split(","):
        where = work / mode
        if mode == "inproc":
            out[mode] = inproc(world, where, args.requests)
        elif mode == "service":
            env = _store_copy(world, where)
            out[mode] = latency(env, Packages(world, where), args.requests,
                                where / "serve.log")
        elif mode == "cli":
            out[mode] = cli(world, where, min(args.requests, 5))
        else:
            raise SystemExit(f"unknown mode {mode!r}: inproc, service or cli")
    out["load_after"] = os.getloadavg()
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
