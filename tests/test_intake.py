"""Intake: manifest shape, signature, official registry, records file shape (R1, R3)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import duckdb
import pytest

from taxgate import intake
from taxgate.canonical import (
    new_signing_key,
    public_key_pem,
    sha256_file,
    sign_object,
)
from taxgate.domain import Official
from taxgate.errors import RequestRefused
from taxgate.records import REQUEST_COLUMNS

HEADER = ",".join(REQUEST_COLUMNS)
ROW = "r1,Jose,,Garcia,,1980-01-02,,,123 Main St,,Fresno,CA,93701,2025-01-01,,C1,O1"


def _package(tmp: Path, key, body: str | bytes, **overrides) -> Path:
    d = tmp / "req"
    d.mkdir(exist_ok=True)
    data = body.encode() if isinstance(body, str) else body
    (d / "records.csv").write_bytes(data)
    m = {
        "contract_version": 1,
        "request_id": "ICE-1",
        "requesting_agency": "DHS-ICE",
        "signing_official": "ice-director",
        "legal_authority": "26 U.S.C. 6103(i)(2)",
        "criminal_statute": "8 U.S.C. 1253(a)(1)",
        "taxable_periods": [2024],
        "reason": "Locating persons with final removal orders for the named cases",
        "created_at": "2026-11-20T14:00:00Z",
        "records_file": "records.csv",
        "records_sha256": sha256_file(d / "records.csv"),
        "record_count": 1,
    }
    m.update(overrides)
    m = sign_object(key, m)
    (d / "manifest.json").write_text(json.dumps(m), encoding="utf-8")
    return d


def _official(key, **kw) -> Official:
    base = dict(
        official_id="ice-director",
        agency="DHS-ICE",
        title="Director",
        public_key_pem=public_key_pem(key),
        valid_from=dt.date(2026, 1, 1),
    )
    base.update(kw)
    return Official(**base)


@pytest.fixture
def key():
    return new_signing_key()


def test_r1_r3_valid_signature_by_registered_official(tmp_path, key):
    pkg = intake.read_package(_package(tmp_path, key, f"{HEADER}\n{ROW}\n"))
    assert pkg.problem is None
    intake.check_signature(pkg.manifest, [_official(key)])
    intake.check_records_digest(pkg)


def test_r1_signature_by_unknown_key_is_refused(tmp_path, key):
    pkg = intake.read_package(_package(tmp_path, new_signing_key(), f"{HEADER}\n{ROW}\n"))
    with pytest.raises(RequestRefused) as exc:
        intake.check_signature(pkg.manifest, [_official(key)])
    assert exc.value.reason == "SIGNATURE_INVALID"


def test_r1_official_of_another_agency_is_not_authorized(tmp_path, key):
    pkg = intake.read_package(_package(tmp_path, key, f"{HEADER}\n{ROW}\n"))
    with pytest.raises(RequestRefused) as exc:
        intake.check_signature(pkg.manifest, [_official(key, agency="DOJ")])
    assert exc.value.reason == "OFFICIAL_NOT_AUTHORIZED"


@pytest.mark.parametrize("start,end", [((2026, 12, 1), None), ((2025, 1, 1), (2026, 11, 19))])
def test_r2_official_outside_validity_dates(tmp_path, key, start, end):
    pkg = intake.read_package(_package(tmp_path, key, f"{HEADER}\n{ROW}\n"))
    off = _official(key, valid_from=dt.date(*start), valid_to=dt.date(*end) if end else None)
    with pytest.raises(RequestRefused) as exc:
        intake.check_signature(pkg.manifest, [off])
    assert exc.value.reason == "OFFICIAL_NOT_VALID_ON_DATE"


def test_r3_edited_manifest_breaks_signature(tmp_path, key):
    d = _package(tmp_path, key, f"{HEADER}\n{ROW}\n")
    m = json.loads((d / "manifest.json").read_text())
    m["taxable_periods"] = [2020, 2021, 2022, 2023, 2024]
    (d / "manifest.json").write_text(json.dumps(m))
    with pytest.raises(RequestRefused) as exc:
        intake.check_signature(intake.read_package(d).manifest, [_official(key)])
    assert exc.value.reason == "SIGNATURE_INVALID"


def test_records_edited_after_signing_fail_checksum(tmp_path, key):
    d = _package(tmp_path, key, f"{HEADER}\n{ROW}\n")
    (d / "records.csv").write_text(f"{HEADER}\n{ROW.replace('123', '124')}\n")
    with pytest.raises(RequestRefused) as exc:
        intake.check_records_digest(intake.read_package(d))
    assert exc.value.reason == "CHECKSUM_MISMATCH"


@pytest.mark.parametrize("content", [b"{not json", b"\xff\xfe", b"[1,2]", b'{"request_id": "x"}'])
def test_malformed_manifest_is_a_request_problem(tmp_path, content):
    d = tmp_path / "req"
    d.mkdir()
    (d / "manifest.json").write_bytes(content)
    pkg = intake.read_package(d)
    assert pkg.problem is not None and pkg.problem.reason == "MANIFEST_MALFORMED"


@pytest.mark.parametrize(
    "body,fragment",
    [
        (b"", "empty"),
        (f"{HEADER},extra\n{ROW},x\n".encode(), "unknown columns"),
        (
            f"{HEADER.replace('officer_id,', '').replace(',officer_id', '')}\n".encode(),
            "missing columns officer_id",
        ),
        (f"{HEADER}\n{ROW},surplus\n".encode(), "wrong number of fields"),
        (f"{HEADER}\n{ROW}\n".encode().replace(b"Jose", b"Jos\xe9"), "UTF-8"),
        (f"{HEADER}\n{ROW}\n".replace("Fresno", "x" * 10_000_000).encode(), "longer"),
    ],
)
def test_malformed_records_are_refused_with_one_line_and_no_values(tmp_path, key, body, fragment):
    d = _package(tmp_path, key, body)
    with pytest.raises(RequestRefused) as exc:
        intake.load_records(duckdb.connect(), d / "records.csv", "t")
    msg = str(exc.value)
    assert exc.value.reason == "RECORDS_MALFORMED"
    assert fragment in msg and "\n" not in msg
    assert "Garcia" not in msg and "Main" not in msg and "xxxx" not in msg


def test_quoted_newline_in_a_field_is_a_valid_record(tmp_path, key):
    quoted = '"123 Main St\nRear"'
    body = f"{HEADER}\n{ROW.replace('123 Main St', quoted)}\n"
    d = _package(tmp_path, key, body)
    con = duckdb.connect()
    assert intake.load_records(con, d / "records.csv", "t") == 1
    assert con.execute("SELECT row_number, record_id FROM t").fetchall() == [(1, "r1")]


def test_r18_a_refusal_reads_the_record_ids_of_a_file_with_missing_or_unknown_columns(tmp_path):
    """Contract §3: a whole-request refusal answers every record REJECTED when the records
    can be read, also when the header misses a column or names one the contract does not
    (the strict read refuses both); a header name is agency text, never SQL."""
    path = tmp_path / "records.csv"
    header = "record_id,first_name,\"x'); DROP TABLE t; --\",[/bold]"
    path.write_bytes(f"{header}\r\nR1,A,1,2\r\nR2,B,3,4\r\n".encode())
    con = duckdb.connect()
    with pytest.raises(RequestRefused, match="missing columns"):
        intake.load_records(con, path, "t")
    assert intake.load_records(con, path, "t", any_columns=True) == 2
    assert con.execute("SELECT record_id, city FROM t ORDER BY row_number").fetchall() == [
        ("R1", None), ("R2", None)]
    path.write_text("record_id,record_id\nR1,R2\n", encoding="utf-8")
    with pytest.raises(RequestRefused, match="repeated columns"):
        intake.load_records(con, path, "t", any_columns=True)
