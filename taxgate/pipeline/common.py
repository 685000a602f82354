"""Shared shapes of the pipeline: progress reporting, stage timings, results."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from taxgate import intake
from taxgate.progress import Progress, Quiet
from taxgate.settings import Settings
from taxgate.store.base import Store

__all__ = ["LoadResult", "ProcessResult", "Progress", "Quiet", "Submission", "Timings", "now"]


@dataclass
class Timings:
    """Wall time per stage, in seconds, in the order the stages ran."""

    stages: dict[str, float] = field(default_factory=dict)

    @contextmanager
    def stage(self, name: str, progress: Progress, total: int | None = None) -> Iterator[None]:
        progress.stage(name, total)
        start = time.perf_counter()
        try:
            yield
        finally:
            self.stages[name] = self.stages.get(name, 0.0) + time.perf_counter() - start


@dataclass
class ProcessResult:
    """What ``process`` did: exit code 0 (answered) or 2 (refused), counts, where."""

    exit_code: int
    request_id: str | None
    counts: dict[str, int]
    out_dir: Path
    message: str
    replayed: bool = False
    timings: Timings = field(default_factory=Timings)


@dataclass(frozen=True)
class Submission:
    """One package being answered: under which settings, by which store, what was
    received and when, where its response goes, and the clock of its stages."""

    settings: Settings
    store: Store
    pkg: intake.Package
    out_dir: Path
    received_at: str
    timings: Timings


@dataclass
class LoadResult:
    """What ``load`` did: filings added and in the store, the model in force, and
    whether this load trained it (the first load, or ``retrain``)."""

    rows: int
    total_filings: int
    model_version: str
    timings: Timings
    model_trained: bool = True


def now() -> str:
    """UTC now, as recorded in responses and the ledger."""
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
