"""Issue 5, progress: the stages of ``process`` report themselves, and the long ones with
a total that their counts reach (matching: every record; ledger: every event)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from world_cache import SMALL, trained_once

from taxgate.domain import Official
from taxgate.gateway import Gateway
from taxgate.settings import Settings
from taxgate.synth import synth_all


class Recorded:
    """A Progress that keeps what it was told: stage -> [total, advanced]."""

    def __init__(self) -> None:
        self.stages: dict[str, list[int | None]] = {}
        self._current: str | None = None

    def stage(self, name: str, total: int | None = None) -> None:
        self.stages[name] = [total, 0]
        self._current = name

    def advance(self, n: int = 1) -> None:
        assert self._current is not None
        done = self.stages[self._current][1]
        self.stages[self._current][1] = (done or 0) + n


def test_stages_report_counts_that_reach_their_totals(
        tmp_path: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    paths = synth_all(tmp_path / "synthetic", SMALL[0], 300, seed=SMALL[1])
    settings = Settings(store=str(tmp_path / "store"), key_hex="cd" * 32)
    progress = Recorded()
    with Gateway(settings) as gw:
        gw.init()
        with trained_once(tmp_path_factory):  # the suite's population: trained once
            gw.load(paths.taxpayers)
        gw.add_official(
            Official("ice-director", "DHS-ICE", "Director", paths.public_key.read_text(),
                     dt.date(2026, 1, 1)),
            "test",
        )
        result = gw.process(paths.request_dir, tmp_path / "out", progress)
    assert result.exit_code == 0, result.message

    names = list(progress.stages)
    assert names[:3] == ["intake", "statutory checks", "standardization"]
    assert names[3:] == ["matching", "decisions", "ledger"]
    records = sum(result.counts.values())
    assert progress.stages["matching"] == [records, records]
    confirmed = result.counts.get("CONFIRMED", 0)
    assert confirmed > 0
    assert progress.stages["ledger"] == [2 + confirmed, 2 + confirmed]
    assert set(result.timings.stages) >= {"candidate generation", "scoring", "ledger"}
