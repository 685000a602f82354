"""Intake: a request package on disk -> a verified manifest and a records table.

Checks, in order, each failure refusing the whole request with one reason code:
the manifest is well-formed JSON with every field (MANIFEST_MALFORMED), its
contract version (CONTRACT_VERSION_UNSUPPORTED), the Ed25519 signature by an official
the registry holds for the agency (SIGNATURE_INVALID, OFFICIAL_NOT_AUTHORIZED,
OFFICIAL_NOT_VALID_ON_DATE — R1, R3), the records file's digest and shape
(CHECKSUM_MISMATCH, RECORDS_MALFORMED, RECORD_COUNT_MISMATCH). The request-level
statutory rules (R11–R13) live in :mod:`taxgate.statute`.

Error messages name files, columns and line numbers, never a value from a record.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from taxgate.canonical import canonical_json, load_public_key_pem, verify
from taxgate.errors import BadInput, RequestRefused
from taxgate.records import MANIFEST_FIELDS, MAX_FILE_FIELD_BYTES, REQUEST_COLUMNS
from taxgate.store.base import Official

SUPPORTED_CONTRACT_VERSIONS = (1,)
MAX_MANIFEST_BYTES = 1 << 20


@dataclass(frozen=True)
class Manifest:
    """A parsed manifest.json (contract §2); ``raw`` keeps every field as sent."""

    raw: dict[str, Any]

    def __getattr__(self, name: str) -> Any:
        try:
            return self.raw[name]
        except KeyError:
            raise AttributeError(name) from None

    @property
    def created(self) -> dt.datetime:
        return parse_created_at(self.raw["created_at"])


@dataclass(frozen=True)
class Package:
    """What was read from a request directory, before any rule was applied."""

    directory: Path
    manifest_bytes: bytes
    manifest: Manifest | None  # None when the manifest itself is unusable
    records_path: Path | None
    package_sha256: str  # over the manifest bytes and the records bytes
    records_sha256: str | None
    request_id: str | None
    problem: RequestRefused | None  # the first whole-request failure found while reading


def parse_created_at(value: str) -> dt.datetime:
    """An ISO 8601 UTC time such as 2026-11-20T14:00:00Z (any offset is accepted)."""
    when = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    if when.tzinfo is None:
        raise ValueError("created_at has no time zone")
    return when.astimezone(dt.UTC)


def read_package(directory: Path) -> Package:
    """Read a request directory; never raises for bad content, only records ``problem``."""
    manifest_path = directory / "manifest.json"
    if not directory.is_dir():
        raise BadInput(f"request directory {directory} does not exist")
    if not manifest_path.is_file():
        raise BadInput(f"{manifest_path} is missing")
    manifest_bytes = manifest_path.read_bytes()[: MAX_MANIFEST_BYTES + 1]
    digest = hashlib.sha256(manifest_bytes)
    digest.update(b"\x00")
    manifest, problem = _parse_manifest(manifest_bytes)
    request_id = _peek_request_id(manifest_bytes)
    records_path: Path | None = None
    records_sha: str | None = None
    if manifest is not None:
        name = manifest.raw["records_file"]
        if "/" in name or "\\" in name or name in ("", ".", "..") or name == "manifest.json":
            problem = problem or RequestRefused(
                "MANIFEST_MALFORMED", "records_file must name a file beside manifest.json"
            )
        elif not (directory / name).is_file():
            problem = problem or RequestRefused(
                "RECORDS_MALFORMED", f"records file {name} is missing"
            )
        else:
            records_path = directory / name
            file_digest = hashlib.sha256()
            with records_path.open("rb") as f:
                while block := f.read(1 << 20):
                    file_digest.update(block)
                    digest.update(block)
            records_sha = file_digest.hexdigest()
    return Package(
        directory=directory,
        manifest_bytes=manifest_bytes,
        manifest=manifest,
        records_path=records_path,
        package_sha256=digest.hexdigest(),
        records_sha256=records_sha,
        request_id=request_id,
        problem=problem,
    )


def _peek_request_id(data: bytes) -> str | None:
    """The request_id of a manifest, even of one that is otherwise malformed."""
    try:
        obj = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None
    rid = obj.get("request_id") if isinstance(obj, dict) else None
    return rid if isinstance(rid, str) and 0 < len(rid) <= 200 else None


def _parse_manifest(data: bytes) -> tuple[Manifest | None, RequestRefused | None]:
    if len(data) > MAX_MANIFEST_BYTES:
        return None, RequestRefused("MANIFEST_MALFORMED", "manifest.json is larger than 1 MiB")
    try:
        obj = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None, RequestRefused("MANIFEST_MALFORMED", "manifest.json is not UTF-8 JSON")
    if not isinstance(obj, dict):
        return None, RequestRefused("MANIFEST_MALFORMED", "manifest.json is not a JSON object")
    missing = [k for k in MANIFEST_FIELDS if k not in obj]
    wrong = [
        k
        for k, types in MANIFEST_FIELDS.items()
        if k in obj and (not isinstance(obj[k], types) or isinstance(obj[k], bool))
    ]
    if missing or wrong:
        parts = []
        if missing:
            parts.append("missing " + ", ".join(missing))
        if wrong:
            parts.append("wrong type for " + ", ".join(wrong))
        return None, RequestRefused("MANIFEST_MALFORMED", "manifest.json: " + "; ".join(parts))
    try:
        parse_created_at(obj["created_at"])
    except (ValueError, TypeError):
        return Manifest(obj), RequestRefused(
            "CREATED_AT_INVALID", "created_at is not an ISO 8601 time with a zone"
        )
    if obj["contract_version"] not in SUPPORTED_CONTRACT_VERSIONS:
        return Manifest(obj), RequestRefused(
            "CONTRACT_VERSION_UNSUPPORTED",
            f"contract_version must be one of {SUPPORTED_CONTRACT_VERSIONS}",
        )
    return Manifest(obj), None


def check_signature(manifest: Manifest, officials: list[Official]) -> None:
    """R1/R3: the signing official is registered for the agency, valid on created_at,
    and the signature verifies over the canonical manifest without its signature."""
    body = {k: v for k, v in manifest.raw.items() if k != "signature"}
    candidates = [
        o
        for o in officials
        if o.official_id == manifest.raw["signing_official"]
        and o.agency == manifest.raw["requesting_agency"]
    ]
    if not candidates:
        raise RequestRefused(
            "OFFICIAL_NOT_AUTHORIZED", "the signing official is not registered for this agency"
        )
    message = canonical_json(body)
    verified = [
        o
        for o in candidates
        if verify(load_public_key_pem(o.public_key_pem), message, manifest.raw["signature"])
    ]
    if not verified:
        raise RequestRefused("SIGNATURE_INVALID", "the manifest signature does not verify")
    day = manifest.created.date()
    if not any(o.valid_on(day) for o in verified):
        raise RequestRefused(
            "OFFICIAL_NOT_VALID_ON_DATE",
            "the signing official's registration is not valid on created_at",
        )


def check_records_digest(package: Package) -> None:
    assert package.manifest is not None
    if package.records_sha256 != str(package.manifest.raw["records_sha256"]).lower():
        raise RequestRefused("CHECKSUM_MISMATCH", "records_sha256 does not match the records file")


_CSV_LINE = re.compile(r"CSV Error on Line: (\d+)")


def _csv_problem(exc: Exception, name: str) -> RequestRefused:
    """Turn a DuckDB CSV error into a one-line reason without any record content."""
    text = str(exc)
    line = _CSV_LINE.search(text)
    where = f" at line {line.group(1)}" if line else ""
    if "unicode" in text.lower() or "utf" in text.lower():
        what = "is not valid UTF-8"
    elif "Expected Number of Columns" in text:
        what = "has a row with the wrong number of fields"
    elif "Maximum line size" in text or "line size" in text.lower():
        what = "has a field or line longer than allowed"
    elif "quote" in text.lower():
        what = "has an unterminated quoted field"
    else:
        what = "is not a well-formed CSV file"
    return RequestRefused("RECORDS_MALFORMED", f"records file {name} {what}{where}")


def read_header(path: Path) -> list[str]:
    """The records file's header row, checked against the contract's columns."""
    with path.open("rb") as f:
        first = f.readline(MAX_FILE_FIELD_BYTES + 1)
    if not first.strip():
        raise RequestRefused("RECORDS_MALFORMED", f"records file {path.name} is empty")
    try:
        text = first.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise RequestRefused(
            "RECORDS_MALFORMED", f"records file {path.name} is not valid UTF-8 at line 1"
        ) from None
    header = [h.strip() for h in next(csv.reader(io.StringIO(text)))]
    missing = [c for c, required in REQUEST_COLUMNS.items() if required and c not in header]
    unknown = [c for c in header if c not in REQUEST_COLUMNS]
    dupes = sorted({c for c in header if header.count(c) > 1})
    problems = []
    if missing:
        problems.append("missing columns " + ", ".join(missing))
    if unknown:
        problems.append("unknown columns " + ", ".join(repr(c[:40]) for c in unknown[:10]))
    if dupes:
        problems.append("repeated columns " + ", ".join(dupes))
    if problems:
        raise RequestRefused(
            "RECORDS_MALFORMED", f"records file {path.name}: " + "; ".join(problems)
        )
    return header


def load_records(con: duckdb.DuckDBPyConnection, path: Path, table: str) -> int:
    """Read the records CSV into ``table`` (all VARCHAR, every contract column, plus
    ``row_number``); return the number of records. Strict: any malformed row refuses
    the whole request."""
    header = read_header(path)
    columns = {c: "VARCHAR" for c in header}
    source = (
        "read_csv(?, header=true, auto_detect=false, strict_mode=true, delim=',', "
        "quote='\"', escape='\"', new_line='\\n', encoding='utf-8', "
        f"max_line_size={MAX_FILE_FIELD_BYTES}, columns={columns!r})"
    )
    select = ", ".join(
        (f'"{c}"' if c in header else f'CAST(NULL AS VARCHAR) AS "{c}"') for c in REQUEST_COLUMNS
    )
    try:
        # A fresh table keeps the file's order (insertion order is preserved), so its
        # rowid is the record's position in the file: stable across re-runs.
        con.execute("SET preserve_insertion_order = true")
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE {table}_raw AS SELECT {select} FROM {source}",
            [str(path)],
        )
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE {table} AS "
            f"SELECT rowid + 1 AS row_number, * FROM {table}_raw"
        )
        con.execute(f"DROP TABLE {table}_raw")
    except duckdb.Error as exc:
        raise _csv_problem(exc, path.name) from None
    (count,) = con.execute(f"SELECT count(*) FROM {table}").fetchone() or (0,)
    return int(count)
