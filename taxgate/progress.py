"""What a shell shows while a stage runs: the :class:`Progress` a stage reports to.

A leaf, so a stage (matching counts its scored pairs) reports progress without
importing the pipeline that hands it one; :mod:`taxgate.pipeline.common` re-exports it.
"""

from __future__ import annotations

from typing import Protocol


class Progress(Protocol):
    """What a shell shows while a stage runs (the CLI draws Rich progress bars)."""

    def stage(self, name: str, total: int | None = None) -> None: ...
    def advance(self, n: int = 1) -> None: ...


class Quiet:
    """Progress that shows nothing (tests, the API worker's inner stages)."""

    def stage(self, name: str, total: int | None = None) -> None: ...
    def advance(self, n: int = 1) -> None: ...
