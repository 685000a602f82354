"""Reading a request folder's files as untrusted input: regular files only, never
through a symbolic link, the manifest bounded in size.

A link in a request folder could make the gateway read (and hash, and answer about)
a file outside the package; a FIFO or device could block it forever. Both are
refused with the request's reason code instead.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, TypeGuard

from taxgate.errors import RequestRefused

MAX_MANIFEST_BYTES = 1 << 20


@contextmanager
def open_regular(path: Path) -> Iterator[IO[bytes]]:
    """Open ``path`` for reading only if it is a regular file and not a symbolic link."""
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    fd = os.open(path, flags)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise IsADirectoryError(path)
        f = os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise
    with f:
        yield f


def file_problem(path: Path, what: str, code: str) -> RequestRefused | None:
    """Why ``path`` cannot be read as the package's ``what`` (refused with ``code``)."""
    if path.is_symlink():
        return RequestRefused(code, f"{what} is a symbolic link")
    if not path.exists():
        return RequestRefused(code, f"{what} is missing")
    if not path.is_file():
        return RequestRefused(code, f"{what} is not a regular file")
    return None


def read_manifest(path: Path) -> tuple[bytes, RequestRefused | None]:
    """The manifest's bytes (at most MAX_MANIFEST_BYTES + 1), or why there are none."""
    problem = file_problem(path, "manifest.json", "MANIFEST_MALFORMED")
    if problem is not None:
        return b"", problem
    try:
        with open_regular(path) as f:
            return f.read(MAX_MANIFEST_BYTES + 1), None
    except OSError:
        return b"", RequestRefused("MANIFEST_MALFORMED", "manifest.json cannot be read")


def hash_into(path: Path, package_digest: Any) -> str:
    """sha256 of the file's bytes, which are fed into ``package_digest`` too."""
    file_digest = hashlib.sha256()
    with open_regular(path) as f:
        while block := f.read(1 << 20):
            file_digest.update(block)
            package_digest.update(block)
    return file_digest.hexdigest()


def safe_file_name(name: object) -> TypeGuard[str]:
    """A plain file name beside manifest.json: no folder, no control character."""
    return (
        isinstance(name, str)
        and 0 < len(name) <= 255
        and name not in (".", "..", "manifest.json")
        and not any(c in name for c in "/\\")
        and all(" " <= c != "\x7f" for c in name)
    )


def peek(data: bytes) -> dict[str, Any]:
    """The fields of a manifest that is otherwise malformed (any JSON object), or {}."""
    try:  # numbers read as None: only the string fields are looked at, at any size
        obj = json.loads(data.decode("utf-8-sig"), parse_int=_none, parse_float=_none)
    except (UnicodeDecodeError, ValueError, RecursionError):
        return {}
    return obj if isinstance(obj, dict) else {}


def _none(_: str) -> None:
    return None
