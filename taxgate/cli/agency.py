"""The agency kit: build and sign a request package, check it before sending, verify a
response (docs/integration.md). None of these opens a store.

Values read from a package are printed through ``for_terminal``; a check prints row
numbers, record ids and reason codes only, never a value of a record.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from taxgate.cli._common import err, out, run, settings_for
from taxgate.errors import BadInput
from taxgate.untrusted import for_terminal as shown

if TYPE_CHECKING:  # taxgate.agency (intake, statute, Arrow) is imported by the commands
    from taxgate.agency import PackageCheck

package_app = typer.Typer(help="Request packages on the agency's side: build, sign and "
                          "check them (no store needed).", no_args_is_help=True)
response_app = typer.Typer(help="Responses on the agency's side: verify the gateway's "
                           "signature (no store needed).", no_args_is_help=True)

JsonOpt = Annotated[bool, typer.Option("--json", help="Print the result as JSON.")]


def _read(path: Path, what: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError:
        raise BadInput(f"{what} {path} cannot be read") from None


def _periods(text: str) -> list[int]:
    try:
        years = [int(p) for p in text.split(",") if p.strip()]
    except ValueError:
        raise BadInput("--taxable-periods must list years, e.g. 2023,2024,2025") from None
    if not years:
        raise BadInput("--taxable-periods must list years, e.g. 2023,2024,2025")
    return years


@package_app.command("create")
def package_create(
    records: Annotated[Path, typer.Option(help="The records CSV (copied into the package).")],
    key: Annotated[Path, typer.Option(help="The signing official's Ed25519 private key "
                                      "(PEM, PKCS#8).")],
    request_id: Annotated[str, typer.Option("--request-id", help="Your id for this request, "
                                            "e.g. ICE-2026-000123.")],
    agency_: Annotated[str, typer.Option("--agency", help="requesting_agency, e.g. DHS-ICE.")],
    official: Annotated[str, typer.Option(help="signing_official: the id the gateway "
                                          "registered for the key.")],
    legal_authority: Annotated[str, typer.Option(help="e.g. '26 U.S.C. 6103(i)(2)'.")],
    criminal_statute: Annotated[str, typer.Option(help="e.g. '8 U.S.C. 1253(a)(1)'.")],
    taxable_periods: Annotated[str, typer.Option(help="Tax years, e.g. 2023,2024,2025.")],
    reason: Annotated[str, typer.Option(help="Why the information is relevant to the "
                                        "investigation.")],
    out_dir: Annotated[Path, typer.Option("--out", help="New (or empty) folder for the "
                                          "package.")],
    created_at: Annotated[str | None, typer.Option(help="ISO 8601 time with a zone; "
                                                   "default now.")] = None,
    passphrase_stdin: Annotated[bool, typer.Option(
        "--passphrase-stdin", help="Read the private key's passphrase from stdin.")] = False,
) -> None:
    """Build a signed request package: copy the records, compute their digest and
    count, sign the manifest with the official's key."""
    from taxgate import agency

    def _do() -> dict[str, Any]:
        fields = agency.ManifestFields(
            request_id=request_id, requesting_agency=agency_, signing_official=official,
            legal_authority=legal_authority, criminal_statute=criminal_statute,
            taxable_periods=_periods(taxable_periods), reason=reason,
            created_at=created_at or agency.now_utc())
        secret = sys.stdin.readline().rstrip("\r\n").encode() if passphrase_stdin else None
        return agency.create_package(records, _read(key, "private key"), fields, out_dir,
                                     secret)

    signed = run(_do)
    out.print(f"package {shown(out_dir)}: request {shown(signed['request_id'])}, "
              f"{signed['record_count']:,} records, records_sha256 {signed['records_sha256']}",
              soft_wrap=True)


@package_app.command("check")
def package_check(
    request_dir: Annotated[Path, typer.Argument(help="Folder with manifest.json and records.")],
    public_key: Annotated[Path | None, typer.Option(
        "--public-key", help="The signing official's public key (PEM): check the "
        "signature too.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Check a package with the gateway's own rules, before sending it: every record's
    reason codes and the request-level refusals that need no store. Exit 2 when a record
    would be REJECTED or the request refused."""
    from taxgate import agency

    settings = settings_for(None)
    pem = run(_read, public_key, "public key") if public_key else None
    result = run(agency.check_package, request_dir, settings.policy, pem)
    if as_json:
        sys.stdout.write(json.dumps(_check_json(result), indent=2) + "\n")
    else:
        _print_check(result)
    if not result.passes:
        why = (f"the request would be refused: {result.refusals[0].reason}" if result.refusals
               else f"{result.rejected:,} records would be REJECTED")
        err.print(f"taxgate: {why}", soft_wrap=True)
        raise typer.Exit(2)


def _check_json(result: PackageCheck) -> dict[str, Any]:
    return {
        "request_id": result.request_id, "records": result.records,
        "signature_checked": result.signature_checked, "passes": result.passes,
        "rejected": result.rejected, "held": result.held,
        "refusals": [{"code": r.reason, "message": str(r)} for r in result.refusals],
        "findings": [{"row": f.row, "record_id": f.record_id, "outcome": f.outcome,
                      "reasons": list(f.reasons)} for f in result.findings],
    }


def _print_check(result: PackageCheck) -> None:
    for f in result.findings:
        out.print(f"row {f.row} record {shown(f.record_id)}: {f.outcome} "
                  f"{';'.join(f.reasons)}", soft_wrap=True)
    for r in result.refusals:
        out.print(f"request refused: {shown(r)}", soft_wrap=True)
    total = result.records or 0
    passing = total - result.rejected - result.held
    out.print(f"request {shown(result.request_id or '(none)')}: {total:,} records, "
              f"{passing:,} pass, {result.rejected:,} would be REJECTED, "
              f"{result.held:,} held for review", soft_wrap=True)
    if not result.signature_checked:
        out.print("signature not checked: give --public-key")


@response_app.command("verify")
def response_verify(
    response_dir: Annotated[Path, typer.Argument(help="Folder with response.json and "
                                                 "results.csv.")],
    gateway_key: Annotated[Path, typer.Option(
        "--gateway-key", help="The gateway's public key (PEM), from `taxgate gateway-key`.")],
    as_json: JsonOpt = False,
) -> None:
    """Verify a response (or follow-up): the gateway's signature over response.json and
    the digest, rows and outcomes of its results.csv. Exit 2 when it does not verify."""
    from taxgate import agency

    pem = run(_read, gateway_key, "gateway key")
    v = run(agency.verify_response, response_dir, pem)
    if as_json:
        sys.stdout.write(json.dumps({"verified": True, "request_id": v.request_id,
                                     "record_count": v.record_count, "counts": v.counts,
                                     "follow_up_seq": v.follow_up_seq}) + "\n")
        return
    counts = ", ".join(f"{k} {n:,}" for k, n in sorted(v.counts.items()) if n)
    follow = f" (follow-up {v.follow_up_seq})" if v.follow_up_seq is not None else ""
    out.print(f"response verified: request {shown(v.request_id)}{follow}, "
              f"{v.record_count:,} records: {counts or 'none'}", soft_wrap=True)


def register(app: typer.Typer) -> None:
    """Add the agency kit's commands to the ``taxgate`` command."""
    app.add_typer(package_app, name="package")
    app.add_typer(response_app, name="response")
