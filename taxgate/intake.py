"""Intake: a request package on disk -> a verified manifest and a records table.

Checks, in order, each failure refusing the whole request with one reason code:
the manifest is a regular file of strict JSON (unique keys, bounded numbers and
nesting) with every field and a well-formed request_id (MANIFEST_MALFORMED), its
contract version (CONTRACT_VERSION_UNSUPPORTED), the Ed25519 signature by an official
the registry holds for the agency, valid on created_at and on the day of receipt
(SIGNATURE_INVALID, OFFICIAL_NOT_AUTHORIZED, OFFICIAL_NOT_VALID_ON_DATE — R1, R3),
created_at fresh (CREATED_AT_INVALID, CREATED_AT_STALE — R1), the records file's
size, digest and shape (REQUEST_TOO_LARGE, CHECKSUM_MISMATCH, RECORDS_MALFORMED,
RECORD_COUNT_MISMATCH). The request-level statutory rules (R11–R13): :mod:`taxgate.statute`.

Error messages name files, columns and line numbers, never a value from a record.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeGuard

import duckdb

from taxgate import package_files as files
from taxgate import records_csv, strict_json
from taxgate.canonical import canonical_json, load_public_key_pem, verify
from taxgate.domain import Official
from taxgate.errors import BadInput, RequestRefused
from taxgate.records import MANIFEST_FIELDS, REQUEST_COLUMNS
from taxgate.settings import Policy

SUPPORTED_CONTRACT_VERSIONS = (1,)
MAX_MANIFEST_BYTES = files.MAX_MANIFEST_BYTES

# contract §2: a request_id is 1-64 characters of A-Z a-z 0-9 . _ : -, the first a letter
# or digit (docs/intake.md). With the requesting agency it identifies the request.
REQUEST_ID_SYNTAX = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,63}")
REQUEST_ID_RULE = (
    "request_id must be 1-64 characters of A-Z, a-z, 0-9, '.', '_', ':' or '-', "
    "starting with a letter or digit"
)
_SHOWN_NAME = re.compile(r"[A-Za-z0-9._-]{1,100}")


def valid_request_id(value: object) -> TypeGuard[str]:
    """True when ``value`` is a request_id of the documented syntax."""
    return isinstance(value, str) and REQUEST_ID_SYNTAX.fullmatch(value) is not None


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
    records_path: Path | None  # None when no records file can be read
    package_sha256: str  # over the manifest bytes and the records bytes
    records_sha256: str | None
    request_id: str | None  # only a request_id of the documented syntax
    problem: RequestRefused | None  # the first whole-request failure found while reading
    # As sent (not verified), for the ledger: the manifest's strings, else None.
    requesting_agency: str | None = None
    signing_official: str | None = None


def parse_created_at(value: str) -> dt.datetime:
    """An ISO 8601 UTC time such as 2026-11-20T14:00:00Z (any offset is accepted)."""
    when = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    if when.tzinfo is None:
        raise ValueError("created_at has no time zone")
    try:
        return when.astimezone(dt.UTC)
    except OverflowError:  # e.g. 9999-12-31T23:00:00-05:00
        raise ValueError("created_at is out of range") from None


def read_package(directory: Path, max_records_bytes: int | None = None) -> Package:
    """Read a request directory; never raises for bad content, only records ``problem``.

    Only a missing directory raises (BadInput): there is nothing to answer. A missing,
    linked or malformed manifest still yields a package, refused MANIFEST_MALFORMED; its
    records file is still read when the manifest names one, so every record can be
    answered REJECTED.
    """
    if not directory.is_dir():
        raise BadInput(f"request directory {directory} does not exist")
    manifest_bytes, problem = files.read_manifest(directory / "manifest.json")
    digest = hashlib.sha256(manifest_bytes)
    digest.update(b"\x00")
    manifest, parse_problem = _parse_manifest(manifest_bytes) if problem is None else (None, None)
    problem = problem or parse_problem
    sent = manifest.raw if manifest is not None else files.peek(manifest_bytes)
    name = sent.get("records_file")
    records_path, records_sha, file_problem = None, None, None
    if files.safe_file_name(name):
        records_path, records_sha, file_problem = _records_file(
            directory / name, digest, max_records_bytes)
    elif manifest is not None:
        file_problem = RequestRefused(
            "MANIFEST_MALFORMED", "records_file must name a file beside manifest.json")
    problem = problem or file_problem
    return Package(
        directory=directory,
        manifest_bytes=manifest_bytes,
        manifest=manifest,
        records_path=records_path,
        package_sha256=digest.hexdigest(),
        records_sha256=records_sha,
        request_id=sent["request_id"] if valid_request_id(sent.get("request_id")) else None,
        problem=problem,
        requesting_agency=_as_sent(sent.get("requesting_agency")),
        signing_official=_as_sent(sent.get("signing_official")),
    )


def _records_file(
    path: Path, package_digest: Any, max_bytes: int | None
) -> tuple[Path | None, str | None, RequestRefused | None]:
    """(path, sha256) of a readable records file, else (None, None, why not)."""
    label = f"records file {path.name}" if _SHOWN_NAME.fullmatch(path.name) else "the records file"
    problem = files.file_problem(path, label, "RECORDS_MALFORMED")
    if problem is not None:
        return None, None, problem
    size = path.stat().st_size
    if max_bytes is not None and size > max_bytes:
        package_digest.update(f"oversize:{size}".encode())
        return None, None, RequestRefused(
            "REQUEST_TOO_LARGE", f"{label} is larger than {max_bytes} bytes")
    try:
        return path, files.hash_into(path, package_digest), None
    except OSError:
        return None, None, RequestRefused("RECORDS_MALFORMED", f"{label} cannot be read")


def _as_sent(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _parse_manifest(data: bytes) -> tuple[Manifest | None, RequestRefused | None]:
    if len(data) > MAX_MANIFEST_BYTES:
        return None, RequestRefused("MANIFEST_MALFORMED", "manifest.json is larger than 1 MiB")
    try:
        obj = strict_json.loads(data)
    except strict_json.JSONRefused as exc:
        return None, RequestRefused("MANIFEST_MALFORMED", f"manifest.json {exc}")
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
    if not valid_request_id(obj["request_id"]):
        return None, RequestRefused("MANIFEST_MALFORMED", REQUEST_ID_RULE)
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


def _verifying(manifest: Manifest, officials: list[Official]) -> tuple[bool, list[Official]]:
    """(whether any official of the claimed agency has the signing id, those whose key
    verifies the signature over the canonical manifest without its signature)."""
    body = {k: v for k, v in manifest.raw.items() if k != "signature"}
    candidates = [
        o
        for o in officials
        if o.official_id == manifest.raw["signing_official"]
        and o.agency == manifest.raw["requesting_agency"]
    ]
    message = canonical_json(body)
    return bool(candidates), [
        o
        for o in candidates
        if verify(load_public_key_pem(o.public_key_pem), message, manifest.raw["signature"])
    ]


def signer_verified(manifest: Manifest | None, officials: list[Official]) -> bool:
    """True when the manifest's signature verifies under the key of an official the
    registry holds for the agency it names (whatever the dates): its agency and signer
    are then authenticated."""
    if manifest is None:
        return False
    return bool(_verifying(manifest, officials)[1])


def check_signature(
    manifest: Manifest, officials: list[Official], received: dt.date | None = None
) -> None:
    """R1/R3: the signing official is registered for the agency, valid on created_at
    and on ``received`` (the day of receipt, when given), and the signature verifies
    over the canonical manifest without its signature."""
    known, verified = _verifying(manifest, officials)
    if not known:
        raise RequestRefused(
            "OFFICIAL_NOT_AUTHORIZED", "the signing official is not registered for this agency"
        )
    if not verified:
        raise RequestRefused("SIGNATURE_INVALID", "the manifest signature does not verify")
    day = manifest.created.date()
    if not any(o.valid_on(day) for o in verified):
        raise RequestRefused(
            "OFFICIAL_NOT_VALID_ON_DATE",
            "the signing official's registration is not valid on created_at",
        )
    if received is not None and not any(o.valid_on(day) and o.valid_on(received)
                                        for o in verified):
        raise RequestRefused(
            "OFFICIAL_NOT_VALID_ON_DATE",
            "the signing official's registration is not valid on the day of receipt",
        )


def check_fresh(manifest: Manifest, received: dt.datetime, policy: Policy) -> None:
    """R1, contract §2: created_at lies within the policy's window before receipt and
    not later than receipt beyond the allowed clock skew."""
    age = received - manifest.created
    if -age > dt.timedelta(minutes=policy.created_at_max_skew_minutes):
        raise RequestRefused(
            "CREATED_AT_INVALID",
            f"created_at lies more than {policy.created_at_max_skew_minutes} minutes "
            "after receipt",
        )
    if age > dt.timedelta(days=policy.created_at_max_age_days):
        raise RequestRefused(
            "CREATED_AT_STALE",
            f"created_at lies more than {policy.created_at_max_age_days} days before receipt",
        )


def check_records_digest(package: Package) -> None:
    assert package.manifest is not None
    if package.records_sha256 != str(package.manifest.raw["records_sha256"]).lower():
        raise RequestRefused("CHECKSUM_MISMATCH", "records_sha256 does not match the records file")


def _header_problems(header: list[str]) -> list[str]:
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
    return problems


def read_header(path: Path) -> list[str]:
    """The records file's header row, checked against the contract's columns."""
    header = records_csv.read_header(path)
    problems = _header_problems(header)
    if problems:
        raise RequestRefused(
            "RECORDS_MALFORMED", f"records file {path.name}: " + "; ".join(problems))
    return header


def read_header_leniently(path: Path) -> list[str]:
    """The records file's header row as written, for a refusal that must still name every
    record: columns missing or unknown, so long as ``record_id`` is one and none repeats."""
    header = records_csv.read_header(path)
    if "record_id" not in header:
        raise RequestRefused("RECORDS_MALFORMED", f"records file {path.name} names no records")
    if len(set(header)) != len(header):
        dupes = sorted({c for c in header if header.count(c) > 1})
        raise RequestRefused("RECORDS_MALFORMED",
                             f"records file {path.name}: repeated columns " + ", ".join(dupes))
    return header


def load_records(con: duckdb.DuckDBPyConnection, path: Path, table: str, *,
                 any_columns: bool = False) -> int:
    """Read the records file into ``table`` (all VARCHAR, every contract column, plus
    ``row_number``); return the number of records. The records are those of
    :mod:`taxgate.records_csv` (RFC 4180 in full); any malformed row refuses the whole
    request. ``any_columns``: missing and unknown columns accepted (a refusal names every
    record)."""
    header = read_header_leniently(path) if any_columns else read_header(path)
    return records_csv.load(con, path, table, header)
