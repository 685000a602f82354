"""Request-size sweep: what one request costs as it grows, against one loaded store.

    python bench/scale.py sweep --size 0.1                       # about 1M filings
    python bench/scale.py sweep --size 1 --records 1280000       # about 10.3M filings
    python bench/scale.py sweep --people 2000 --records 300 --request-sizes 1,100 \\
        --repeats 2 --store-engines embedded --increment 2000 --service-requests 5

For each store engine (``--store-engines embedded,postgres``; PostgreSQL on a
throw-away server started as the tests start theirs, ``tests/pg_server.py``, or on
``--pg-url``) the real CLI builds one store: ``init``, ``load`` of the filings less the
last ``--increment`` rows, then ``load`` of those rows (the incremental load), each
timed as a whole with the stages it prints. Then for each request size (``--request-sizes``,
each capped at the request file's size) it runs ``taxgate process`` ``--repeats``
times, each on a fresh package: the first N records of the generated request (starting
with a record the truth expects CONFIRMED), a new request_id, created_at now, signed
again with the official's key. Then ``taxgate serve`` answers ``--service-requests``
one-record packages through the API (bench/scale_service.py). The bare Splink
reference (``bench/scale.py --bare``, tight blocking) runs once per request size on the
same records. Results: bench/results/scale-sweep.json and scale-sweep.md.

Modules: scale_packages (the data and packages), scale_service (the API's latency),
scale_stats (stage tables, medians, percentiles), scale_sweep_report (the markdown).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import re
import shlex
import shutil
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

from scale import (
    FULL_PEOPLE,
    FULL_RECORDS,
    RESULTS,
    ROOT,
    _quality,
    bare_reference,
    generate,
    machine,
    record_run,
    taxgate,
    timed,
)
from scale_packages import make_package, request_count, sized_records, sized_truth, split_filings
from scale_service import latency
from scale_stats import median, median_stages
from scale_sweep_report import write_markdown

DEFAULT_SIZES = "1,100,10000,100000,1280000"
ENGINES = ("embedded", "postgres")


def parse(argv: list[str]) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="bench/scale.py sweep",
                                 description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=float, default=1.0,
                    help="fraction of full size (2,000,000 people, about 10.3M filings)")
    ap.add_argument("--people", type=int, default=0, help="people, instead of --size")
    ap.add_argument("--records", type=int, default=0,
                    help="records in the generated request (default: 1,280,000 x the size)")
    ap.add_argument("--request-sizes", default=DEFAULT_SIZES,
                    help="records per request, comma-separated (each capped at the request's)")
    ap.add_argument("--repeats", type=int, default=3, help="process runs per size (median)")
    ap.add_argument("--store-engines", default="embedded,postgres",
                    help="embedded, postgres or both, comma-separated")
    ap.add_argument("--pg-url", default="",
                    help="an existing PostgreSQL server's admin URL (default: start one)")
    ap.add_argument("--increment", type=int, default=100_000,
                    help="filings loaded by a second load (0: one load)")
    ap.add_argument("--after-load", default="", metavar="ARGS",
                    help="a taxgate command run and timed after the loads, e.g. 'model train'")
    ap.add_argument("--service-requests", type=int, default=20,
                    help="one-record requests through the API (0: none)")
    ap.add_argument("--skip-bare", action="store_true", help="no bare Splink reference")
    ap.add_argument("--bare-sizes", default="",
                    help="request sizes the bare reference runs at (default: every size)")
    ap.add_argument("--workdir", default="/tmp/taxgate-scale",
                    help="data (reused when there), stores, logs")
    ap.add_argument("--seed", type=int, default=5, help="the generator's seed")
    ap.add_argument("--memory-limit", default="6GB", help="DuckDB memory_limit ('' for none)")
    ap.add_argument("--threads", type=int, default=0, help="DuckDB threads (0: all cores)")
    ap.add_argument("--timeout", type=float, default=3600,
                    help="seconds before one process or bare run is stopped (0: none)")
    ap.add_argument("--keep", action="store_true", help="keep stores, packages, responses")
    ap.add_argument("--store", default="", metavar="PATH",
                    help="an embedded store already loaded from this data, with the official "
                         "(e.g. one `bench/scale.py --keep` left): no init, load or increment; "
                         "the store is never removed")
    ap.add_argument("--notes", default="", help="a sentence recorded with the run")
    ap.add_argument("--no-record", action="store_true", help="print only, write no results")
    args = ap.parse_args(argv)
    engines = args.store_engines.split(",")
    if not set(engines) <= set(ENGINES):
        ap.error(f"--store-engines: {', '.join(ENGINES)}")
    try:
        args.sizes = [int(x.replace("_", "")) for x in args.request_sizes.split(",")]
        args.bare_at = ([int(x.replace("_", "")) for x in args.bare_sizes.split(",")]
                        if args.bare_sizes else args.sizes)
    except ValueError:
        ap.error("--request-sizes, --bare-sizes: whole numbers separated by commas")
    if min(args.sizes) < 1 or args.repeats < 1:
        ap.error("request sizes and --repeats must be at least 1")
    if args.store and engines != ["embedded"]:
        ap.error("--store: an embedded store, with --store-engines embedded")
    args.engines = engines
    return args


# --- one store engine ------------------------------------------------------------------


@contextlib.contextmanager
def store_env(engine: str, args: argparse.Namespace, work: Path) -> Iterator[dict[str, str]]:
    """The environment of the CLI on a new store of ``engine``; removed afterwards
    unless --keep (a PostgreSQL server started here always goes)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "200",
           "XDG_CONFIG_HOME": str(work / "xdg" / "config"),
           "XDG_STATE_HOME": str(work / "xdg" / "state"), "TAXGATE_SPOOL": str(work / "spool"),
           "XDG_CACHE_HOME": str(work / "xdg" / "cache")}  # PostgreSQL's matching replica
    for name in ("TAXGATE_KEY", "TAXGATE_DEBUG", "TAXGATE_STORE", "TAXGATE_ENGINE"):
        env.pop(name, None)
    if args.memory_limit:
        env["TAXGATE_MEMORY_LIMIT"] = args.memory_limit
    if args.threads:
        env["TAXGATE_THREADS"] = str(args.threads)
    if engine == "embedded":
        env["TAXGATE_STORE"] = str(Path(args.store).resolve() if args.store else work / "store")
        yield env
        return
    with contextlib.ExitStack() as stack:
        admin = args.pg_url or _pg_server(stack)
        env["TAXGATE_STORE"] = _pg_database(admin, stack, drop=not args.keep)
        from taxgate.canonical import new_data_key

        env["TAXGATE_KEY"] = new_data_key()
        yield env


def _pg_server(stack: contextlib.ExitStack) -> str:
    """A throw-away PostgreSQL server, as the tests start theirs (tests/pg_server.py)."""
    sys.path.insert(0, str(ROOT / "tests"))
    from pg_server import running_server

    return stack.enter_context(running_server()).url


def _pg_database(admin: str, stack: contextlib.ExitStack, drop: bool) -> str:
    import psycopg

    name = f"taxgate_bench_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin, autocommit=True) as con:
        con.execute(f'CREATE DATABASE "{name}"')
    if drop:
        def _drop() -> None:
            with psycopg.connect(admin, autocommit=True) as con:
                con.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        stack.callback(_drop)
    return f"{admin.rpartition('/')[0]}/{name}"


def load(env: dict[str, str], path: Path, log: Path) -> dict:
    """``taxgate load`` of one file, timed as a whole, with the stages it printed."""
    before = os.getloadavg()[0]
    run = timed(taxgate("load", str(path)), env, log)
    said = re.search(r"loaded ([\d,]+) filings(?: \(([\d,]+) in the store\))?", log.read_text())
    def _n(i: int) -> int | None:
        return int(said.group(i).replace(",", "")) if said and said.group(i) else None
    return {**run, "filings": _n(1), "filings_in_store": _n(2), "load_average": before}


def sweep_size(args: argparse.Namespace, env: dict[str, str], data: Path, k: int,
               work: Path) -> dict:
    """``--repeats`` runs of ``taxgate process`` on fresh packages of ``k`` records."""
    records = sized_records(data, k)
    runs: list[dict] = []
    quality: dict = {}
    for rep in range(args.repeats):
        rid = f"BENCH-{k}-{rep}-{uuid.uuid4().hex[:10]}"
        pkg = make_package(data, records, work / "packages" / rid, rid)
        out = work / "responses" / rid
        before = os.getloadavg()[0]
        run = timed(taxgate("process", str(pkg), "--out", str(out)), env,
                    work / "logs" / f"process-{k}-{rep}.log", args.timeout or None,
                    failure_ok=True)
        runs.append({**run, "load_average": before})
        stopped = run.get("timed_out") or run.get("failed")
        if rep == 0 and not stopped:
            from taxgate.evaluate import evaluate

            quality = _quality(evaluate(out / "results.csv", sized_truth(data, records)))
        if not args.keep:
            shutil.rmtree(pkg, ignore_errors=True)
            shutil.rmtree(out, ignore_errors=True)
        if stopped:
            break
    walls = [r["wall_s"] for r in runs if not (r.get("timed_out") or r.get("failed"))]
    return {"records": k, "runs": runs, "median_wall_s": median(walls),
            "min_wall_s": min(walls, default=None), "max_wall_s": max(walls, default=None),
            "timed_out": any(r.get("timed_out") for r in runs),
            "failed": next((r["failed"] for r in runs if r.get("failed")), None),
            "median_stages": median_stages([r["stages"] for r in runs if r["stages"]]),
            "peak_rss_gib": max((r["peak_rss_gib"] or 0 for r in runs), default=None),
            "quality": quality}


def run_engine(args: argparse.Namespace, engine: str, data: Path,
               parts: tuple[Path, Path | None], sizes: list[int], root: Path) -> dict:
    """One store of ``engine``: its loads, the sweep, the service's latency."""
    work = root / f"sweep-{engine}"
    shutil.rmtree(work, ignore_errors=True)
    (work / "logs").mkdir(parents=True)
    print(f"== {engine}", flush=True)
    with store_env(engine, args, work) as env:
        if args.store:  # loaded already: only requests
            return {"engine": engine, "store": "given (--store)", "first_load": None,
                    "increment_load": None, "after_load": None,
                    **_requests(args, env, data, sizes, work)}
        timed(taxgate("init"), env, work / "logs" / "init.log")
        first = load(env, parts[0], work / "logs" / "load-first.log")
        print(f"   load        {first['wall_s']:8.1f} s  {first['peak_rss_gib']:5.2f} GiB  "
              f"{first['filings'] or 0:,} filings {first['stages']}", flush=True)
        inc = None
        if parts[1] is not None:
            inc = load(env, parts[1], work / "logs" / "load-increment.log")
            print(f"   increment   {inc['wall_s']:8.1f} s  {inc['peak_rss_gib']:5.2f} GiB  "
                  f"{inc['filings'] or 0:,} filings {inc['stages']}", flush=True)
        after = None
        if args.after_load:  # e.g. an explicit training step, timed like a load
            before = os.getloadavg()[0]
            after = {**timed(taxgate(*shlex.split(args.after_load)), env,
                             work / "logs" / "after-load.log"),
                     "command": args.after_load, "load_average": before}
            print(f"   {args.after_load}  {after['wall_s']:8.1f} s  "
                  f"{after['peak_rss_gib']:5.2f} GiB  {after['stages']}", flush=True)
        timed(taxgate("officials", "add", "ice-director", "--agency", "DHS-ICE", "--title",
                      "Director", "--public-key", str(data / "official_key.pub.pem"),
                      "--valid-from", "2026-01-01"), env, work / "logs" / "officials.log")
        measured = _requests(args, env, data, sizes, work)
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    return {"engine": engine, "first_load": first, "increment_load": inc,
            "after_load": after, **measured}


def _requests(args: argparse.Namespace, env: dict[str, str], data: Path, sizes: list[int],
              work: Path) -> dict:
    """The sweep over request sizes on the store ``env`` names, then the service's
    latency for one-record requests."""
    out = []
    for k in sizes:
        s = sweep_size(args, env, data, k, work)
        out.append(s)
        print(f"   process {k:>9,}  median {s['median_wall_s'] or 0:8.2f} s  "
              f"{s['peak_rss_gib'] or 0:5.2f} GiB  {s['median_stages']}", flush=True)
    service = None
    if args.service_requests:
        one = sized_records(data, 1)
        try:
            service = latency(
                env, lambda rid: make_package(data, one, work / "api" / rid, rid),
                args.service_requests, work / "logs" / "serve.log")
        except SystemExit as exc:  # the sweep's figures stay; the table says why
            service = {"requests": args.service_requests, "failed": str(exc)[:300]}
        print(f"   service     p50 {service.get('p50_s')} s  p99 {service.get('p99_s')} s"
              f"  (first {service.get('first_s')} s) "
              f"{service.get('states') or service.get('failed')}", flush=True)
    return {"sizes": out, "service": service}


def run_bare(args: argparse.Namespace, data: Path, sizes: list[int], root: Path) -> dict:
    """The bare Splink reference once per request size, on the same records."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out: dict[str, dict] = {}
    for k in sizes:
        log = root / "sweep-bare" / f"bare-{k}.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        before = os.getloadavg()[0]
        out[str(k)] = {**bare_reference(data, env, log, args, sized_records(data, k)),
                       "load_average": before}
        b = out[str(k)]
        print(f"   bare    {k:>9,}  {b['wall_s']:8.2f} s  {b['peak_rss_gib'] or 0:5.2f} GiB  "
              f"{b['pairs']:,} pairs {b.get('failed') or ''}", flush=True)
    return out


def main(argv: list[str]) -> None:
    args = parse(argv)
    people = args.people or round(FULL_PEOPLE * args.size)
    records = args.records or round(FULL_RECORDS * people / FULL_PEOPLE)
    root = Path(args.workdir).resolve()
    data, gen_s = generate(root, people, records, args.seed)
    have = request_count(data)
    sizes = sorted({min(k, have) for k in args.sizes})
    parts = split_filings(data, args.increment)
    print(f"== sweep: {people:,} people, request of {have:,} records, sizes {sizes}",
          flush=True)
    run = {
        "started_at": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "command": "python bench/scale.py sweep " + shlex.join(argv),
        "machine": machine(),
        "settings": {"memory_limit": args.memory_limit, "threads": args.threads or "all",
                     "repeats": args.repeats, "increment": args.increment},
        "notes": args.notes, "people": people, "request_records": have,
        "generate_s": round(gen_s, 1), "sizes": sizes,
        "bare_splink": None if args.skip_bare else run_bare(
            args, data, sorted({min(k, have) for k in args.bare_at}), root),
        "engines": [],
    }
    for engine in args.engines:
        run["engines"].append(run_engine(args, engine, data, parts, sizes, root))
        # what is done so far, should a later engine fail
        (root / "sweep-partial.json").write_text(json.dumps(run, indent=1))
    run["load_average_at_end"] = os.getloadavg()[0]
    if args.no_record:
        print(json.dumps(run, indent=1))
        return
    record_run(run, args.workdir, "scale-sweep",
               lambda done: write_markdown(RESULTS / "scale-sweep.md", done))


if __name__ == "__main__":
    main(sys.argv[1:])
