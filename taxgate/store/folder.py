"""The embedded store's folder: an exclusive lock, and owner-only files while open."""

from __future__ import annotations

import fcntl
import os
import threading
from pathlib import Path

from taxgate.errors import StoreBusy


class FolderLock:
    """An exclusive, non-blocking ``flock`` on a file; released on close or process exit."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    def acquire(self, what: str) -> None:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise StoreBusy(
                f"store is in use by another process ({what}); "
                "the embedded store is opened by one process at a time"
            ) from None
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None


_umask_lock = threading.Lock()
_umask_users = 0
_umask_saved = 0o022


def hold_private_umask() -> None:
    """Make files created from now on owner-only (umask 077) until the last release."""
    global _umask_users, _umask_saved
    with _umask_lock:
        if _umask_users == 0:
            _umask_saved = os.umask(0o077)
        _umask_users += 1


def release_private_umask() -> None:
    global _umask_users
    with _umask_lock:
        if _umask_users == 0:
            return
        _umask_users -= 1
        if _umask_users == 0:
            os.umask(_umask_saved)
