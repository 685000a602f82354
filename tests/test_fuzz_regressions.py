"""Regressions of the long fuzz run (bench/results/fuzz.md), one test per finding class,
end to end on both stores, each with its reproducer minimized: contract §3, every
record of a readable records file is answered exactly once, REJECTED with the request's
code when the whole request is refused, and nothing else is answered.

"Readable" is RFC 4180 as Python's csv module reads it with strict quoting (docs/intake.md);
the tests read the records and results.csv that way, apart from taxgate's reader.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from e2e import resign
from hostile_world import (
    ICE_ID,
    World,
    ice_outcomes,
    package,
    response_json,
    run,
    world_fixture,  # noqa: F401 - the fixture ``world``
)

from taxgate.gateway import Gateway
from taxgate.pipeline.common import ProcessResult
from taxgate.records import REQUEST_COLUMNS

pytestmark = pytest.mark.xdist_group("hostile")
OUTCOMES = {"CONFIRMED", "NOT_CONFIRMED", "REJECTED", "REVIEW"}
CONTROL_ID = "\x0e\x1d\U001010abp"  # the reproducer's id: controls, a private-use letter


def _rows(world: World, n: int) -> list[list[str]]:
    """The first ``n`` records of DHS-ICE's request, as lists in contract column order."""
    with (world.paths.request_dir / "records.csv").open(encoding="utf-8", newline="") as f:
        return [[r[c] for c in REQUEST_COLUMNS] for r in list(csv.DictReader(f))[:n]]


def _csv(rows: list[list[str]], line_end: str, header: list[str] | None = None) -> str:
    buf = io.StringIO(newline="")
    csv.writer(buf, lineterminator=line_end).writerows([header or list(REQUEST_COLUMNS),
                                                       *rows])
    return buf.getvalue()


def _send(world: World, tmp_path: Path, records: bytes, *, manifest_bom: bool = False,
          **changes: object) -> tuple[ProcessResult, Path]:
    """DHS-ICE's request with ``records`` as its records file, signed again."""
    req = package(world, tmp_path, request_id=f"ICE-FZ-{tmp_path.name[-24:]}")
    (req / "records.csv").write_bytes(records)
    resign(req, world.paths.private_key, record_count=len(_sent_ids(records)), **changes)
    if manifest_bom:
        path = req / "manifest.json"
        path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    out = tmp_path / "out"
    return run(world, req, out), out


def _sent_ids(records: bytes) -> list[str]:
    rows = list(csv.reader(io.StringIO(records.decode("utf-8-sig"), newline=""), strict=True))
    i = rows[0].index("record_id")
    return [r[i] for r in rows[1:] if r]


def _answered(out: Path) -> list[list[str]]:
    with (out / "results.csv").open(encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f, strict=True))
    assert rows[0] == ["record_id", "outcome", "reasons"]
    assert all(len(r) == 3 and r[1] in OUTCOMES for r in rows[1:]), "unknown outcome"
    return rows[1:]


def _assert_each_record_once(out: Path, records: bytes, code: str | None = None) -> None:
    answered = _answered(out)
    assert sorted(r[0] for r in answered) == sorted(_sent_ids(records))
    assert "records_unreadable" not in response_json(out)
    if code is not None:
        assert {(r[1], r[2]) for r in answered} == {("REJECTED", code)}


def _bare_cr_file(world: World) -> bytes:
    """Package 3789's records: LF line ends, the second record's id written unquoted
    after a bare CR and holding controls (\\n\\r\\x0e...): a blank line, then a record."""
    rows = _rows(world, 2)
    rows[1][0] = CONTROL_ID
    text = _csv(rows[:1], "\n") + "\r" + _csv(rows[1:], "\n").split("\n", 1)[1]
    return text.encode()


def _quoted_lone_cr_file(world: World, line_end: str, extra_column: bool = False) -> bytes:
    """Packages 143 and 515: a quoted record_id holding a lone CR ("a\\rb")."""
    rows = _rows(world, 4)
    rows[1][0] = "a\rb"
    header = list(REQUEST_COLUMNS) + (["[red]x"] if extra_column else [])
    rows = [r + (["x"] if extra_column else []) for r in rows]
    data = _csv(rows, line_end, header).encode()
    assert b'"a\rb"' in data
    return data


def test_contract_s3_fuzz_515_a_quoted_lone_cr_in_a_crlf_file_is_answered_once(world,
                                                                                tmp_path):
    """Classes "unknown outcomes ['None'] []" and "records not accounted for []": results.csv
    wrote the id "a\\rb" unquoted, so a reader saw one record more, without an outcome."""
    records = _quoted_lone_cr_file(world, "\r\n")
    result, out = _send(world, tmp_path, records)
    assert result.exit_code == 0, result.message
    _assert_each_record_once(out, records)


def test_contract_s3_fuzz_143_a_refusal_lists_a_quoted_lone_cr_record_once(world, tmp_path):
    """Classes "unknown outcomes ['None'] [REQUEST_ID_REUSED]" and "records not accounted
    for [REQUEST_ID_REUSED]": CR line ends, a column the contract does not know, another
    request's id; the refusal lists every record once, the lone CR one included."""
    records = _quoted_lone_cr_file(world, "\r", extra_column=True)
    result, out = _send(world, tmp_path, records, request_id=ICE_ID)
    assert result.exit_code == 2 and "REQUEST_ID_REUSED" in result.message
    _assert_each_record_once(out, records, "REQUEST_ID_REUSED")


def test_r37_fuzz_3789_a_bare_cr_after_a_lf_is_read_and_the_control_record_rejected(world,
                                                                                    tmp_path):
    """Class "records not accounted for (unreadable) [RECORDS_MALFORMED]": the file was
    refused as mixed line ends; now the bare CR is a blank line and the record holding
    control characters is REJECTED on its own (FIELD_CONTROL_CHARACTER, R37)."""
    records = _bare_cr_file(world)
    result, out = _send(world, tmp_path, records)
    assert result.exit_code == 0, result.message
    _assert_each_record_once(out, records)
    by_id = {r[0]: r for r in _answered(out)}
    assert by_id[CONTROL_ID][1] == "REJECTED" and "FIELD_CONTROL_CHARACTER" in by_id[
        CONTROL_ID][2]


@pytest.mark.parametrize("code,changes", [
    ("CONTRACT_VERSION_UNSUPPORTED", {"contract_version": 2}),  # package 3790
    ("REQUEST_ID_REUSED", {"request_id": ICE_ID}),  # package 3791
])
def test_contract_s3_fuzz_3790_3791_a_refusal_lists_the_records_of_a_bare_cr_file(
        world, tmp_path, code, changes):
    """Classes "records not accounted for (the response calls them unreadable)" with
    CONTRACT_VERSION_UNSUPPORTED and REQUEST_ID_REUSED: a whole-request refusal of a
    readable file lists every record REJECTED with the request's code."""
    records = _bare_cr_file(world)
    result, out = _send(world, tmp_path, records, **changes)
    assert result.exit_code == 2 and code in result.message
    _assert_each_record_once(out, records, code)


def test_r8_contract_s4_fuzz_694_a_manifest_with_a_bom_and_a_review_record_exits_0(world,
                                                                                  tmp_path):
    """Classes "exit 1" and "no response written" (fixed in review capture): a manifest
    with a byte order mark whose request holds a record for review (a first name written
    FNU, R8) is answered, its response written, the record on the desk; CR line ends."""
    answered = ice_outcomes(world)
    rows = [r for r in _rows(world, 40) if answered[r[0]][0] != "REJECTED"][:3]
    rows[0][list(REQUEST_COLUMNS).index("first_name")] = "FNU"
    records = _csv(rows, "\r").encode()
    result, out = _send(world, tmp_path, records, manifest_bom=True)
    assert result.exit_code == 0, result.message
    _assert_each_record_once(out, records)
    rid = response_json(out)["request_id"]
    assert result.counts.get("REVIEW", 0) >= 1
    with Gateway(world.settings) as gw:
        held = [e for e in gw.review_queue() if e.request_id == rid]
    assert len(held) == result.counts["REVIEW"]



def test_r37_a_nul_in_a_record_id_or_a_name_is_rejected_per_record_on_both_stores(world,
                                                                                 tmp_path):
    """A NUL byte is data to RFC 4180 but no text a PostgreSQL column can hold: the record
    holding it is REJECTED on its own (FIELD_CONTROL_CHARACTER, R37), the others are
    answered, and nothing fails on either store."""
    rows = _rows(world, 3)
    rows[0][0] = "R\x00NUL"
    rows[1][list(REQUEST_COLUMNS).index("first_name")] = "A\x00B"
    records = _csv(rows, "\r\n").encode("utf-8")
    result, out = _send(world, tmp_path, records)
    assert result.exit_code == 0, result.message
    _assert_each_record_once(out, records)
    by_id = {r[0]: r for r in _answered(out)}
    for rid in ("R\x00NUL", rows[1][0]):
        assert by_id[rid][1] == "REJECTED" and "FIELD_CONTROL_CHARACTER" in by_id[rid][2]
