"""The agency's side, with no store: build and sign a request package, check it before
sending, and verify a response (docs/integration.md).

Every rule is the gateway's own: the manifest and records are read by
:mod:`taxgate.intake`, each record is judged by :func:`taxgate.statute.evaluate_records`
and each request-level rule is the function the pipeline calls. What needs the
gateway's store (the registry of officials, the agency's safeguards status, the
request ids already taken, the taxpayer filings) is not consulted; with the signing
official's public key the signature is checked too. Messages name files, rows,
record ids and reason codes, never a value of a record.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from taxgate import intake, standardize, statute, strict_json
from taxgate import package_files as files
from taxgate.canonical import (
    load_private_key_pem,
    load_public_key_pem,
    public_key_pem,
    sha256_file,
    sign_object,
    verify_object,
)
from taxgate.domain import Official
from taxgate.errors import BadInput, RequestRefused
from taxgate.records import RESULT_COLUMNS, Outcome
from taxgate.settings import Policy
from taxgate.stage_table import table_of

MAX_RESPONSE_BYTES = 1 << 20


@dataclass(frozen=True)
class ManifestFields:
    """What the agency states in a manifest; the kit adds the records' name, digest,
    count, the contract version and the signature."""

    request_id: str
    requesting_agency: str
    signing_official: str
    legal_authority: str
    criminal_statute: str
    taxable_periods: list[int]
    reason: str
    created_at: str


# The package's records and their rule checks, in a connection of the check's own.
_RECORDS, _CHECKS = "_tg_agency_records", "_tg_agency_checks"


def now_utc() -> str:
    """The current time as a manifest's created_at (whole seconds, UTC)."""
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def create_package(records: Path, private_key: bytes, fields: ManifestFields, out_dir: Path,
                   passphrase: bytes | None = None) -> dict[str, Any]:
    """Write ``out_dir``/manifest.json (signed) beside a copy of ``records``; return the
    signed manifest. The records file must be read by the gateway's own reader."""
    key = _private_key(private_key, passphrase)
    _check_fields(fields)
    name = records.name
    if not files.safe_file_name(name):
        raise BadInput("the records file's name cannot be sent: rename it (e.g. records.csv)")
    if records.is_symlink() or not records.is_file():
        raise BadInput(f"the records file {records} is not a regular file")
    if out_dir.exists() and (not out_dir.is_dir() or any(out_dir.iterdir())):
        raise BadInput(f"the output folder {out_dir} is not an empty folder")
    out_dir.mkdir(parents=True, exist_ok=True)
    try:
        copy = out_dir / name
        shutil.copyfile(records, copy)
        con = duckdb.connect()
        try:  # the gateway's own reader: a file it would refuse is never signed
            count = intake.load_records(con, copy, _RECORDS)
        finally:
            con.close()
        manifest = {"contract_version": intake.SUPPORTED_CONTRACT_VERSIONS[-1],
                    **fields.__dict__, "records_file": name,
                    "records_sha256": sha256_file(copy), "record_count": count}
        signed = sign_object(key, manifest)
        (out_dir / "manifest.json").write_text(
            json.dumps(signed, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    except BaseException:
        for path in out_dir.iterdir():
            path.unlink()
        raise
    return signed


def _private_key(data: bytes, passphrase: bytes | None) -> Any:
    try:
        return load_private_key_pem(data, passphrase)
    except TypeError:
        raise BadInput("the private key is encrypted: give its passphrase") from None
    except ValueError:
        raise BadInput("the private key is not a PEM Ed25519 private key, or the passphrase "
                       "is wrong") from None


def _check_fields(fields: ManifestFields) -> None:
    if not intake.valid_request_id(fields.request_id):
        raise BadInput(intake.REQUEST_ID_RULE)
    try:
        intake.parse_created_at(fields.created_at)
    except (ValueError, TypeError):
        raise BadInput("created_at must be an ISO 8601 time with a zone, e.g. "
                       "2026-11-20T14:00:00Z") from None
    for name in ("requesting_agency", "signing_official", "legal_authority",
                 "criminal_statute", "reason"):
        if not str(getattr(fields, name)).strip():
            raise BadInput(f"{name} must not be blank")


# --- checking a package before it is sent --------------------------------------------


@dataclass(frozen=True)
class Finding:
    """A record the gateway would not match: REJECTED, or held (REVIEW) by a rule."""

    row: int  # the record's position in the file, from 1
    record_id: str
    outcome: str
    reasons: tuple[str, ...]


@dataclass
class PackageCheck:
    """The local verdict on a package: request-level refusals (in the gateway's order:
    it answers with the first) and the records that would not pass."""

    request_id: str | None
    signature_checked: bool
    records: int | None = None
    refusals: list[RequestRefused] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)

    @property
    def rejected(self) -> int:
        return sum(f.outcome == Outcome.REJECTED for f in self.findings)

    @property
    def held(self) -> int:
        return sum(f.outcome == Outcome.REVIEW for f in self.findings)

    @property
    def passes(self) -> bool:
        """No refusal of the whole request and no record REJECTED."""
        return not self.refusals and self.rejected == 0


def check_package(directory: Path, policy: Policy, public_key: bytes | None = None,
                  received: dt.datetime | None = None) -> PackageCheck:
    """The gateway's checks that need no store, on the package in ``directory`` as if it
    were received at ``received`` (default now)."""
    received = received or dt.datetime.now(dt.UTC)
    key = load_public_key_pem(public_key) if public_key is not None else None
    pkg = intake.read_package(directory, policy.max_records_file_bytes)
    result = PackageCheck(pkg.request_id, key is not None)
    officials = None
    if key is not None and pkg.manifest is not None and pkg.problem is None:
        officials = [Official(pkg.manifest.raw["signing_official"],
                              pkg.manifest.raw["requesting_agency"], "", public_key_pem(key),
                              dt.date.min)]
    con = duckdb.connect()
    try:
        result.records, result.refusals = request_refusals(con, pkg, policy, received,
                                                           officials)
        if result.records is not None:
            day = (_created(pkg.manifest) or received).date()
            result.findings = _findings(con, day, policy)
    finally:
        con.close()
    return result


def request_refusals(con: duckdb.DuckDBPyConnection, pkg: intake.Package, policy: Policy,
                     received: dt.datetime, officials: list[Official] | None = None, *,
                     safeguards_current: bool | None = None, first_only: bool = False
                     ) -> tuple[int | None, list[RequestRefused]]:
    """The refusals of the whole request, in the gateway's order (it answers with the
    first), that need no taxpayer filings: ``officials`` are the registry's entries the
    signature is checked against (None: not checked), ``safeguards_current`` the agency's
    status (None: not checked). The records are read into ``con``; returns their count
    (None when they cannot be read) and the refusals. ``first_only``: stop at the first."""
    refusals: list[RequestRefused] = []
    if pkg.problem is not None:
        refusals.append(pkg.problem)
    manifest = pkg.manifest
    created = _created(manifest)
    if manifest is not None and created is not None and pkg.problem is None:
        if officials is not None:
            _collect(refusals, intake.check_signature, manifest, officials, received.date())
        _collect(refusals, intake.check_fresh, manifest, received, policy)
        _collect(refusals, intake.check_records_digest, pkg)
    if pkg.records_path is None or (first_only and refusals):
        return None, refusals
    try:
        count = intake.load_records(con, pkg.records_path, _RECORDS)
    except RequestRefused as refusal:
        return None, [*refusals, refusal]
    _request_rules(refusals, count, manifest, created, policy, pkg.problem is None,
                   safeguards_current)
    return count, refusals


def first_refusal(pkg: intake.Package, policy: Policy, received: dt.datetime,
                  officials: list[Official], safeguards_current: bool | None
                  ) -> RequestRefused | None:
    """The refusal the gateway answers ``pkg`` with, when the rules that need no
    taxpayer filings refuse it (:func:`request_refusals`); else None."""
    con = duckdb.connect()
    try:
        refusals = request_refusals(con, pkg, policy, received, officials,
                                    safeguards_current=safeguards_current, first_only=True)[1]
    finally:
        con.close()
    return refusals[0] if refusals else None


def _created(manifest: intake.Manifest | None) -> dt.datetime | None:
    try:
        return manifest.created if manifest is not None else None
    except (ValueError, TypeError):
        return None


def _collect(refusals: list[RequestRefused], rule: Callable[..., object],
             *args: Any) -> None:
    try:
        rule(*args)
    except RequestRefused as refusal:
        refusals.append(refusal)


def _request_rules(refusals: list[RequestRefused], count: int,
                   manifest: intake.Manifest | None, created: dt.datetime | None,
                   policy: Policy, usable: bool, safeguards_current: bool | None) -> None:
    """The request-level rules after the records are read, as the pipeline orders them
    (the agency's safeguards status only when given: it is the gateway's to know)."""
    if manifest is not None and usable and count != manifest.raw["record_count"]:
        refusals.append(RequestRefused("RECORD_COUNT_MISMATCH",
                                       "record_count does not match the file"))
    _collect(refusals, statute.check_request_size, count, policy)
    if manifest is None or created is None or not usable:
        return
    if safeguards_current is not None:
        _collect(refusals, statute.check_safeguards, safeguards_current)
    m = manifest.raw
    _collect(refusals, statute.check_legal_authority, m["legal_authority"], policy)
    _collect(refusals, statute.check_criminal_statute, m["criminal_statute"], policy)
    _collect(refusals, statute.check_taxable_periods, m["taxable_periods"],
             created.year, policy)
    _collect(refusals, statute.check_reason, m["reason"], policy)


def _findings(con: duckdb.DuckDBPyConnection, created: dt.date,
              policy: Policy) -> list[Finding]:
    """Every record a rule rejects (or holds), with its codes, as the gateway lists them."""
    standardize.install(con)
    checks = statute.evaluate_records(con, table_of(con, _RECORDS), _CHECKS,
                                      created=created.isoformat(), policy=policy)
    rows = con.execute(
        "SELECT r.row_number, coalesce(r.record_id, ''), u.rejections, u.holds "
        f"FROM {_RECORDS} r JOIN {checks.name} u USING (row_number) "
        "WHERE len(u.rejections) > 0 OR len(u.holds) > 0 ORDER BY r.row_number").fetchall()
    return [Finding(int(row), rid, Outcome.REJECTED if rej else Outcome.REVIEW,
                    tuple(rej or holds)) for row, rid, rej, holds in rows]


# --- verifying a response -------------------------------------------------------------


@dataclass(frozen=True)
class VerifiedResponse:
    request_id: str | None
    record_count: int
    counts: dict[str, int]
    follow_up_seq: int | None


def verify_response(directory: Path, gateway_key: bytes) -> VerifiedResponse:
    """Check response.json's signature under the gateway's key, then that its results
    file is the one signed (digest), with as many rows and outcomes as it states."""
    key = load_public_key_pem(gateway_key)
    path = directory / "response.json"
    try:
        with files.open_regular(path) as f:
            data = f.read(MAX_RESPONSE_BYTES + 1)
    except OSError:
        raise BadInput(f"{directory} holds no readable response.json") from None
    try:
        obj = strict_json.loads(data[:MAX_RESPONSE_BYTES])
    except BadInput as exc:
        raise BadInput(f"response.json {exc}") from None
    if not isinstance(obj, dict) or not verify_object(key, obj):
        raise BadInput("response.json: the signature does not verify under the gateway key")
    name = obj.get("records_file")
    if not files.safe_file_name(name) or not (directory / name).is_file():
        raise BadInput("the response's results file is missing")
    if sha256_file(directory / name) != obj.get("records_sha256"):
        raise BadInput(f"{name} does not match the signed records_sha256: it was changed")
    counts = _count_results(directory / name)
    stated = {k: v for k, v in (obj.get("counts") or {}).items() if v}
    if sum(counts.values()) != obj.get("record_count") or counts != stated:
        raise BadInput(f"{name} does not hold the records and outcomes the response states")
    return VerifiedResponse(obj.get("request_id"), int(obj["record_count"]),
                            dict(obj.get("counts") or {}), obj.get("follow_up_seq"))


def _count_results(path: Path) -> dict[str, int]:
    """Rows per outcome of a results file; BadInput when it is not one."""
    counts: dict[str, int] = {}
    outcomes = {o.value for o in Outcome}
    try:
        with path.open(encoding="utf-8", newline="") as f:
            reader = csv.reader(f, strict=True)
            if tuple(next(reader, ())) != RESULT_COLUMNS:
                raise BadInput(f"{path.name} does not have the columns {','.join(RESULT_COLUMNS)}")
            for row in reader:
                if len(row) != len(RESULT_COLUMNS) or row[1] not in outcomes:
                    raise BadInput(f"{path.name} line {reader.line_num} is not a result row")
                counts[row[1]] = counts.get(row[1], 0) + 1
    except (UnicodeDecodeError, csv.Error):
        raise BadInput(f"{path.name} is not UTF-8 CSV") from None
    return counts
