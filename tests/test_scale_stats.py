"""The scale benchmarks' pure parts (bench/scale_stats.py, bench/scale_sweep_report.py):
reading a command's stage table, medians, nearest-rank percentiles, and the sweep's
table putting the bare Splink reference beside each request size."""

from __future__ import annotations

import pytest

from bench.scale_stats import median, median_stages, percentile, stage_seconds
from bench.scale_sweep_report import render_run

RICH_TABLE = """request BENCH-1: CONFIRMED 187, NOT_CONFIRMED 80, REJECTED 27, REVIEW 6
response written to resp
          time per stage
┏━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━┓
┃ stage                ┃ seconds ┃
┡━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━┩
│ intake               │    0.15 │
│ candidate generation │    0.46 │
│ index: ITIN → SSN    │   12.50 │
│ total                │   13.11 │
└──────────────────────┴─────────┘
"""


def test_stage_table_is_read_with_any_stage_name_and_without_the_total() -> None:
    assert stage_seconds(RICH_TABLE) == {"intake": 0.15, "candidate generation": 0.46,
                                         "index: ITIN → SSN": 12.5}
    assert stage_seconds("| read | 1.25 |\n| total | 1.25 |\nloaded 3 filings") == {
        "read": 1.25}
    assert stage_seconds("loaded 1,000 filings (2,000 in the store)") == {}


def test_median_and_nearest_rank_percentile() -> None:
    assert median([3.0, None, 1.0, 2.0]) == 2.0
    assert median([None]) is None
    xs = [float(i) for i in range(1, 101)]  # 1..100
    assert percentile(xs, 50) == 50.0
    assert percentile(xs, 99) == 99.0
    assert percentile(xs[:20], 99) == 20.0  # fewer than 100: the largest
    assert percentile([], 99) is None
    with pytest.raises(ValueError):
        percentile(xs, 0)


def test_median_stages_keeps_first_seen_order_and_skips_missing() -> None:
    runs = [{"a": 1.0, "b": 4.0}, {"a": 3.0, "c": 2.0}, {"a": 2.0, "b": 6.0}]
    assert list(median_stages(runs).items()) == [("a", 2.0), ("b", 5.0), ("c", 2.0)]


def _size(records: int, wall: float) -> dict:
    return {"records": records, "runs": [{"load_average": 1.0}], "median_wall_s": wall,
            "min_wall_s": wall, "max_wall_s": wall, "timed_out": False,
            "median_stages": {"scoring": wall / 2}, "peak_rss_gib": 0.5,
            "quality": {"false_confirmations": 0, "recall": 0.5, "review_rate": 0.25}}


def test_sweep_table_has_bare_splink_beside_each_size() -> None:
    load = {"filings": 90, "filings_in_store": 90, "wall_s": 3.0, "peak_rss_gib": 0.4,
            "load_average": 1.0, "stages": {"read": 0.5}}
    run = {"started_at": "T", "command": "c", "notes": "", "people": 20,
           "request_records": 100, "settings": {}, "load_average_at_end": 1.0,
           "machine": {"cores": 2, "memory_gib": 8, "cpu": "x", "load_average_at_start": 1.0},
           "bare_splink": {"1": {"wall_s": 9.5, "block_predict_s": 1.25, "peak_rss_gib": 0.7,
                                 "pairs": 4}},
           "engines": [{"engine": "embedded", "first_load": load,
                        "increment_load": {**load, "filings": 10, "filings_in_store": 100},
                        "service": {"requests": 5, "p50_s": 0.8, "p99_s": 1.5, "max_s": 1.5,
                                    "first_s": 2.0, "states": {"DONE": 5}},
                        "sizes": [_size(1, 4.0), _size(100, 6.0)]}]}
    text = "\n".join(render_run(run))
    rows = [ln for ln in text.splitlines() if ln.startswith(("| 1 |", "| 100 |"))]
    assert rows == [
        "| 1 | 1 | 4.00 | 2.00 | 4.00–4.00 | 0.50 | 1.0–1.0 | 0 | 0.500 | 0.250 "
        "| 9.50 | 1.25 | 0.70 | 4 |",
        "| 100 | 1 | 6.00 | 3.00 | 6.00–6.00 | 0.50 | 1.0–1.0 | 0 | 0.500 | 0.250 "
        "|  |  |  |  |"]
    assert "| embedded | increment | 10 | 100 | 3.0 |" in text
    assert "| embedded | 5 | 0.800 | 1.500 | 1.500 | 2.000 | DONE 5 |" in text
    assert "| scoring | 2.00 | 3.00 |" in text


def test_sweep_table_says_why_the_service_was_not_measured() -> None:
    run = {"started_at": "T", "command": "c", "notes": "", "people": 20,
           "request_records": 1, "settings": {}, "load_average_at_end": 1.0,
           "machine": {"cores": 2, "memory_gib": 8, "cpu": "x", "load_average_at_start": 1.0},
           "bare_splink": None,
           "engines": [{"engine": "postgres", "first_load": None, "increment_load": None,
                        "service": {"requests": 5, "failed": "taxgate serve exited (2)"},
                        "sizes": [_size(1, 4.0)]}]}
    text = "\n".join(render_run(run))
    assert "| postgres | 5 | failed: taxgate serve exited (2) | | | | |" in text
