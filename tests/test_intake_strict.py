"""Intake against hostile packages, without a store: strict manifest JSON, RFC 4180
records files, links and special files, the request_id syntax, fresh signatures
(R1, R3, R18, R37, contract §2). The end-to-end cases are in test_intake_hostile.py."""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path

import duckdb
import pytest
from test_intake import HEADER, ROW, _official, _package
from test_statute import reasons

from taxgate import intake, strict_json
from taxgate.canonical import new_signing_key
from taxgate.errors import RequestRefused
from taxgate.records import REQUEST_COLUMNS
from taxgate.settings import Policy

ROWS = [ROW.replace("r1", f"r{i}", 1) for i in range(1, 4)]


@pytest.fixture
def key():
    return new_signing_key()


# --- strict JSON --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text,why",
    [
        ('{"a": 1, "a": 2}', "repeats a key"),
        ('{"a": {"b": 1, "b": 1}}', "repeats a key"),
        ('{"record_count": ' + "9" * 5000 + "}", "number longer"),
        ('{"x": 1.' + "5" * 40 + "}", "number longer"),
        ('{"record_count": NaN}', "NaN"),
        ('{"record_count": -Infinity}', "-Infinity"),
        ('{"reason": ' + "[" * 100_000 + "]" * 100_000 + "}", "nested deeper"),
        ('{"reason": ' + "[" * 8 + "]" * 8 + "}", "nested deeper"),
        ('{"a": 1', "not well-formed"),
    ],
)
def test_contract_s2_strict_json_refuses_with_one_line(text, why):
    with pytest.raises(strict_json.JSONRefused) as exc:
        strict_json.loads(text.encode())
    assert why in str(exc.value) and "\n" not in str(exc.value)
    assert "9999" not in str(exc.value)


def test_contract_s2_strict_json_reads_a_real_manifest_unchanged():
    m = {"a": [2023, 2024], "b": "x", "c": 1.5, "d": None, "e": {"f": [[1]]}, "n": 10**19}
    assert strict_json.loads(json.dumps(m).encode()) == m


# --- the request_id syntax ----------------------------------------------------------------


@pytest.mark.parametrize("rid", ["ICE-2026-000123", "a", "9", "ICE_BAD.case:1", "x" * 64])
def test_contract_s2_request_id_syntax_accepts(tmp_path, key, rid):
    pkg = intake.read_package(_package(tmp_path, key, f"{HEADER}\n{ROW}\n", request_id=rid))
    assert pkg.problem is None and pkg.request_id == rid


@pytest.mark.parametrize(
    "rid", ["", "x" * 65, "x" * 201, "-ICE", ".ICE", "ICE 1", "ICE/1", "ICE[bold]1", "ICE\n1",
            "ICE\u00e91", "ICE\u200b1", 7, None, ["ICE-1"]],
)
def test_contract_s2_request_id_outside_the_syntax_is_manifest_malformed(tmp_path, key, rid):
    pkg = intake.read_package(_package(tmp_path, key, f"{HEADER}\n{ROW}\n", request_id=rid))
    assert pkg.problem is not None and pkg.problem.reason == "MANIFEST_MALFORMED"
    assert pkg.request_id is None and pkg.manifest is None
    assert pkg.records_path is not None  # the records can still be answered REJECTED


# --- manifest and records files -------------------------------------------------------------


def test_contract_s2_missing_manifest_is_a_refusal_not_an_error(tmp_path):
    d = tmp_path / "req"
    d.mkdir()
    (d / "records.csv").write_text(f"{HEADER}\n{ROW}\n")
    pkg = intake.read_package(d)
    assert pkg.problem is not None and pkg.problem.reason == "MANIFEST_MALFORMED"
    assert "missing" in str(pkg.problem) and pkg.records_path is None


def test_r3_symlinked_records_file_is_refused(tmp_path, key):
    d = _package(tmp_path, key, f"{HEADER}\n{ROW}\n")
    outside = tmp_path / "elsewhere.csv"
    (d / "records.csv").rename(outside)
    (d / "records.csv").symlink_to(outside)
    pkg = intake.read_package(d)
    assert pkg.problem is not None and pkg.problem.reason == "RECORDS_MALFORMED"
    assert "symbolic link" in str(pkg.problem) and pkg.records_path is None


def test_r3_symlinked_manifest_is_refused(tmp_path, key):
    d = _package(tmp_path, key, f"{HEADER}\n{ROW}\n")
    (d / "manifest.json").rename(tmp_path / "m.json")
    (d / "manifest.json").symlink_to(tmp_path / "m.json")
    pkg = intake.read_package(d)
    assert pkg.problem is not None and pkg.problem.reason == "MANIFEST_MALFORMED"
    assert "symbolic link" in str(pkg.problem) and pkg.manifest is None


def test_r3_records_file_that_is_a_fifo_is_refused_without_blocking(tmp_path, key):
    d = _package(tmp_path, key, f"{HEADER}\n{ROW}\n")
    (d / "records.csv").unlink()
    os.mkfifo(d / "records.csv")
    pkg = intake.read_package(d)
    assert pkg.problem is not None and pkg.problem.reason == "RECORDS_MALFORMED"


@pytest.mark.parametrize("name", ["a\x00b.csv", "a\x1b[31m.csv", "../records.csv", ""])
def test_contract_s2_records_file_name_must_be_plain(tmp_path, key, name):
    d = _package(tmp_path, key, f"{HEADER}\n{ROW}\n", records_file=name)
    pkg = intake.read_package(d)
    assert pkg.problem is not None and pkg.problem.reason == "MANIFEST_MALFORMED"


def test_r18_records_file_over_the_size_bound_is_not_read(tmp_path, key):
    d = _package(tmp_path, key, f"{HEADER}\n{ROW}\n")
    pkg = intake.read_package(d, max_records_bytes=100)
    assert pkg.problem is not None and pkg.problem.reason == "REQUEST_TOO_LARGE"
    assert pkg.records_path is None and pkg.records_sha256 is None


# --- RFC 4180 records -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        "\r\n".join([HEADER, *ROWS]) + "\r\n",
        "\r\n".join([HEADER, *ROWS]),
        "\r".join([HEADER, *ROWS]) + "\r",
        "\ufeff" + "\r\n".join([HEADER, *ROWS]) + "\r\n",
        "\ufeff" + "\n".join([HEADER, *ROWS]) + "\n",
    ],
    ids=["crlf", "crlf-no-final", "cr", "bom-crlf", "bom-lf"],
)
def test_contract_s2_rfc4180_line_ends_and_bom_read_every_record(tmp_path, key, body):
    d = _package(tmp_path, key, body.encode())
    con = duckdb.connect()
    assert intake.load_records(con, d / "records.csv", "t") == 3
    assert con.execute("SELECT record_id FROM t ORDER BY row_number").fetchall() == [
        ("r1",), ("r2",), ("r3",)]


def test_contract_s2_rfc4180_quoted_crlf_and_quotes_inside_a_field(tmp_path, key):
    odd = ROWS[1].replace("123 Main St", '"123 ""Main"" St\r\nRear"')
    d = _package(tmp_path, key, ("\ufeff" + "\r\n".join([HEADER, ROWS[0], odd, ROWS[2]]) + "\r\n"
                                 ).encode())
    con = duckdb.connect()
    assert intake.load_records(con, d / "records.csv", "t") == 3
    got = con.execute("SELECT street_address FROM t ORDER BY row_number").fetchall()
    assert got[1] == ('123 "Main" St\r\nRear',) and got[2] == ("123 Main St",)


def test_contract_s2_mixed_line_ends_each_end_a_record_never_fewer(tmp_path, key):
    """RFC 4180 as the csv module reads it: CRLF, LF and CR each end a record, in one file
    too; a bare CR after a LF is a blank line, which is no record."""
    body = HEADER + "\r\n" + ROWS[0] + "\n" + ROWS[1] + "\r" + "\n\r" + ROWS[2] + "\n"
    d = _package(tmp_path, key, body.encode())
    con = duckdb.connect()
    assert intake.load_records(con, d / "records.csv", "t") == 3
    assert con.execute("SELECT record_id FROM t ORDER BY row_number").fetchall() == [
        ("r1",), ("r2",), ("r3",)]


@pytest.mark.parametrize(
    "field,value",
    [("first_name", "Jo\x00se"), ("city", "Fres\x1bno"), ("last_name", "Gar\x7fcia"),
     ("officer_id", "O\x851"), ("record_id", "r\x071")],
)
def test_r37_control_character_rejects_the_record(field, value):
    (rejections, _), (clean, _) = reasons({field: value}, {})
    assert "FIELD_CONTROL_CHARACTER" in rejections and clean == []


def test_r37_a_control_character_in_any_field_rejects_its_record():
    """Every field is read, each record with one in a field of its own."""
    got = reasons(*({field: "A\x01B"} for field in REQUEST_COLUMNS), {"unit": "A\tB"})
    assert ["FIELD_CONTROL_CHARACTER" in rejections for rejections, _ in got] == [
        *(True for _ in REQUEST_COLUMNS), False]


def test_r37_tab_and_line_breaks_are_not_control_characters():
    [(rejections, _)] = reasons({"street_address": "123 N Main St\r\nRear", "unit": "\tA"})
    assert "FIELD_CONTROL_CHARACTER" not in rejections


# --- fresh signatures (R1) ------------------------------------------------------------------

RECEIVED = dt.datetime(2026, 11, 20, 14, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    "created,code",
    [
        ("2026-11-13T14:00:00Z", None),  # exactly 7 days before receipt
        ("2026-11-13T13:59:59Z", "CREATED_AT_STALE"),
        ("2021-06-01T00:00:00Z", "CREATED_AT_STALE"),
        ("2026-11-20T14:05:00Z", None),  # the clock skew allowed
        ("2026-11-20T14:05:01Z", "CREATED_AT_INVALID"),
        ("9999-12-31T23:59:59Z", "CREATED_AT_INVALID"),
    ],
)
def test_r1_created_at_must_lie_in_the_window_before_receipt(tmp_path, key, created, code):
    pkg = intake.read_package(_package(tmp_path, key, f"{HEADER}\n{ROW}\n", created_at=created))
    assert pkg.problem is None
    if code is None:
        intake.check_fresh(pkg.manifest, RECEIVED, Policy())
        return
    with pytest.raises(RequestRefused) as exc:
        intake.check_fresh(pkg.manifest, RECEIVED, Policy())
    assert exc.value.reason == code


@pytest.mark.parametrize("created", ["9999-12-31T23:59:59-05:00", "0001-01-01T00:00:00+05:00"])
def test_r37_created_at_out_of_range_is_invalid_not_a_crash(tmp_path, key, created):
    pkg = intake.read_package(_package(tmp_path, key, f"{HEADER}\n{ROW}\n", created_at=created))
    assert pkg.problem is not None and pkg.problem.reason == "CREATED_AT_INVALID"


def test_r1_official_must_be_valid_at_receipt_as_well_as_at_created_at(tmp_path, key):
    pkg = intake.read_package(_package(tmp_path, key, f"{HEADER}\n{ROW}\n",
                                       created_at="2021-06-01T00:00:00Z"))
    ended = _official(key, valid_from=dt.date(2021, 1, 1), valid_to=dt.date(2021, 12, 31))
    intake.check_signature(pkg.manifest, [ended])  # valid on created_at
    with pytest.raises(RequestRefused) as exc:
        intake.check_signature(pkg.manifest, [ended], RECEIVED.date())
    assert exc.value.reason == "OFFICIAL_NOT_VALID_ON_DATE" and "receipt" in str(exc.value)


def test_r1_signer_verified_only_for_a_registered_key_of_the_named_agency(tmp_path, key):
    pkg = intake.read_package(_package(tmp_path, key, f"{HEADER}\n{ROW}\n"))
    assert intake.signer_verified(pkg.manifest, [_official(key)])
    assert not intake.signer_verified(pkg.manifest, [_official(new_signing_key())])
    assert not intake.signer_verified(pkg.manifest, [_official(key, agency="DHS-CBP")])
    assert not intake.signer_verified(None, [_official(key)])


def test_r37_refusal_messages_name_no_value(tmp_path: Path, key):
    d = _package(tmp_path, key, f"{HEADER}\n{ROW}\n", request_id="Garcia Jose 123 Main")
    pkg = intake.read_package(d)
    assert pkg.problem is not None and "Garcia" not in str(pkg.problem)


def test_contract_s2_a_stored_answer_is_given_again_only_to_its_agency_for_its_bytes(
        tmp_path, key):
    from taxgate.domain import StoredRequest
    from taxgate.pipeline.delivery import is_replay

    pkg = intake.read_package(_package(tmp_path, key, f"{HEADER}\n{ROW}\n"))

    def stored(agency: str | None, sha: str = pkg.package_sha256) -> StoredRequest:
        return StoredRequest("ICE-1", sha, "COMPLETE", "t", "t", "{}", agency)

    assert is_replay(stored("DHS-ICE"), pkg)
    assert not is_replay(stored("DHS-CBP"), pkg)  # the same bytes stored by another agency
    assert not is_replay(stored("DHS-ICE", "0" * 64), pkg)  # other bytes
    assert is_replay(stored(None), pkg)  # stored before migration 0003: the bytes decide


def test_contract_s2_a_manifest_with_a_byte_order_mark_is_read():
    """A UTF-8 byte order mark before manifest.json's text (a spreadsheet or Windows
    editor's habit) is ignored, as RFC 8259 allows; found by the long fuzz run, where
    such a manifest was refused and its records went unanswered."""
    assert strict_json.loads(b'\xef\xbb\xbf{"a": 1}') == {"a": 1}
    with pytest.raises(strict_json.JSONRefused):
        strict_json.loads(b'\xef\xbb\xbf{"a": 1, "a": 2}')


def test_contract_s3_a_malformed_manifest_with_a_byte_order_mark_still_names_its_records():
    """A refused manifest is still read for its records_file (to answer every record
    REJECTED), byte order mark or not."""
    from taxgate import package_files

    sent = package_files.peek(b'\xef\xbb\xbf{"request_id": 0, "records_file": "records.csv"}')
    assert sent["records_file"] == "records.csv"
