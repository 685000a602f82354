"""What a start of the command line costs: CPU (user + sys) and wall of
``python -m taxgate.cli ARGS``, median of N runs, per command, on a fresh store.

    python bench/cli_startup.py [--runs 5] [--tree DIR ...]

Each ``--tree`` (a checkout; default: this one) is put first on PYTHONPATH and run in
turn, interleaved, so that two trees are compared beside the same other work. Prints a
Markdown table; results: bench/results/suite.md.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
COMMANDS = (("--help",), ("--version",), ("officials", "list"), ("ledger", "verify"),
            ("gateway-key",))


def timed(args: tuple[str, ...], env: dict[str, str]) -> tuple[float, float]:
    """CPU and wall seconds of one run of the command line."""
    before, t0 = resource.getrusage(resource.RUSAGE_CHILDREN), time.perf_counter()
    subprocess.run([sys.executable, "-m", "taxgate.cli", *args], env=env,
                   capture_output=True, check=True)
    wall, after = time.perf_counter() - t0, resource.getrusage(resource.RUSAGE_CHILDREN)
    return after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime, wall


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--tree", action="append", default=None)
    args = ap.parse_args()
    trees = args.tree or [str(ROOT)]
    with tempfile.TemporaryDirectory() as work:
        envs = {t: {**os.environ, "PYTHONPATH": t, "TAXGATE_STORE": f"{work}/s{i}.duckdb"}
                for i, t in enumerate(trees)}
        for env in envs.values():
            timed(("init",), env)
        print(f"load average {os.getloadavg()[0]:.1f}\n")
        print("| command | " + " | ".join(f"CPU s, wall s ({t})" for t in trees) + " |")
        print("|---|" + "---|" * len(trees))
        for cmd in COMMANDS:
            got: dict[str, list[tuple[float, float]]] = {t: [] for t in trees}
            for _ in range(args.runs):
                for t in trees:
                    got[t].append(timed(cmd, envs[t]))
            cells = [f"{statistics.median(c for c, _ in got[t]):.2f}, "
                     f"{statistics.median(w for _, w in got[t]):.2f}" for t in trees]
            print(f"| `{' '.join(cmd)}` | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
