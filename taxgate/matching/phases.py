"""How long Splink spent generating candidates (blocking) and scoring them.

Splink logs both at INFO level from a few of its modules; this listens to those
loggers only (their own level is set, so the package-wide WARNING level the engines
choose does not silence them) and hands the seconds to the caller. The INFO lines are
dropped after they are read; warnings pass on as before.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager

_LOGGERS = (
    "taxgate.matching",
    "splink.internals.blocking",
    "splink.internals.linker_components.inference",
    "splink.internals.duckdb.pruned_prediction",
)
_BLOCKING = re.compile(r"^Blocking time: ([0-9.]+) seconds")


class _Listener(logging.Filter):
    def __init__(self) -> None:
        super().__init__()
        self.blocking_s = 0.0

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.WARNING:
            m = _BLOCKING.match(record.getMessage())
            if m:
                self.blocking_s += float(m.group(1))
            return False
        return True


@contextmanager
def splink_phases() -> Iterator[dict[str, float]]:
    """Yields a dict that holds ``candidate generation`` seconds when the block ends."""
    listener = _Listener()
    saved = []
    for name in _LOGGERS:
        lg = logging.getLogger(name)
        saved.append((lg, lg.level))
        lg.setLevel(logging.INFO)
        lg.addFilter(listener)
    out: dict[str, float] = {}
    try:
        yield out
    finally:
        for lg, level in saved:
            lg.removeFilter(listener)
            lg.setLevel(level)
        out["candidate generation"] = listener.blocking_s
