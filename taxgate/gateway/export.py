"""The ledger as an overseer takes it away: JSON Lines with its signed checkpoints.

:func:`write_export` writes every entry of the ledger, one canonical JSON object per
line (seq, recorded_at, event_type, request_id, payload, prev_hash, entry_hash), in
order, CHECKPOINT entries included, and logs the export (LEDGER_EXPORTED, R28, R33).
:func:`verify_export` checks such a file with nothing but the gateway's public key:
every hash link, every checkpoint signature, and that the export ends on a signed
checkpoint, so no entry after the last signature goes unchecked
(``taxgate ledger verify-export FILE --public-key KEY.pem``). The ledger holds no
taxpayer value (TINs are keyed digests), so neither does the export.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from taxgate import ledger
from taxgate.canonical import canonical_json, load_public_key_pem
from taxgate.domain import LedgerEntry
from taxgate.errors import BadInput, IntegrityError
from taxgate.ledger_events import LedgerExported

if TYPE_CHECKING:
    from taxgate.store.base import Store

_KEYS = ("seq", "recorded_at", "event_type", "request_id", "payload", "prev_hash",
         "entry_hash")


def export_line(e: LedgerEntry) -> bytes:
    """One entry as a line: its payload as the exact bytes it was hashed with."""
    head = canonical_json({k: getattr(e, k) for k in _KEYS if k != "payload"})
    return head[:-1] + b',"payload":' + ledger.payload_bytes(e.payload) + b"}\n"


def write_export(store: Store, out: Path, actor: str) -> tuple[int, str]:
    """Write the ledger to ``out`` (owner-readable only, replaced atomically) and log it."""
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".part")
    last = (0, ledger.GENESIS)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        for e in store.ledger_entries():
            f.write(export_line(e))
            last = (e.seq, e.entry_hash)
    os.replace(tmp, out)
    store.append_events([LedgerExported(actor=actor, through_seq=last[0]).to_event()])
    return last


def _entry(n: int, line: bytes) -> LedgerEntry:
    try:
        d: dict[str, Any] = json.loads(line)
        payload = d["payload"]
        if not isinstance(payload, dict) or set(d) != set(_KEYS):
            raise ValueError
        return LedgerEntry(int(d["seq"]), d["recorded_at"], d["event_type"], d["request_id"],
                           ledger.StoredPayload(payload, canonical_json(payload)),
                           d["prev_hash"], d["entry_hash"])
    except (ValueError, KeyError, TypeError):
        raise BadInput(f"line {n} of the export is not a ledger entry") from None


def read_export(path: Path) -> Iterator[LedgerEntry]:
    """The entries of an export file, in its order (BadInput on a line that is not one)."""
    with path.open("rb") as f:
        for n, line in enumerate(f, start=1):
            if line.strip():
                yield _entry(n, line)


def verify_export(path: Path, public_key: Path) -> ledger.VerifyReport:
    """Verify an export with the gateway's public key (a PEM file) alone; IntegrityError
    names the first broken entry, or an export that does not end on a signed checkpoint."""
    for what, p in (("export file", path), ("public key file", public_key)):
        if not p.is_file():
            raise BadInput(f"no {what} at {p}")
    try:
        key = load_public_key_pem(public_key.read_bytes())
    except Exception:
        raise BadInput("the public key is not a PEM Ed25519 public key") from None
    report = ledger.verify(read_export(path), key)
    report.raise_if_broken()
    if report.entries == 0:
        raise BadInput("the export holds no entry")
    if report.unsigned_tail:
        raise IntegrityError(f"the export's last {report.unsigned_tail} entries are not "
                             "covered by a signed checkpoint")
    return report
