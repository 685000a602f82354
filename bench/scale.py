"""Scale benchmark: `taxgate load` and `taxgate process` end to end, at three sizes.

    .venv/bin/python bench/scale.py                         # 1/100, 1/10 and full size
    .venv/bin/python bench/scale.py --sizes 0.01,0.1        # the small ones only
    .venv/bin/python bench/scale.py --memory-limit 6GB --threads 2 --engine duckdb

Full size is 2,000,000 synthetic people (about 10.3 million filings) and a request of
1,280,000 records, made by the project's generator (``python -m taxgate.synth``,
seeded; data is reused from --workdir when already there). For each size the real
CLI runs in a fresh store: ``init``, ``load``, ``officials add``, ``process``, each
under ``/usr/bin/time -v`` for wall time and peak resident memory; the stage timings
are read from the table each command prints. The response is scored against the
generator's truth (taxgate.evaluate). Then a bare Splink 5 run on the same raw files
(simple cleaning, four tight blocking rules, default m/u, ``predict``) gives the
reference cost of candidate generation and scoring alone (``--bare`` runs only that);
before its predict it counts the pairs its rules join, so a run that does not finish
still says how many it had to score (the count's seconds are not in its time).

Results are appended to bench/results/scale.json and bench/results/scale.md is
rewritten from it, with the command that made them and the machine they ran on.
"""

from __future__ import annotations

import argparse
import compileall
import datetime as dt
import json
import os
import platform
import re
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from scale_stats import stage_seconds

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
FULL_PEOPLE = 2_000_000
FULL_RECORDS = 1_280_000
TIME = "/usr/bin/time"

# --- the machine -------------------------------------------------------------------------


def machine() -> dict:
    mem_kb = 0
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal:"):
                mem_kb = int(line.split()[1])
    cpu = platform.processor() or ""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return {
        "cores": os.cpu_count(),
        "memory_gib": round(mem_kb / 2**20, 1),
        "cpu": cpu,
        "python": platform.python_version(),
        "load_average_at_start": os.getloadavg()[0],
    }


# --- running a command -------------------------------------------------------------------

def timed(cmd: list[str], env: dict[str, str], log: Path, timeout: float | None = None,
          failure_ok: bool = False) -> dict:
    """Run ``cmd`` under /usr/bin/time -v; wall seconds, peak RSS and its stage table.
    Past ``timeout`` seconds the command is stopped and the result says so; a failure
    stops the benchmark unless ``failure_ok`` (then the result says how it failed)."""
    full = [TIME, "-v", *cmd]
    start = time.perf_counter()
    try:
        proc = subprocess.run(full, env=env, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        log.write_text(f"$ {shlex.join(cmd)}\ntimed out after {timeout} s\n{exc.stderr or ''}")
        return {"wall_s": round(time.perf_counter() - start, 2), "peak_rss_gib": None,
                "stages": {}, "timed_out": True}
    wall = time.perf_counter() - start
    log.write_text(f"$ {shlex.join(cmd)}\n{proc.stdout}\n{proc.stderr}")
    if proc.returncode != 0:
        if not failure_ok:
            raise SystemExit(f"{shlex.join(cmd)} failed ({proc.returncode}); see {log}")
        said = [ln for ln in (proc.stderr + proc.stdout).splitlines() if "Error" in ln]
        rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", proc.stderr)
        return {"wall_s": round(wall, 2), "stages": {},
                "peak_rss_gib": round(int(rss.group(1)) / 2**20, 2) if rss else None,
                "failed": f"exit {proc.returncode}: {(said[-1:] or [''])[0].strip()[:160]}"}
    rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", proc.stderr)
    return {
        "wall_s": round(wall, 2),
        "peak_rss_gib": round(int(rss.group(1)) / 2**20, 2) if rss else None,
        "stages": stage_seconds(proc.stdout),
    }


def taxgate(*args: str) -> list[str]:
    return [sys.executable, "-m", "taxgate.cli", *args]


# --- one size ----------------------------------------------------------------------------


def generate(workdir: Path, people: int, records: int, seed: int) -> tuple[Path, float]:
    data = workdir / f"data-p{people}-r{records}-s{seed}"
    done = data / ".complete"
    if done.exists():
        return data, float(done.read_text() or 0)
    shutil.rmtree(data, ignore_errors=True)
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "taxgate.synth", "--workdir", str(data), "--people", str(people),
         "--records", str(records), "--seed", str(seed), "--format", "parquet"],
        check=True, capture_output=True)
    secs = time.perf_counter() - start
    done.write_text(f"{secs:.2f}")
    return data, secs


def run_size(args: argparse.Namespace, fraction: float) -> dict:
    people = round(FULL_PEOPLE * fraction)
    records = round(FULL_RECORDS * fraction)
    workdir = Path(args.workdir).resolve()
    data, gen_s = generate(workdir, people, records, args.seed)
    label = f"p{people}"
    store = workdir / f"store-{label}"
    logs = workdir / f"logs-{label}"
    # a store's key file and head anchor live beside it (docs/store.md): a new store
    # beside an old anchor is refused by the ledger check, as it should be
    for p in (store, store.with_name(store.name + ".key"),
              store.with_name(store.name + ".anchor.jsonl"), logs, workdir / f"response-{label}"):
        if p.is_dir():
            shutil.rmtree(p)
        elif p.exists():
            p.unlink()
    logs.mkdir(parents=True)
    env = {**os.environ, "TAXGATE_STORE": str(store), "PYTHONPATH": str(ROOT)}
    env.pop("TAXGATE_KEY", None)
    if args.memory_limit:
        env["TAXGATE_MEMORY_LIMIT"] = args.memory_limit
    if args.threads:
        env["TAXGATE_THREADS"] = str(args.threads)
    if args.engine == "spark":
        env["TAXGATE_SPARK_INDEX"] = args.spark_index
        if args.spark_master:
            env["TAXGATE_SPARK_MASTER"] = args.spark_master
    print(f"== {fraction:g} of full size: {people:,} people, {records:,} records", flush=True)
    timed(taxgate("init"), env, logs / "init.log")
    load = timed(taxgate("load", str(data / "taxpayers.parquet")), env, logs / "load.log")
    filings = int(re.search(r"loaded ([\d,]+) filings", (logs / "load.log").read_text())
                  .group(1).replace(",", ""))
    print(f"   load    {load['wall_s']:8.1f} s  {load['peak_rss_gib']:5.2f} GiB  "
          f"{filings:,} filings", flush=True)
    timed(taxgate("officials", "add", "ice-director", "--agency", "DHS-ICE", "--title",
                  "Director", "--public-key", str(data / "official_key.pub.pem"),
                  "--valid-from", "2026-01-01"), env, logs / "officials.log")
    response = workdir / f"response-{label}"
    cmd = ["process", str(data / "request"), "--out", str(response)]
    if args.engine != "duckdb":
        cmd += ["--engine", args.engine]
    proc = timed(taxgate(*cmd), env, logs / "process.log", args.timeout or None)
    print(f"   process {proc['wall_s']:8.1f} s  {proc['peak_rss_gib'] or 0:5.2f} GiB  "
          f"{'TIMED OUT' if proc.get('timed_out') else proc['stages']}", flush=True)
    from taxgate.evaluate import evaluate

    quality = {}
    if not proc.get("timed_out"):
        quality = _quality(evaluate(response / "results.csv", data / "truth.csv"))
        print(f"   quality {quality}", flush=True)
    bare = None
    if not args.skip_bare:
        bare = bare_reference(data, env, logs / "bare.log", args)
        print(f"   bare    {bare['wall_s']:8.1f} s  {bare['peak_rss_gib'] or 0:5.2f} GiB  "
              f"{bare['pairs']:,} pairs of {sum((bare.get('blocked_pairs') or {}).values()):,} "
              f"blocked {bare.get('failed') or ''}", flush=True)
    if not args.keep:
        shutil.rmtree(store, ignore_errors=True)
    return {
        "fraction": fraction, "people": people, "filings": filings, "records": records,
        "generate_s": round(gen_s, 1), "load": load, "process": proc, "quality": quality,
        "bare_splink": bare, "load_average_after": os.getloadavg()[0],
    }


def bare_reference(data: Path, env: dict[str, str], log: Path, args: argparse.Namespace,
                   records: Path | None = None) -> dict:
    """The bare Splink run (``--bare``) in its own process, timed like the CLI: its wall
    time without the pair count, peak memory, pairs, and the pairs its rules join.
    ``args`` gives memory_limit, threads and timeout; ``records``, another records file."""
    cmd = [sys.executable, str(Path(__file__).resolve()), "--bare", str(data)]
    if records is not None:
        cmd += ["--bare-records", str(records)]
    if args.memory_limit:
        cmd += ["--memory-limit", args.memory_limit]
    if args.threads:
        cmd += ["--threads", str(args.threads)]
    run = timed(cmd, env, log, args.timeout or None, failure_ok=True)
    text = log.read_text() if log.exists() else ""
    if run.get("timed_out") or run.get("failed"):
        out = {**run, "pairs": 0}
    else:
        out = {**json.loads(text.split("BARE ", 1)[1].split("\n")[0]),
               "wall_s": run["wall_s"], "peak_rss_gib": run["peak_rss_gib"]}
    if "BARE_BLOCKED " in text:
        said = json.loads(text.split("BARE_BLOCKED ", 1)[1].split("\n")[0])
        out["blocked_pairs"] = said["pairs"]
        out["count_s"] = said["count_s"]
        out["wall_s"] = round(out["wall_s"] - said["count_s"], 2)
    return out


def _quality(ev: Any) -> dict:
    return {
        "records": ev.total,
        "false_confirmations": ev.false_confirmations,
        "true_confirmations": ev.true_confirmations,
        "expected_confirmations": ev.expected_confirmations,
        "recall": round(ev.recall, 4),
        "review_rate": round(ev.review_rate, 4),
        "wrong_rejections": ev.wrong_rejections,
        "missed_rejections": ev.missed_rejections,
    }


# --- the bare Splink reference ----------------------------------------------------------

_SOUNDEX = """
CREATE OR REPLACE MACRO sdx(s) AS (
  WITH t AS (SELECT regexp_replace(upper(coalesce(s, '')), '[^A-Z]', '', 'g') AS u)
  SELECT CASE WHEN u = '' THEN NULL ELSE rpad(left(u, 1) || replace(substr(
    regexp_replace(regexp_replace(regexp_replace(regexp_replace(regexp_replace(regexp_replace(
      translate(u, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', '01230120022455012623010202'),
      '1+', '1', 'g'), '2+', '2', 'g'), '3+', '3', 'g'), '4+', '4', 'g'), '5+', '5', 'g'),
      '6+', '6', 'g'), 2), '0', ''), 4, '0')[1:4] END FROM t)
"""

_BARE_COLS = """
  upper(trim(first_name)) AS first_name, upper(trim(last_name)) AS last_name,
  left(upper(trim(first_name)), 1) AS first_initial, sdx(last_name) AS last_sdx,
  try_cast(date_of_birth AS DATE) AS dob,
  nullif(regexp_extract(street_address, '^\\s*(\\d+)', 1), '') AS house_number,
  upper(trim(street_address)) AS street, upper(trim(city)) AS city, left(zip, 5) AS zip5
"""


BARE_MAX_SPILL = "40GB"
# ZIP + house number; DOB + first initial; soundex(last) + city + first initial; first + last
_BARE_RULES = (("zip5", "house_number"), ("dob", "first_initial"),
               ("last_sdx", "city", "first_initial"), ("first_name", "last_name"))


def _key_pairs(con: Any, cols: tuple[str, ...]) -> int:
    """Request x filing pairs sharing a value of every column of ``cols``."""
    key = ", ".join(cols)
    given = " AND ".join(f"{c} IS NOT NULL" for c in cols)
    row = con.execute(f"""
        SELECT coalesce(sum(a.n * b.n), 0)
        FROM (SELECT {key}, count(*) AS n FROM r WHERE {given} GROUP BY ALL) a
        JOIN (SELECT {key}, count(*) AS n FROM f WHERE {given} GROUP BY ALL) b USING ({key})
    """).fetchone()
    return int(row[0])


def bare(data: Path, memory_limit: str, threads: int, records: Path | None = None) -> None:
    """Bare Splink 5 on the raw files: the reference cost of blocking + predict (the
    request's records, or the records file ``records`` when given)."""
    import logging

    import duckdb
    import splink.comparison_library as cl
    from splink import DuckDBAPI, Linker, SettingsCreator, block_on

    t0 = time.perf_counter()
    con = duckdb.connect()
    tmp = data.parent / "bare-tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    con.execute(f"SET temp_directory = '{tmp}'")
    # its spill may not fill the disk: past this it fails, and the benchmark says so
    con.execute(f"SET max_temp_directory_size = '{BARE_MAX_SPILL}'")
    con.execute("SET preserve_insertion_order = false")
    if memory_limit:
        con.execute(f"SET memory_limit = '{memory_limit}'")
    if threads:
        con.execute(f"SET threads = {threads}")
    con.execute(_SOUNDEX)
    con.execute(f"CREATE TABLE f AS SELECT row_number() OVER () AS unique_id, {_BARE_COLS} "
                f"FROM read_parquet('{data / 'taxpayers.parquet'}')")
    con.execute(f"CREATE TABLE r AS SELECT row_number() OVER () AS unique_id, {_BARE_COLS} "
                f"FROM read_csv('{records or data / 'request' / 'records.csv'}', all_varchar=true)")
    t_load = time.perf_counter() - t0
    # what the rules join before Splink drops the pairs an earlier rule made: printed
    # before predict, so a run that does not finish still says how much it had to score
    # (its seconds are taken off the bare run's wall time: they are not Splink's)
    t_count = time.perf_counter()
    blocked = {"+".join(cols): _key_pairs(con, cols) for cols in _BARE_RULES}
    print("BARE_BLOCKED " + json.dumps(
        {"pairs": blocked, "count_s": round(time.perf_counter() - t_count, 2)}), flush=True)
    settings = SettingsCreator(
        link_type="link_only",
        comparisons=[
            cl.JaroWinklerAtThresholds("first_name", [0.92, 0.8]),
            cl.JaroWinklerAtThresholds("last_name", [0.92, 0.8]),
            cl.ExactMatch("dob"),
            cl.ExactMatch("zip5"),
            cl.ExactMatch("house_number"),
            cl.JaroWinklerAtThresholds("street", [0.9]),
        ],
        blocking_rules_to_generate_predictions=[block_on(*cols) for cols in _BARE_RULES],
        retain_matching_columns=False,
    )
    db = DuckDBAPI(connection=con)
    linker = Linker([db.register("r"), db.register("f")], settings, log_level=logging.ERROR)
    t1 = time.perf_counter()
    pairs = linker.inference.predict(threshold_match_weight=-5, warning_mode="never")
    t_predict = time.perf_counter() - t1
    n = con.execute(f"SELECT count(*) FROM {pairs.physical_name}").fetchone()[0]
    shutil.rmtree(tmp, ignore_errors=True)
    print("BARE " + json.dumps({"load_s": round(t_load, 2), "block_predict_s": round(t_predict, 2),
                                "pairs": int(n)}))


# --- results -----------------------------------------------------------------------------


def _num(v: float | None, digits: int = 2) -> str:
    return "" if v is None else f"{v:.{digits}f}"


HEADER = [
    "# Scale benchmark results",
    "",
    "Made by `bench/scale.py` (see docs/scale.md). Each run lists the exact command, the",
    "machine, and the load average (the machine is shared: other work inflates times).",
    "Times are wall seconds; memory is peak resident set size of the whole command.",
    "",
]


def write_markdown(run: dict) -> None:
    """Add ``run`` at the top of scale.md; earlier runs and notes written by hand stay."""
    path = RESULTS / "scale.md"
    old = path.read_text().splitlines() if path.exists() else list(HEADER)
    keep = old[len(HEADER):] if old[:len(HEADER)] == HEADER else old
    path.write_text("\n".join([*HEADER, *render_run(run), *keep]) + "\n")


def _blocked(bare: dict) -> str:
    """The pairs the bare run's rules join (before Splink drops repeats), if it said."""
    counts = bare.get("blocked_pairs")
    return "" if not counts else f"{sum(counts.values()):,}"


def render_run(run: dict) -> list[str]:
    """One run as a markdown section: sizes, figures, seconds per stage."""
    lines: list[str] = []
    m = run["machine"]
    lines += [
        f"## {run['started_at']} — `{run['command']}`",
        "",
        f"Machine: {m['cores']} cores, {m['memory_gib']} GiB, {m['cpu']}; "
        f"load average at start {m['load_average_at_start']:.1f}; "
        f"settings: {run['settings']}",
        "",
        "| size | filings | records | load s | load GiB | process s | process GiB "
        "| bare Splink s | bare GiB | bare blocked pairs | bare pairs | false conf. | recall "
        "| review |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for s in run["sizes"]:
        b = s.get("bare_splink") or {}
        q = s.get("quality") or {}
        p = s["process"]
        proc = (f"timed out after {p['wall_s']:.0f}" if p.get("timed_out")
                else f"{p['wall_s']:.1f}")
        bare_s = (f"failed after {b['wall_s']:.0f} ({b['failed']})" if b.get("failed")
                  else f"timed out after {b['wall_s']:.0f}" if b.get("timed_out")
                  else _num(b.get("wall_s"), 1))
        lines.append(
            f"| {s['fraction']:g} | {s['filings']:,} | {s['records']:,} "
            f"| {s['load']['wall_s']:.1f} | {_num(s['load']['peak_rss_gib'])} "
            f"| {proc} | {_num(p['peak_rss_gib'])} "
            f"| {bare_s} | {_num(b.get('peak_rss_gib'))} "
            f"| {_blocked(b)} | {b.get('pairs', 0):,} | {q.get('false_confirmations', '')} "
            f"| {_num(q.get('recall'), 3)} | {_num(q.get('review_rate'), 3)} |")
    stage_names: list[str] = []
    for s in run["sizes"]:
        for k in (*s["load"]["stages"], *s["process"]["stages"]):
            if k not in stage_names:
                stage_names.append(k)
    lines += ["", "Seconds per stage (load stages, then process stages):", "",
              "| stage | " + " | ".join(f"{s['fraction']:g}" for s in run["sizes"]) + " |",
              "|---|" + "---|" * len(run["sizes"])]
    for k in stage_names:
        cells = []
        for s in run["sizes"]:
            v = s["load"]["stages"].get(k, s["process"]["stages"].get(k))
            cells.append(f"{v:.2f}" if v is not None else "")
        lines.append(f"| {k} | " + " | ".join(cells) + " |")
    if run.get("notes"):
        lines += ["", run["notes"]]
    lines.append("")
    return lines


def compile_bytecode() -> None:
    """Compile the tree's modules, as installing the package does (pip compiles a
    package's modules at install): an editable install under PYTHONDONTWRITEBYTECODE
    never writes them, and every command would compile each module it imports again
    (about 0.07 s a process). The times are those of an installed gateway."""
    compileall.compile_dir(ROOT / "taxgate", quiet=1)


def main() -> None:
    compile_bytecode()
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="0.01,0.1,1", help="fractions of full size")
    ap.add_argument("--workdir", default="/tmp/taxgate-scale")
    ap.add_argument("--seed", type=int, default=5)
    ap.add_argument("--memory-limit", default="6GB", help="DuckDB memory_limit ('' for none)")
    ap.add_argument("--threads", type=int, default=0, help="DuckDB threads (0: all cores)")
    ap.add_argument("--engine", default="duckdb", choices=("duckdb", "spark"))
    ap.add_argument("--spark-index", default="store", choices=("store", "spark"),
                    help="with --engine spark: the store's filing index, or one built on Spark")
    ap.add_argument("--spark-master", default="", help="with --engine spark (default local[2])")
    ap.add_argument("--skip-bare", action="store_true", help="no bare Splink reference")
    ap.add_argument("--keep", action="store_true", help="keep the stores")
    ap.add_argument("--timeout", type=float, default=3600,
                    help="seconds before process or the bare run is stopped (0: none)")
    ap.add_argument("--notes", default="", help="a sentence recorded with the run")
    ap.add_argument("--no-record", action="store_true", help="print only, write no results")
    ap.add_argument("--bare", metavar="DATA_DIR", help=argparse.SUPPRESS)
    ap.add_argument("--bare-records", metavar="CSV", help=argparse.SUPPRESS)
    if sys.argv[1:2] == ["sweep"]:  # the request-size sweep: bench/scale_sweep.py
        from scale_sweep import main as sweep

        sweep(sys.argv[2:])
        return
    args = ap.parse_args()
    if args.bare:
        bare(Path(args.bare), args.memory_limit, args.threads,
             Path(args.bare_records) if args.bare_records else None)
        return
    started = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    run = {
        "started_at": started,
        "command": "python bench/scale.py " + shlex.join(sys.argv[1:]),
        "machine": machine(),
        "settings": {"memory_limit": args.memory_limit, "threads": args.threads or "all",
                     "engine": args.engine,
                     **({"spark_index": args.spark_index, "spark_master":
                         args.spark_master or "local[2]"} if args.engine == "spark" else {})},
        "notes": args.notes,
        "sizes": [],
    }
    for frac in (float(x) for x in args.sizes.split(",")):
        run["sizes"].append(run_size(args, frac))
    if args.no_record:
        print(json.dumps(run, indent=1))
        return
    record_run(run, args.workdir, "scale", write_markdown)


def record_run(run: dict, workdir: str, name: str, write_md: Callable[[dict], None]) -> None:
    """Append ``run`` (this machine's working folder written as DIR) to the runs in
    results/``name``.json and rewrite results/``name``.md from it through ``write_md``."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    store = RESULTS / f"{name}.json"
    runs = json.loads(store.read_text()) if store.exists() else []
    run = _without_workdir(run, workdir)
    runs.append(run)
    store.write_text(json.dumps(runs, indent=1) + "\n")
    write_md(run)
    print(f"results: {store} and {RESULTS / f'{name}.md'}")


def _without_workdir(run: dict, workdir: str) -> dict:
    """The run as recorded: this machine's working folder (in the command, in an error
    message) written as DIR, so the results name no machine's paths."""
    text = json.dumps(run)
    for form in {str(workdir), str(Path(workdir).resolve())}:
        text = text.replace(json.dumps(form)[1:-1], "DIR")
    return json.loads(text)


if __name__ == "__main__":
    main()
