"""Incident alerts (R39): a suspected unauthorized disclosure reaches the people who must
notify TIGTA and the IRS Office of Safeguards within 24 hours.

An :class:`Alert` holds a kind, a fixed sentence, ids and counts: never a taxpayer
value (no name, TIN, address or date of birth), and nothing taken from a package but
its request_id and the agency it names (made visible and cut). It goes to the sink the
``alert_sink`` setting names (``TAXGATE_ALERT_SINK``):

- a file path: one JSON object per line appended (JSON Lines, mode 0600);
- an ``http://`` or ``https://`` URL: the JSON object POSTed (5 s timeout).

Sending never raises: the work that raised the alert stands, and a sink that fails is
logged as a warning (the ledger or the anchor file already holds the facts). A leaf.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

from taxgate.untrusted import visible

_log = logging.getLogger(__name__)

LEDGER_CHECK_FAILED = "LEDGER_CHECK_FAILED"
REFUSED_SIGNATURE_BURST = "REFUSED_SIGNATURE_BURST"
DISCLOSURE_HOLD_HIT = "DISCLOSURE_HOLD_HIT"
KINDS = (LEDGER_CHECK_FAILED, REFUSED_SIGNATURE_BURST, DISCLOSURE_HOLD_HIT)
ACTION = ("R39: if an unauthorized disclosure is suspected, notify TIGTA and the IRS Office "
          "of Safeguards within 24 hours; scope the affected taxpayers from the ledger (R31)")
_CUT = 200


def _now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class Alert:
    """One incident alert: ids and counts only."""

    kind: str
    summary: str  # a sentence of the gateway's own, never text from a package
    request_id: str | None = None
    agency: str | None = None
    count: int | None = None
    at: str = field(default_factory=_now)
    action: str = ACTION

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown alert kind {self.kind}")

    def as_json(self) -> bytes:
        body = asdict(self)
        for name in ("request_id", "agency"):
            if body[name] is not None:
                body[name] = visible(body[name])[:_CUT]
        return json.dumps({"source": "taxgate", **body}, ensure_ascii=False).encode()


def send(sink: str, alert: Alert) -> bool:
    """Deliver ``alert`` to ``sink`` (a file path or an http(s) URL; "" sends nothing).
    True when it was delivered."""
    if not sink:
        return False
    try:
        if sink.startswith(("http://", "https://")):
            _post(sink, alert.as_json())
        else:
            _append(Path(sink).expanduser(), alert.as_json())
        return True
    except (OSError, ValueError) as exc:  # URLError is an OSError; no value is logged
        _log.warning("incident alert %s was not delivered to its sink (%s)", alert.kind,
                     type(exc).__name__)
        return False


def _append(path: Path, line: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, line + b"\n")  # one write: lines of two processes never interleave
    finally:
        os.close(fd)


def _post(url: str, body: bytes) -> None:
    import urllib.request  # HTTP and TLS only when an alert is posted, not in every command

    req = urllib.request.Request(url, data=body, method="POST",
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=5) as resp:  # noqa: S310 - configured URL
        if resp.status >= 300:
            raise ValueError(f"status {resp.status}")
