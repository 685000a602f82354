"""The head anchor file: signed lines, appended outside the store. No store access.

One JSON object per line (JSON Lines), each signed with the gateway's Ed25519 key::

    {"event": "HEAD", "seq": 812, "entry_hash": "9f…", "at": "2026-12-03T10:01:02.123456Z",
     "failure": null, "signature": "…"}

``seq``/``entry_hash`` is the anchor as of that line: the ledger must hold that entry.
``failure`` is the open integrity failure, if any: it is carried from line to line
until an INCIDENT line clears it, so the last line alone tells a command everything
(an O(1) read). The file is only ever appended to (``O_APPEND``), so it may live on
append-only storage (``chattr +a``, WORM). See docs/ledger.md.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from taxgate.canonical import canonical_json, sign
from taxgate.canonical import verify as verify_signature
from taxgate.errors import StoreError

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import (
        Ed25519PrivateKey,
        Ed25519PublicKey,
    )

PURPOSE = "taxgate-ledger-anchor-v1"  # domain separation of the signature
HEAD = "HEAD"  # published after a commit that appended ledger entries
VERIFIED = "VERIFIED"  # `ledger verify` walked the whole chain up to this entry
CHECK_FAILED = "CHECK_FAILED"  # a check failed; the anchor stays where it was
INCIDENT = "INCIDENT"  # an operator recorded an incident: new anchor, failure cleared
EVENTS = (HEAD, VERIFIED, CHECK_FAILED, INCIDENT)
_BLOCK = 8192
_FIELDS = ("event", "seq", "entry_hash", "at", "failure", "signature")


@dataclass(frozen=True)
class AnchorLine:
    """One line of the anchor file."""

    event: str
    seq: int
    entry_hash: str
    at: str
    failure: str | None
    signature: str = ""

    def message(self) -> bytes:
        """The bytes the signature covers: every field but the signature, and the purpose."""
        body = {k: v for k, v in asdict(self).items() if k != "signature"}
        return canonical_json({"purpose": PURPOSE, **body})

    def signed_by(self, public_key: Ed25519PublicKey) -> bool:
        return bool(self.signature) and verify_signature(
            public_key, self.message(), self.signature)

    def to_bytes(self) -> bytes:
        return canonical_json(asdict(self)) + b"\n"


def signed_line(key: Ed25519PrivateKey, event: str, seq: int, entry_hash: str, at: str,
                failure: str | None = None) -> AnchorLine:
    """A new line, signed by the gateway's key."""
    unsigned = AnchorLine(event, seq, entry_hash, at, failure)
    return AnchorLine(event, seq, entry_hash, at, failure, sign(key, unsigned.message()))


def parse(raw: bytes) -> AnchorLine | None:
    """A line's content; None for text that is not JSON (a write torn by a crash).

    JSON of the wrong shape comes back as a line without a signature, so it fails
    :meth:`AnchorLine.signed_by` rather than being skipped."""
    try:
        obj: Any = json.loads(raw)
    except ValueError:
        return None
    if not isinstance(obj, dict):
        return None
    ok = (set(obj) == set(_FIELDS) and obj["event"] in EVENTS
          and isinstance(obj["seq"], int) and obj["seq"] >= 0
          and all(isinstance(obj[k], str) for k in ("entry_hash", "at", "signature"))
          and (obj["failure"] is None or isinstance(obj["failure"], str)))
    if not ok:
        return AnchorLine("?", 0, "", "", "the anchor line is malformed")
    return AnchorLine(*(obj[k] for k in _FIELDS))


def _last_in(fd: int, size: int, parse_line: Callable[[bytes], Any] = parse) -> Any:
    """The last complete, parseable line of an open file, read backwards a block at a time
    (``parse_line``: a line's content, None for a line to skip)."""
    end, carry = size, b""
    while end > 0:
        start = max(0, end - _BLOCK)
        chunk = os.pread(fd, end - start, start) + carry
        lines = chunk.split(b"\n")
        # the first piece may be the tail of a line that began earlier: keep it for later
        carry, complete = (lines[0], lines[1:]) if start > 0 else (b"", lines)
        if end == size and not chunk.endswith(b"\n"):
            complete = complete[:-1]  # a last line without its newline was torn by a crash
        for raw in reversed(complete):
            if raw.strip():
                line = parse_line(raw)
                if line is not None:
                    return line
        end = start
    return None


def read_last(path: Path) -> AnchorLine | None:
    """The file's last line (None when the file does not exist or holds none)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return None
    try:
        return _last_in(fd, os.fstat(fd).st_size)
    finally:
        os.close(fd)


class AnchorLog:
    """The anchor file (or another signed JSON Lines file: the witness log), held open and
    locked (``flock``) by :func:`locked`; ``parse_line`` reads one of its lines."""

    def __init__(self, fd: int, parse_line: Callable[[bytes], Any] = parse) -> None:
        self._fd = fd
        self._parse = parse_line

    def last(self) -> Any:
        return _last_in(self._fd, os.fstat(self._fd).st_size, self._parse)

    def append(self, line: Any) -> None:
        """Append one line with a single write and fsync it (a newline first when the
        file ends in a line torn by a crash)."""
        size = os.fstat(self._fd).st_size
        data = line.to_bytes()
        if size and os.pread(self._fd, 1, size - 1) != b"\n":
            data = b"\n" + data
        os.write(self._fd, data)
        os.fsync(self._fd)


@contextlib.contextmanager
def locked(path: Path, parse_line: Callable[[bytes], Any] = parse,
           what: str = "the head anchor") -> Iterator[AnchorLog]:
    """Open (creating, mode 0600) and exclusively lock the anchor file (``what``) for append;
    StoreError when it cannot be opened or written."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        created = not path.exists()
        fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o600)
    except OSError as exc:
        raise StoreError(f"{what} {path} cannot be opened: {exc.strerror}") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        if created:  # the new file's name must survive a power cut too
            dfd = os.open(path.parent, os.O_RDONLY)
            try:
                os.fsync(dfd)
            finally:
                os.close(dfd)
        yield AnchorLog(fd, parse_line)
    except OSError as exc:
        raise StoreError(f"{what} {path} cannot be written: {exc.strerror}") from None
    finally:
        os.close(fd)  # closing releases the lock
