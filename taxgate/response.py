"""The response package: results.csv and a signed response.json, from decisions only.

The writer cannot leak: it reads only record_id, outcome and reasons, and
:func:`build_response` accepts only the allow-listed fields (R19, R20). Files are
written into a temporary folder beside the target and moved into place with
response.json last, so a reader never sees a half-written response.
"""

from __future__ import annotations

import csv
import itertools
import os
import shutil
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from taxgate import __version__, faults
from taxgate.canonical import canonical_json, sha256_file, sign_object
from taxgate.errors import BadInput, ResponseSchemaError
from taxgate.records import RESULT_COLUMNS, Outcome

RESPONSE_FIELDS = frozenset(
    {
        "contract_version",
        "request_id",
        "received_at",
        "completed_at",
        "counts",
        "policy_version",
        "model_version",
        "software_version",
        "records_file",
        "records_sha256",
        "record_count",
        "request_reason",
        "records_unreadable",
        "follow_up_of",
        "follow_up_seq",
        "signature",
    }
)


def build_response(
    *,
    request_id: str | None,
    received_at: str,
    completed_at: str,
    counts: dict[str, int],
    policy_version: str,
    model_version: str | None,
    records_sha256: str,
    record_count: int,
    signing_key: Ed25519PrivateKey,
    request_reason: str | None = None,
    records_unreadable: bool = False,
    follow_up_of: str | None = None,
    follow_up_seq: int | None = None,
) -> dict[str, Any]:
    """The signed response.json object (contract §3)."""
    body: dict[str, Any] = {
        "contract_version": 1,
        "request_id": request_id,
        "received_at": received_at,
        "completed_at": completed_at,
        "counts": {o.value: int(counts.get(o.value, 0)) for o in Outcome},
        "policy_version": policy_version,
        "model_version": model_version,
        "software_version": f"taxgate {__version__}",
        "records_file": "results.csv",
        "records_sha256": records_sha256,
        "record_count": record_count,
    }
    if request_reason:
        body["request_reason"] = request_reason
    if records_unreadable:  # refused, and its records could not be read to list them
        body["records_unreadable"] = True
    if follow_up_of:
        body["follow_up_of"] = follow_up_of
        if follow_up_seq is not None:
            body["follow_up_seq"] = int(follow_up_seq)
    validate_response(body)
    return sign_object(signing_key, body)


def validate_response(obj: dict[str, Any]) -> None:
    """Refuse any field outside the allow-list: no code path can add taxpayer data."""
    extra = set(obj) - RESPONSE_FIELDS
    if extra:
        raise ResponseSchemaError(f"response field(s) not allowed: {', '.join(sorted(extra))}")
    if set(obj.get("counts", {})) - {o.value for o in Outcome}:
        raise ResponseSchemaError("response counts hold an unknown outcome")


_ROWS_PER_BLOCK = 20_000  # results.csv rows checked, then written, at a time


def write_results_csv(path: Path, rows: Iterable[tuple[str, str, str]]) -> int:
    """Write results.csv: exactly the contract's three columns; returns the row count."""
    for_outcomes = {o.value for o in Outcome}
    n = 0
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        # The minimal writer quotes a field holding LF (its line end) but not one holding
        # only CR, which RFC 4180 readers take for a line end: such a row is quoted in full
        # (every other row keeps its bytes, so stored answers replay unchanged).
        quoted = csv.writer(f, lineterminator="\n", quoting=csv.QUOTE_ALL)
        w.writerow(RESULT_COLUMNS)
        # A block of rows at a time: checked as a block, written by the writer's own loop
        # when no field holds a CR (1.28M rows: 1.0 to 1.2 s; a row at a time, 1.6 to 2.0 s).
        it = iter(rows)
        while block := list(itertools.islice(it, _ROWS_PER_BLOCK)):
            if not {outcome for _, outcome, _ in block} <= for_outcomes:
                raise ResponseSchemaError("unknown outcome in results")
            if any(v is not None and "\r" in v for row in block for v in row):
                for row in block:
                    (quoted if any(_cr_only(v) for v in row) else w).writerow(row)
            else:
                w.writerows(block)
            n += len(block)
    return n


def _cr_only(value: str | None) -> bool:
    return value is not None and "\r" in value and "\n" not in value


def check_out_dir(out_dir: Path) -> None:
    """Make sure responses can be written into ``out_dir`` (created when missing), before
    anything is committed; BadInput with a one-line reason otherwise."""
    if out_dir.exists() and not out_dir.is_dir():
        raise BadInput(f"the output folder {out_dir} is a file, not a folder")
    try:
        out_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        Path(tempfile.mkdtemp(prefix=".taxgate-", dir=out_dir)).rmdir()
    except OSError as exc:
        raise BadInput(
            f"the output folder {out_dir} cannot be written: {exc.strerror or 'not writable'}"
        ) from None


def publish(out_dir: Path, results_file: Path, response: dict[str, Any]) -> None:
    """Move results.csv then response.json into ``out_dir`` (created if needed)."""
    out_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    staging = Path(tempfile.mkdtemp(prefix=".taxgate-", dir=out_dir))
    try:
        shutil.copyfile(results_file, staging / "results.csv")
        (staging / "response.json").write_bytes(canonical_json(response) + b"\n")
        (out_dir / "response.json").unlink(missing_ok=True)  # never a new CSV beside an old JSON
        os.replace(staging / "results.csv", out_dir / "results.csv")
        faults.crash_point("mid-publish")
        os.replace(staging / "response.json", out_dir / "response.json")
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def results_digest(path: Path) -> str:
    return sha256_file(path)
