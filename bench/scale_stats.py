"""The scale benchmarks' pure parts: reading a command's stage table, medians, percentiles.

Imports nothing of the project or of the other bench modules, so a test can import it
(``bench.scale_stats``) and the scripts can (``scale_stats``) without side effects.
"""

from __future__ import annotations

import math
import re
import statistics
from collections.abc import Iterable, Sequence

_CELL_EDGE = re.compile(r"[│┃|]")
_SECONDS = re.compile(r"[0-9]+\.[0-9]+")
_NOT_STAGES = {"total", "stage", "seconds"}


def stage_seconds(text: str) -> dict[str, float]:
    """The stages and their seconds from the ``time per stage`` table a command prints
    (rich's box drawing or plain ``|``), in the order printed, without the total. Any
    stage name is taken as printed: the stage list belongs to the command, not to us."""
    stages: dict[str, float] = {}
    for line in text.splitlines():
        cells = [c.strip() for c in _CELL_EDGE.split(line) if c.strip()]
        if len(cells) != 2 or not _SECONDS.fullmatch(cells[1]):
            continue
        name = cells[0]
        if name.lower() not in _NOT_STAGES:
            stages[name] = float(cells[1])
    return stages


def median(values: Iterable[float | None]) -> float | None:
    """The median of the values given (None where there are none)."""
    xs = [v for v in values if v is not None]
    return statistics.median(xs) if xs else None


def percentile(values: Sequence[float], p: float) -> float | None:
    """The ``p``-th percentile by nearest rank: the smallest value with at least p % of
    the values at or below it (with fewer than 100 values, p99 is the largest)."""
    if not values:
        return None
    if not 0 < p <= 100:
        raise ValueError("p must be in (0, 100]")
    ordered = sorted(values)
    return ordered[max(1, math.ceil(p / 100 * len(ordered))) - 1]


def median_stages(runs: Sequence[dict[str, float]]) -> dict[str, float]:
    """Per stage, the median of its seconds over the runs that printed it, in the order
    the stages first appear."""
    names: list[str] = []
    for stages in runs:
        names += [k for k in stages if k not in names]
    return {k: round(median(s.get(k) for s in runs) or 0.0, 3) for k in names}
