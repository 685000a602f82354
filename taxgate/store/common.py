"""What both engines share: the at-rest key, ledger event hygiene, decision shapes.

Nothing here talks to a database; each engine calls these helpers inside its own
transactions so the two behave alike.
"""

from __future__ import annotations

import datetime as dt
import functools
import hmac
import json
import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pyarrow as pa

from taxgate.canonical import (
    keyed_digest,
    load_public_key_pem,
    new_data_key,
    public_key_pem,
    sha256_hex,
)
from taxgate.domain import DECISION_COLUMNS, LedgerEntry, LedgerEvent, Official
from taxgate.errors import KeyUnavailable, StoreError
from taxgate.ledger import CHECKPOINT_EVERY, StoredPayload, payload_bytes
from taxgate.ledger_events import ModelTrained, OfficialAdded, SafeguardsChanged
from taxgate.settings import Settings
from taxgate.standardize.lookup_cache import LookupCache

# --- the at-rest key ---------------------------------------------------------------------

_KEY_RE = re.compile(r"[0-9a-fA-F]{64}")


def checked_key(key: str) -> str:
    """The key if it is 64 hex digits (256 bits); KeyUnavailable otherwise."""
    if not _KEY_RE.fullmatch(key):
        raise KeyUnavailable("the at-rest key is not 64 hexadecimal digits (256 bits)")
    return key.lower()


def _resolve(settings: Settings) -> str | None:
    try:
        return settings.resolve_key()
    except (OSError, UnicodeDecodeError) as exc:
        raise KeyUnavailable(f"the key file {settings.key_file} cannot be read") from exc


def require_key(settings: Settings) -> str:
    """The key that opens an existing store, or KeyUnavailable saying where it is looked for."""
    key = _resolve(settings)
    if not key:
        raise KeyUnavailable(f"no at-rest key: {settings.keys().where}")
    return checked_key(key)


def key_for_new_store(settings: Settings, store_exists: bool) -> str:
    """The key for ``initialize``: the configured one, else a new one written to the key
    file (when the key providers include it)."""
    key = _resolve(settings)
    if key:
        return checked_key(key)
    if store_exists:
        raise KeyUnavailable(f"the store exists but its key is missing: {settings.keys().where}")
    if not settings.keys().can_create():
        raise KeyUnavailable(f"no at-rest key for the new store: {settings.keys().where}")
    key = new_data_key()
    write_key_file(settings.key_file, key)
    return key


def write_key_file(path: Path, key: str) -> None:
    """Create the key file, mode 0600, never overwriting one (its folder 0700 if new)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError as exc:
        raise KeyUnavailable(f"key file {path} already exists; it is not overwritten") from exc
    except OSError as exc:
        raise StoreError(f"cannot create the key file {path}: {exc.strerror}") from exc
    with os.fdopen(fd, "w", encoding="ascii") as f:
        f.write(key + "\n")


def signing_passphrase(key: str) -> bytes:
    """The passphrase the gateway's private key PEM is encrypted with."""
    return bytes.fromhex(key)


def lookup_cache(key: str, folder: Path) -> LookupCache:
    """Where a store keeps standardization's lookup tables on this host (``folder``),
    encrypted under a key derived from the store's (never the store's key itself)."""
    return LookupCache(folder, keyed_digest(key, "taxgate/std-lookups/v1"))


@functools.lru_cache(maxsize=8)
def _tin_key(key: str) -> bytes:
    return bytes.fromhex(keyed_digest(key, "taxgate/ledger-tin-digest/v1"))


def tin_digest(key: str, tin: str) -> str:
    """The keyed digest a TIN is logged as: HMAC-SHA256 under a key derived from ``key``
    (equal to ``keyed_digest(keyed_digest(key, "taxgate/ledger-tin-digest/v1"), tin)``)."""
    return hmac.digest(_tin_key(key), tin.encode("utf-8"), "sha256").hex()


# --- ledger events ----------------------------------------------------------------------

# Top-level payload fields that would put taxpayer data in the ledger (R34).
FTI_FIELDS = frozenset(
    {
        "first_name", "middle_name", "last_name", "second_last_name", "name", "full_name",
        "date_of_birth", "dob", "street_address", "address", "unit", "city", "zip",
    }
)


@functools.lru_cache(maxsize=256)
def _field_check(names: tuple[str, ...]) -> tuple[frozenset[str], bool]:
    """For a payload's field names: the taxpayer fields among them, and whether any is a
    TIN to digest (cached: a request's many events share a few sets of names)."""
    has_tin = any(name == "tin" or name.endswith("_tin") for name in names)
    return FTI_FIELDS.intersection(names), has_tin


def scrub_events(events: Iterable[LedgerEvent], key: str) -> Iterator[LedgerEvent]:
    """Replace each ``tin``/``*_tin`` field by its keyed digest; refuse name/address fields.
    Lazy: events are scrubbed as the ledger takes them."""
    for ev in events:
        bad, has_tin = _field_check(tuple(ev.payload))
        if bad:
            raise StoreError(
                f"{ev.event_type} event carries taxpayer fields ({', '.join(sorted(bad))}); "
                "the ledger holds ids and digests only"
            )
        if not has_tin:
            yield ev
            continue
        payload: dict[str, Any] = {}
        for name, value in ev.payload.items():
            if (name == "tin" or name.endswith("_tin")) and value is not None:
                payload[f"{name}_digest"] = tin_digest(key, str(value))
            else:
                payload[name] = value
        yield replace(ev, payload=payload)


def load_payload(text: str) -> StoredPayload:
    """Parse a stored payload, keeping its exact bytes for hashing (see StoredPayload).

    Text that is not a JSON object reads as ``{"$unreadable": true}``; its hash still
    covers the stored bytes, so verify reports the entry as edited.
    """
    raw = text.encode("utf-8", "surrogatepass")
    try:
        obj = json.loads(text)
    except ValueError:
        obj = None
    if not isinstance(obj, dict):
        obj = {"$unreadable": True}
    return StoredPayload(obj, raw)


def entry_from_row(row: Any) -> LedgerEntry:
    """A LedgerEntry from a stored row (seq, recorded_at, event_type, request_id,
    payload text, prev_hash, entry_hash)."""
    seq, recorded_at, event_type, request_id, payload, prev_hash, entry_hash = row
    return LedgerEntry(int(seq), recorded_at, event_type, request_id, load_payload(payload),
                       prev_hash, entry_hash)


def dump_payload(payload: dict[str, Any]) -> str:
    """The text a payload is stored as: its canonical JSON (or the bytes it was read as)."""
    return payload_bytes(payload).decode("utf-8", "surrogatepass")


def entries_table(entries: list[LedgerEntry]) -> pa.Table:
    """Ledger entries as the rows of the ``ledger`` table (the embedded store's insert)."""
    return pa.table({
        "seq": pa.array([e.seq for e in entries], pa.int64()),
        "recorded_at": [e.recorded_at for e in entries],
        "event_type": [e.event_type for e in entries],
        "request_id": pa.array([e.request_id for e in entries], pa.string()),
        "payload": [dump_payload(e.payload) for e in entries],
        "prev_hash": [e.prev_hash for e in entries],
        "entry_hash": [e.entry_hash for e in entries],
    })


def key_fingerprint(pem: str) -> str:
    """sha256 of the normalized PEM of a public key (what the ledger names keys by)."""
    return sha256_hex(public_key_pem(load_public_key_pem(pem)).encode("ascii"))


def official_added_event(official: Official, actor: str) -> LedgerEvent:
    return OfficialAdded(
        official_id=official.official_id,
        agency=official.agency,
        title=official.title,
        valid_from=official.valid_from.isoformat(),
        valid_to=official.valid_to.isoformat() if official.valid_to else None,
        public_key_sha256=key_fingerprint(official.public_key_pem),
        actor=actor,
    ).to_event()


def safeguards_event(agency: str, current: bool, actor: str, note: str) -> LedgerEvent:
    return SafeguardsChanged(agency=agency, current=current, actor=actor, note=note).to_event()


def model_trained_event(version: str, model_json: str) -> LedgerEvent:
    return ModelTrained(version=version, model_sha256=sha256_hex(model_json.encode())).to_event()


def checkpoint_every(settings: Settings) -> int:
    """Entries between signed checkpoints (Settings.ledger_checkpoint_every when present)."""
    return int(getattr(settings, "ledger_checkpoint_every", CHECKPOINT_EVERY))


def now_utc() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def iso_now() -> str:
    return now_utc().isoformat(timespec="microseconds").replace("+00:00", "Z")


# --- requests and decisions --------------------------------------------------------------

# The columns of the requests table, in StoredRequest's order (explicit in every INSERT).
REQUEST_COLS = (
    "request_id, package_sha256, status, received_at, completed_at, response_json, agency")

DECISION_SCHEMA = pa.schema(
    [
        ("request_id", pa.string()),
        ("row_number", pa.int64()),
        ("record_id", pa.string()),
        ("outcome", pa.string()),
        ("reasons", pa.string()),
        ("tin", pa.string()),
        ("match_probability", pa.float64()),
        ("evidence", pa.string()),
        ("model_version", pa.string()),
        ("policy_version", pa.string()),
    ]
)
assert tuple(DECISION_SCHEMA.names) == DECISION_COLUMNS


_REQUIRED_DECISION_COLUMNS = ("row_number", "outcome")


def conform_decisions(table: pa.Table, request_id: str) -> pa.Table:
    """The decisions in DECISION_SCHEMA order and types.

    ``request_id`` is filled in when absent, as is any other optional column (NULL);
    ``row_number`` and ``outcome`` are required.
    """
    missing = [c for c in _REQUIRED_DECISION_COLUMNS if c not in table.column_names]
    if missing:
        raise StoreError(f"decisions lack columns: {', '.join(missing)}")
    n = table.num_rows
    for f in DECISION_SCHEMA:
        if f.name not in table.column_names:
            fill = request_id if f.name == "request_id" else None
            table = table.append_column(f.name, pa.array([fill] * n, f.type))
    try:
        table = table.select(list(DECISION_COLUMNS)).cast(DECISION_SCHEMA)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        raise StoreError("decisions have a column of the wrong type") from exc
    ids = table.column("request_id").unique().to_pylist()
    if any(i != request_id for i in ids):
        raise StoreError("decisions belong to another request")
    return table


def empty_decisions() -> pa.Table:
    return DECISION_SCHEMA.empty_table()
