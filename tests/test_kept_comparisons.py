"""This code's comparisons kept between processes (taxgate.matching.kept_predict): a
process given the kept copy checks a stored model (R23: its levels must mean what this
code's mean) and labels the evidence exactly as one that made them through Splink, and
never imports Splink; a copy this store's key did not seal is never used."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
KEY = "5a" * 32
OTHER_KEY = "a5" * 32

# Each step is a new process: what one process makes or is given stays in it.
_STEP = """
import json, sys
from taxgate.matching import kept_predict, levels
from taxgate.standardize.lookup_cache import LookupCache
folder, key, model_file = sys.argv[1:4]
kept_predict.use_kept_comparisons(LookupCache(__import__("pathlib").Path(folder), key))
spec = json.loads(open(model_file).read()) if model_file != "-" else None
refused = None
if spec is not None:
    try:
        levels.check_model(json.dumps(spec))
    except Exception as exc:
        refused = type(exc).__name__
print(json.dumps({"splink": "splink" in sys.modules, "labels": levels.level_labels(),
                  "dicts": levels.comparison_dicts(), "refused": refused}))
"""


def _step(folder: Path, key: str, model_file: Path | None = None) -> dict:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", _STEP, str(folder), key, str(model_file or "-")],
        capture_output=True, text=True, env=env, check=True, timeout=120)
    return json.loads(done.stdout)


def test_r23_kept_comparisons_are_splinks_and_a_process_given_them_never_imports_splink(
        tmp_path):
    made = _step(tmp_path, KEY)  # no kept copy yet: made through Splink, and kept
    assert made["splink"] is True
    assert len(list(tmp_path.glob("comparisons-*.sealed"))) == 1

    good = tmp_path / "model.json"
    good.write_text(json.dumps({"comparisons": made["dicts"]}))
    given = _step(tmp_path, KEY, good)
    assert given["splink"] is False
    assert given["refused"] is None
    assert given["labels"] == made["labels"] and given["dicts"] == made["dicts"]

    # a model of other levels is refused by the kept copy as by Splink's own
    other = json.loads(good.read_text())
    other["comparisons"][0]["comparison_levels"][2]["label_for_charts"] = "renamed"
    bad = tmp_path / "other.json"
    bad.write_text(json.dumps(other))
    assert _step(tmp_path, KEY, bad)["refused"] == "StoreError"


def test_r23_kept_comparisons_not_sealed_by_this_store_are_never_used(tmp_path):
    made = _step(tmp_path, KEY)
    other = _step(tmp_path, OTHER_KEY)  # another store's key: made again through Splink
    assert other["splink"] is True and other["dicts"] == made["dicts"]
    assert _step(tmp_path, KEY)["splink"] is True  # (and sealed again under this key)
    assert _step(tmp_path, KEY)["splink"] is False

    # a changed byte is not used either, and the file is made again
    sealed = next(tmp_path.glob("comparisons-*.sealed"))
    blob = sealed.read_bytes()
    sealed.write_bytes(blob[:-1] + bytes([blob[-1] ^ 1]))
    damaged = _step(tmp_path, KEY)
    assert damaged["splink"] is True and damaged["dicts"] == made["dicts"]
    assert _step(tmp_path, KEY)["splink"] is False
