"""`make demo`: the main job end to end on synthetic data, through the real CLI.

Makes a synthetic world (taxpayer filings, an official's key pair, a signed request
with known truth), then runs exactly what an operator would run:
``taxgate init``, ``taxgate load``, ``taxgate officials add``, ``taxgate process``,
and finally scores the response against the truth.
"""

from __future__ import annotations

import argparse
import os
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

from taxgate.evaluate import evaluate
from taxgate.synth import synth_all


def _taxgate(*args: str, env: dict[str, str]) -> float:
    cmd = [sys.executable, "-m", "taxgate.cli", *args]
    print(f"\n$ taxgate {shlex.join(args)}", flush=True)
    start = time.perf_counter()
    code = subprocess.call(cmd, env=env)
    elapsed = time.perf_counter() - start
    if code != 0:
        raise SystemExit(f"taxgate {args[0]} failed with exit status {code}")
    return elapsed


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--workdir", default="demo-run")
    ap.add_argument("--people", type=int, default=20_000)
    ap.add_argument("--records", type=int, default=2_000)
    ap.add_argument("--seed", type=int, default=2026)
    args = ap.parse_args()

    work = Path(args.workdir).resolve()
    if work.exists():
        shutil.rmtree(work)
    print(f"synthetic world: {args.people:,} people, {args.records:,} request records "
          f"(seed {args.seed}) in {work}")
    paths = synth_all(work / "synthetic", args.people, args.records, args.seed)
    print(f"  {paths.counts['filings']:,} filings, request package {paths.request_dir}")

    store = work / "store"
    env = {**os.environ, "TAXGATE_STORE": str(store)}
    env.pop("TAXGATE_KEY", None)
    _taxgate("init", env=env)
    _taxgate("load", str(paths.taxpayers), env=env)
    _taxgate("officials", "add", "ice-director", "--agency", "DHS-ICE", "--title",
             "Director, U.S. Immigration and Customs Enforcement", "--public-key",
             str(paths.public_key), "--valid-from", "2026-01-01", env=env)
    response_dir = work / "response"
    seconds = _taxgate("process", str(paths.request_dir), "--out", str(response_dir), env=env)

    ev = evaluate(response_dir / "results.csv", paths.truth)
    print("\nagainst the synthetic truth:")
    print(f"  records                 {ev.total:,}")
    print(f"  false confirmations     {ev.false_confirmations}")
    print(f"  true confirmations      {ev.true_confirmations:,} of {ev.expected_confirmations:,} "
          f"(recall {ev.recall:.1%})")
    print(f"  REVIEW                  {ev.review:,} of {ev.lawful:,} lawful ({ev.review_rate:.2%})")
    print(f"  wrongly REJECTED        {ev.wrong_rejections}")
    print(f"  deficient not REJECTED  {ev.missed_rejections}")
    print(f"  process took            {seconds:.1f} s (wall, including start-up)")
    print(f"\nresponse: {response_dir}/results.csv and response.json")


if __name__ == "__main__":
    main()
