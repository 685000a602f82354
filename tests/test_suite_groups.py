"""The suite's own scheduling: `make test` runs ``pytest -n 2 --dist loadgroup``, and the
tests of one ``xdist_group`` must reach one worker, so a module's world is built once
(tests/xdist_groups.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

INNER = '''
import os
import time

import pytest


def _note(tmp_path_factory, name):
    time.sleep(0.2)  # long enough that one worker cannot run everything before the other starts
    root = tmp_path_factory.getbasetemp().parent
    with (root / name).open("a") as f:
        f.write(os.environ["PYTEST_XDIST_WORKER"] + "\\n")


@pytest.mark.xdist_group("world")
@pytest.mark.parametrize("n", range(8))
def test_grouped(n, tmp_path_factory):
    _note(tmp_path_factory, "grouped.txt")


@pytest.mark.parametrize("n", range(8))
def test_alone(n, tmp_path_factory):
    _note(tmp_path_factory, "alone.txt")
'''


def test_the_tests_of_an_xdist_group_run_on_one_worker(tmp_path: Path) -> None:
    (tmp_path / "test_inner.py").write_text(INNER, encoding="utf-8")
    base = tmp_path / "base"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(Path(__file__).parent), os.environ.get("PYTHONPATH", "")])}
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-n", "2", "--dist", "loadgroup", "-p", "xdist_groups",
         "-p", "no:cacheprovider", "-q", f"--basetemp={base}", "test_inner.py"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    grouped = (base / "grouped.txt").read_text().split()
    alone = (base / "alone.txt").read_text().split()
    assert len(grouped) == 8 and len(set(grouped)) == 1, grouped
    # both workers took tests (which ones the scheduler gives each is its own business)
    assert len(alone) == 8 and set(grouped) | set(alone) == {"gw0", "gw1"}, (grouped, alone)
