"""The PostgreSQL store's matching replica: what one `taxgate process` costs with it and
without it, on one store, in one run.

    python bench/pg_replica.py --people 20000 --request-sizes 1,100 --workdir /tmp/pgr

One PostgreSQL store on a throw-away server (as bench/scale.py sweep starts one):
``init``, ``load`` of the generated filings (the sweep's data in --workdir is reused),
the official. Then per request size, each run on a fresh package:

- ``memory``: ``TAXGATE_PG_REPLICA=off``, every chunk decrypted and indexed in the
  process's memory (what every process paid before the replica);
- ``cold``: a replica path that does not exist yet (a host's first process: every
  chunk unsealed into it and indexed);
- ``warm`` (``--repeats`` times): the replica ``load`` made on this host (a later process).

Each is timed as a whole under ``/usr/bin/time -v`` (wall seconds, peak RSS) with the
stage table it prints (the filings are opened in ``intake``) and the load average
before it. Prints JSON; ``--record`` appends it to bench/results/pg-replica.json.

``--open-only`` times just what the replica changes, at sizes where training would
cost more than the run: the load is given a placeholder model (so nothing is trained),
and each run is a new Python process that opens the store and times
``matching_connection()`` alone (seconds, the chunks it unsealed, its peak RSS), in the
same three modes.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import sys
import uuid
from pathlib import Path

from scale import RESULTS, generate, machine, taxgate, timed
from scale_packages import make_package, sized_records
from scale_stats import median
from scale_sweep import load, store_env


def parse(argv: list[str]) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="bench/pg_replica.py", description=__doc__.split("\n")[0])
    ap.add_argument("--people", type=int, default=20_000)
    ap.add_argument("--records", type=int, default=2_000, help="records in the request file")
    ap.add_argument("--request-sizes", default="1,100")
    ap.add_argument("--repeats", type=int, default=2, help="warm runs per size")
    ap.add_argument("--workdir", default="/tmp/pg-replica-bench")
    ap.add_argument("--seed", type=int, default=5, help="the generator's seed (the sweep's)")
    ap.add_argument("--memory-limit", default="6GB")
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--pg-url", default="", help="an existing server's admin URL")
    ap.add_argument("--record", action="store_true", help="append to bench/results")
    ap.add_argument("--open-only", action="store_true",
                    help="time matching_connection() alone; no model is trained")
    args = ap.parse_args(argv)
    args.sizes = [int(k) for k in args.request_sizes.split(",")]
    args.keep = False
    if args.open_only:
        args.sizes = [0]  # no request: one round of the modes
    return args


def one_run(env: dict[str, str], data: Path, k: int, work: Path, mode: str) -> dict:
    """One `taxgate process` of a fresh ``k``-record package."""
    rid = f"BENCH-{mode}-{k}-{uuid.uuid4().hex[:8]}"
    pkg = make_package(data, sized_records(data, k), work / "packages" / rid, rid)
    before = os.getloadavg()[0]
    run = timed(taxgate("process", str(pkg), "--out", str(work / "responses" / rid)), env,
                work / "logs" / f"{rid}.log")
    shutil.rmtree(pkg, ignore_errors=True)
    return {"mode": mode, "records": k, **run, "load_average": before}


_OPEN = """
import json, resource, sys, time
from taxgate.settings import Settings
from taxgate.store import open_store
with open_store(Settings.from_env()) as st:
    start = time.perf_counter()
    n = st.matching_connection().execute("SELECT count(*) FROM filings").fetchone()[0]
    took = time.perf_counter() - start
    print(json.dumps({"open_s": round(took, 3), "filings": n, "unsealed": st.chunks_unsealed,
                      "peak_rss_gib": round(resource.getrusage(resource.RUSAGE_SELF)
                                            .ru_maxrss / 2**20, 2)}))
"""


def open_run(env: dict[str, str], k: int, mode: str) -> dict:
    """One new process that opens the store and times matching_connection() alone."""
    import subprocess

    before = os.getloadavg()[0]
    proc = subprocess.run([sys.executable, "-c", _OPEN], env=env, capture_output=True,
                          text=True, check=True)
    said = json.loads(proc.stdout.strip().splitlines()[-1])  # DuckDB may print progress
    return {"mode": mode, "records": k, **said, "load_average": before}


def placeholder_model(env: dict[str, str]) -> None:
    """A model row, so that `load` trains none (--open-only: no process is answered)."""
    import subprocess

    code = ("from taxgate.settings import Settings\nfrom taxgate.store import open_store\n"
            "with open_store(Settings.from_env()) as st:\n    st.save_model('bench', '{}')")
    subprocess.run([sys.executable, "-c", code], env=env, check=True)


def main(argv: list[str]) -> None:
    args = parse(argv)
    root = Path(args.workdir).resolve()
    data, _ = generate(root, args.people, args.records, args.seed)
    work = root / "pg-replica"
    shutil.rmtree(work, ignore_errors=True)
    (work / "logs").mkdir(parents=True)
    out: dict = {"started_at": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
                 "command": "python bench/pg_replica.py " + " ".join(argv),
                 "machine": machine(), "people": args.people, "runs": []}
    with store_env("postgres", args, work) as env:
        timed(taxgate("init"), env, work / "logs" / "init.log")
        if args.open_only:
            placeholder_model(env)
        out["load"] = load(env, data / "taxpayers.parquet", work / "logs" / "load.log")
        timed(taxgate("officials", "add", "ice-director", "--agency", "DHS-ICE", "--title",
                      "Director", "--public-key", str(data / "official_key.pub.pem"),
                      "--valid-from", "2026-01-01"), env, work / "logs" / "officials.log")
        for k in args.sizes:
            modes = [("memory", {"TAXGATE_PG_REPLICA": "off"}),
                     ("cold", {"TAXGATE_PG_REPLICA": str(work / f"cold-{k}.duckdb")}),
                     *[("warm", {})] * args.repeats]
            for mode, extra in modes:
                run = (open_run({**env, **extra}, k, mode) if args.open_only
                       else one_run({**env, **extra}, data, k, work, mode))
                out["runs"].append(run)
                print(f"   {mode:6} {k:>6,}  {json.dumps(run)}", flush=True)
    key = "open_s" if args.open_only else "wall_s"
    out["medians"] = {f"{m}-{k}": median([r[key] for r in out["runs"]
                                          if r["mode"] == m and r["records"] == k])
                      for k in args.sizes for m in ("memory", "cold", "warm")}
    out["load_average_at_end"] = os.getloadavg()[0]
    shutil.rmtree(work, ignore_errors=True)
    print(json.dumps(out, indent=1))
    if args.record:
        path = RESULTS / "pg-replica.json"
        runs = json.loads(path.read_text()) if path.exists() else []
        path.write_text(json.dumps([*runs, out], indent=1) + "\n")


if __name__ == "__main__":
    main(sys.argv[1:])
