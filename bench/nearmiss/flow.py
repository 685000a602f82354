"""The operator's flow through the real CLI: init, load, officials add, process."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path


class FlowError(RuntimeError):
    pass


def taxgate(*args: str, store: Path) -> float:
    """Run ``python -m taxgate.cli ARGS`` on ``store``; seconds taken; FlowError on failure."""
    env = {**os.environ, "TAXGATE_STORE": str(store)}
    for name in ("TAXGATE_KEY", "TAXGATE_DEBUG", "TAXGATE_POLICY"):
        env.pop(name, None)
    start = time.perf_counter()
    p = subprocess.run([sys.executable, "-m", "taxgate.cli", *args], env=env,
                       capture_output=True, text=True, timeout=1800)
    if p.returncode != 0:
        raise FlowError(f"taxgate {args[0]} exited {p.returncode}: {p.stderr.strip()[-500:]}")
    return time.perf_counter() - start


def prepare(store: Path, taxpayers: Path, public_key: Path) -> dict[str, float]:
    """A fresh store with the filings loaded and the request's official registered."""
    return {
        "init": taxgate("init", store=store),
        "load": taxgate("load", str(taxpayers), store=store),
        "officials add": taxgate("officials", "add", "ice-director", "--agency", "DHS-ICE",
                                 "--title", "Director", "--public-key", str(public_key),
                                 "--valid-from", "2026-01-01", store=store),
    }


def process(store: Path, request_dir: Path, out: Path) -> tuple[Path, float]:
    seconds = taxgate("process", str(request_dir), "--out", str(out), store=store)
    return out / "results.csv", seconds
