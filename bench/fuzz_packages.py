"""The long fuzz run: thousands of generated request packages through the real CLI.

    python bench/fuzz_packages.py [--count 10000] [--seed 17] [--jobs 1] [--postgres]
                                  [--out bench/results/fuzz.md]

Builds a small synthetic world in a temporary folder (filings loaded, DHS-ICE's and
DHS-CBP's officials registered), draws --count packages from the strategies in
``tests/fuzzkit.py`` (Hypothesis, seeded, no shrinking: every example is run once) and
answers each with ``taxgate process`` in this process, on the one prepared store. Each
answer is checked (``fuzzkit.check``): exit 0 or 2, no traceback, a response written,
every record of a readable records file accounted for, never another agency's answer.
With --postgres the store is a PostgreSQL database on a throw-away server started for
the run (the test suite's, ``tests/pg_server.py``), else the embedded store. Writes the
command, count, duration and every finding (grouped, with reproducers) to
--out; findings also go to a JSON-lines file beside it as they happen.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

import fuzzkit  # noqa: E402
from hypothesis import HealthCheck, Phase, given, seed, settings  # noqa: E402


def _group(problem: str, output: str) -> str:
    """A finding's class: its kind with the numbers and paths taken out, and the reason
    code or exception the command printed."""
    said = re.search(r"request refused: ([A-Z_]+)|internal failure \((\w+)\)|taxgate: (.{0,70})",
                     output)
    why = next((g for g in said.groups() if g), "") if said else ""
    why = re.sub(r"/\S*/pkgs/[0-9]+/", "<package>/", why)
    kind = re.sub(r"[0-9]+", "N", problem.split(" (exit")[0].split(": taxgate")[0]
                  .split("; not answered")[0])
    return f"{kind[:80]} [{why}]"


def summarize(reports: list[Path], out: Path) -> None:
    """One report from several runs' reports (their header lines) and findings (the
    JSON-lines files beside them), the findings grouped again."""
    codes: Counter[str] = Counter()
    ran = seconds = 0
    commands = []
    groups: dict[str, list[dict[str, object]]] = defaultdict(list)
    for md in reports:
        text = md.read_text(encoding="utf-8")
        commands.append(text.split("Command: ", 1)[1].split("\n", 1)[0])
        ran += int(re.search(r"packages answered: ([0-9,]+)", text)[1].replace(",", ""))
        seconds += int(re.search(r"duration: ([0-9,]+) s", text)[1].replace(",", ""))
        exits = re.search(r"exit codes: \{([^}]*)\}", text)[1]
        for code, n in re.findall(r"(-?[0-9]+): ([0-9]+)", exits):
            codes[code] += int(n)
        found = md.with_suffix(".jsonl")  # written only when the run found something
        for line in (found.read_text(encoding="utf-8").splitlines() if found.exists()
                     else []):
            f = json.loads(line)
            f["run"] = md.name
            groups[_group(str(f["problem"]), str(f["output"]))].append(f)
    lines = ["# Fuzzing request packages through the CLI", "", "Runs (niced, on a shared "
             "2-core machine, at the same time):", ""] + [f"- {c}" for c in commands] + [
        "", f"- packages answered, all runs: {ran:,}",
        f"- time, summed over runs: {seconds:,} s",
        f"- exit codes: {dict(sorted(codes.items()))}",
        f"- findings: {sum(map(len, groups.values()))} in {len(groups)} classes", ""]
    lines += _classes(groups)
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _classes(groups: dict[str, list[dict[str, object]]]) -> list[str]:
    lines = []
    for name, found in sorted(groups.items(), key=lambda kv: -len(kv[1])):
        first = found[0]
        lines += [f"## {name} ({len(found)})", "", f"First at package {first['n']}"
                  f"{' of ' + str(first['run']) if 'run' in first else ''}: "
                  f"{first['package']}", "", "```"]
        lines += [str(x)[:900] for x in first["files"]]  # type: ignore[attr-defined]
        lines += ["--- output ---", str(first["output"]).strip()[-400:]]
        if first["traceback"]:
            lines += ["--- traceback (tail) ---", str(first["traceback"]).strip()[-900:]]
        lines += ["```", ""]
    return lines


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--count", type=int, default=10_000)
    ap.add_argument("--seed", type=int, default=17)
    ap.add_argument("--out", type=Path, default=ROOT / "bench/results/fuzz.md")
    ap.add_argument("--keep", type=Path, default=None, help="keep the work folder here")
    ap.add_argument("--summarize", type=Path, nargs="+", default=None, metavar="REPORT",
                    help="combine the reports (and their .jsonl findings) of earlier runs "
                    "into --out instead of running")
    ap.add_argument("--postgres", action="store_true",
                    help="answer on a PostgreSQL store (a server started for the run)")
    ap.add_argument("--jobs", type=int, default=1,
                    help="run this many processes (seeds --seed, --seed+1, ...), each with "
                    "its own world and --count/--jobs packages, then combine their reports")
    args = ap.parse_args()
    if args.summarize:
        summarize(args.summarize, args.out)
        return 0
    if args.jobs > 1:
        return _parallel(args)
    args.commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
                                 capture_output=True, text=True, check=False).stdout.strip()
    work = Path(tempfile.mkdtemp(prefix="taxgate-fuzz-")) if args.keep is None else args.keep
    jsonl = args.out.with_suffix(".jsonl")
    jsonl.unlink(missing_ok=True)
    with contextlib.ExitStack() as stack:
        return _run(args, work, jsonl, stack)


def _run(args: argparse.Namespace, work: Path, jsonl: Path, stack: contextlib.ExitStack
         ) -> int:
    t0 = time.monotonic()
    store = None
    if args.postgres:
        from api_world import new_pg_database
        from pg_server import running_server

        store = new_pg_database(stack.enter_context(running_server()).url)
    world = fuzzkit.make_world(work, store)
    setup_s = time.monotonic() - t0
    codes: Counter[int] = Counter()
    groups: dict[str, list[dict[str, object]]] = defaultdict(list)
    seconds: list[float] = []
    kept: set[int] = set()

    @seed(args.seed)
    @settings(max_examples=args.count, database=None, deadline=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(fuzzkit.packages(world.base))
    def one(p: fuzzkit.Package) -> None:
        p, answer, data = world.run(p)
        if data is None:
            return
        codes[answer.code] += 1
        seconds.append(answer.seconds)
        problems = fuzzkit.check(world, p, answer, data)
        for problem in problems:
            finding = {"n": world.count, "problem": problem, "package": p.describe(),
                       "files": fuzzkit.reproducer(world, world.count),
                       "output": answer.output[-600:], "traceback": (answer.error or "")[-1500:]}
            groups[_group(problem, answer.output)].append(finding)
            with jsonl.open("a", encoding="utf-8") as f:
                f.write(json.dumps(finding) + "\n")
        if problems:
            kept.add(world.count)
        else:
            shutil.rmtree(world.root / "out" / str(world.count), ignore_errors=True)
        old = world.count - 300  # past the replay window: only findings keep their package
        if old > 0 and old not in kept:
            shutil.rmtree(world.root / "pkgs" / str(old), ignore_errors=True)
        if world.count % 250 == 0:
            _report(args, world, codes, groups, seconds, setup_s, time.monotonic() - t0,
                    done=False)
            print(f"{world.count} packages, {sum(map(len, groups.values()))} findings, "
                  f"{time.monotonic() - t0:.0f} s", flush=True)

    with fuzzkit.held_store(world):
        one()
    total = time.monotonic() - t0
    _report(args, world, codes, groups, seconds, setup_s, total)
    if args.keep is None:
        shutil.rmtree(work, ignore_errors=True)
    return 1 if groups else 0


def _parallel(args: argparse.Namespace) -> int:
    parts = [args.out.with_name(f"{args.out.stem}-part{i}.md") for i in range(args.jobs)]
    procs = [subprocess.Popen([sys.executable, __file__, "--count",
                               str(-(-args.count // args.jobs)), "--seed", str(args.seed + i),
                               "--out", str(part), *(["--postgres"] if args.postgres else [])])
             for i, part in enumerate(parts)]
    codes = [p.wait() for p in procs]
    summarize(parts, args.out)
    return max(codes)


def _report(args: argparse.Namespace, world: fuzzkit.FuzzWorld, codes: Counter[int],
            groups: dict[str, list[dict[str, object]]], seconds: list[float], setup_s: float,
            total: float, done: bool = True) -> None:
    ran = sum(codes.values())
    commit = args.commit  # when the run started
    lines = [
        "# Fuzzing request packages through the CLI",
        "",
        f"Command: `python bench/fuzz_packages.py --count {args.count} --seed {args.seed}"
        f"{' --postgres' if args.postgres else ''}`"
        f" (code at commit {commit or 'unknown'}; "
        f"{'finished' if done else 'still running when this was written'})",
        "",
        f"- packages answered: {ran:,} (generated: {world.count:,}; a replay drawn before any "
        "package existed is skipped)",
        f"- duration: {total:,.0f} s (set-up {setup_s:.0f} s; median per package "
        f"{sorted(seconds)[len(seconds) // 2] if seconds else 0:.3f} s)",
        f"- exit codes: {dict(sorted(codes.items()))}",
        f"- findings: {sum(map(len, groups.values()))} in {len(groups)} classes",
        "",
    ]
    lines += _classes(groups)
    args.out.write_text("\n".join(lines) + "\n", encoding="utf-8")


if __name__ == "__main__":
    sys.exit(main())
