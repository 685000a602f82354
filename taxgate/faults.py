"""Named crash points, for proving that a crash at any instant loses nothing and
discloses nothing twice (the crash-safety tests kill `taxgate process`, and `taxgate
load` on PostgreSQL, at each one); and named fail points, where a write that can fail
without stopping the process (a full disk) is made to fail.

Inert unless TAXGATE_CRASH_AT names the point: then the process kills itself with
SIGKILL there, exactly as a power cut or an OOM kill would stop it, with no cleanup.
Likewise TAXGATE_FAIL_AT: the caller then raises the error the write it guards would.
"""

from __future__ import annotations

import os
import signal

POINTS = ("after-intake", "after-matching", "before-commit", "after-commit", "mid-publish",
          "before-anchor")  # in `taxgate process`
LOAD_POINTS = ("load-between-commits",)  # in `taxgate load` on PostgreSQL with its replica
FAIL_POINTS = ("replica-commit",)  # the same load: its replica's commit, after the store's


def crash_point(name: str) -> None:
    """Die here, uncleanly, when TAXGATE_CRASH_AT == name."""
    if os.environ.get("TAXGATE_CRASH_AT") == name:
        os.kill(os.getpid(), signal.SIGKILL)


def failing(name: str) -> bool:
    """Whether the write guarded by the fail point ``name`` is to fail now
    (TAXGATE_FAIL_AT == name)."""
    return os.environ.get("TAXGATE_FAIL_AT") == name
