"""Named crash points, for proving that a crash at any instant loses nothing and
discloses nothing twice (the crash-safety tests kill `taxgate process`, and `taxgate
load` on PostgreSQL, at each one).

Inert unless TAXGATE_CRASH_AT names the point: then the process kills itself with
SIGKILL there, exactly as a power cut or an OOM kill would stop it, with no cleanup.
"""

from __future__ import annotations

import os
import signal

POINTS = ("after-intake", "after-matching", "before-commit", "after-commit", "mid-publish",
          "before-anchor")  # in `taxgate process`
LOAD_POINTS = ("load-between-commits",)  # in `taxgate load` on PostgreSQL with its replica


def crash_point(name: str) -> None:
    """Die here, uncleanly, when TAXGATE_CRASH_AT == name."""
    if os.environ.get("TAXGATE_CRASH_AT") == name:
        os.kill(os.getpid(), signal.SIGKILL)
