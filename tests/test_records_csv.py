"""The records of a records file (contract §2, docs/intake.md): taxgate's reader gives
exactly the records Python's csv module reads with strict quoting (RFC 4180), on
generated hostile files too, and results.csv reads back as the records it answers."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from taxgate import intake, records_csv, response
from taxgate.errors import RequestRefused, ResponseSchemaError

PIECES = ["a", "b", "é", " ", ",", ",", '"', '""', "\r", "\n", "\r\n", "\x00", "\x0e", "\x1d",
          "\x08", "\ufeff"]


def _csv_reads(data: bytes) -> list[list[str | None]] | None:
    """The definition: csv.reader, strict, over the decoded text; blank lines no record,
    every record as wide as the header; an empty field is NULL in the table."""
    try:
        rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline=""), strict=True))
    except (UnicodeDecodeError, csv.Error):
        return None
    body = [r for r in rows[1:] if r]
    if not rows or any(len(r) != len(rows[0]) for r in body):
        return None
    return [[v or None for v in r] for r in body]


def _taxgate_reads(path: Path, width: int) -> list[tuple[str | None, ...]] | None:
    names = ["record_id", "first_name", "last_name"][:width]
    con = duckdb.connect()
    try:
        records_csv.check_quoting(path)
        records_csv.load(con, path, "t", names)
    except RequestRefused:
        return None
    return [tuple(r) for r in con.execute(
        f"SELECT {', '.join(names)} FROM t ORDER BY row_number").fetchall()]


@settings(max_examples=400, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(width=st.integers(1, 3), body=st.lists(st.sampled_from(PIECES), max_size=30),
       bom=st.booleans(), line_end=st.sampled_from(["\n", "\r\n", "\r"]))
def test_contract_s2_records_are_exactly_those_csv_reader_strict_reads(tmp_path, width, body,
                                                                       bom, line_end):
    """One definition (issue 17, item 5): whatever the bytes after a header, intake reads
    the records csv.reader(strict=True) reads, value for value, or refuses the file when
    it refuses it; lone CRs, mixed line ends, controls and quotes included."""
    header = ",".join(["record_id", "first_name", "last_name"][:width])
    data = (("\ufeff" if bom else "") + header + line_end + "".join(body)).encode()
    path = tmp_path / "records.csv"
    path.write_bytes(data)
    want = _csv_reads(data)
    got = _taxgate_reads(path, width)
    assert got == (None if want is None else [tuple(r) for r in want])


@pytest.mark.parametrize("body,readable", [
    (b'R1,"a"b,c\n', False),  # text after a closing quote
    (b'R1,"a" ,c\n', False),
    (b'R1,a,"c\n', False),  # a quoted field open at the end of the file
    (b'R1,a"b,c\n', True),  # a quote inside an unquoted field is data
    (b'R1,"a,""b""\r\nc",c\r\n', True),
])
def test_contract_s2_strict_quoting_refuses_the_file_with_one_line(tmp_path, body, readable):
    path = tmp_path / "records.csv"
    path.write_bytes(b"record_id,first_name,last_name\n" + body)
    assert (_csv_reads(path.read_bytes()) is not None) is readable
    if readable:
        assert _taxgate_reads(path, 3) is not None
        return
    with pytest.raises(RequestRefused) as exc:
        records_csv.check_quoting(path)
    assert exc.value.reason == "RECORDS_MALFORMED" and "\n" not in str(exc.value)


@pytest.mark.parametrize("bad", [False, True])
def test_contract_s2_many_quoted_fields_are_checked_by_the_whole_file_pattern(tmp_path, bad):
    """Past the first few thousand quoted fields the check runs as one pattern: it still
    finds text after a closing quote at the end of a fully quoted file."""
    rows = [f'"R{i}","A{i}","B ""{i}"" C"' for i in range(3000)]
    if bad:
        rows[-1] += "x"
    path = tmp_path / "records.csv"
    path.write_text('"record_id","first_name","last_name"\r\n' + "\r\n".join(rows) + "\r\n",
                    encoding="utf-8")
    got = _taxgate_reads(path, 3)
    assert (got is None) is bad
    if not bad:
        assert got is not None and len(got) == 3000 and got[-1] == ("R2999", "A2999",
                                                                   'B "2999" C')


def test_contract_s2_more_columns_than_allowed_is_refused(tmp_path):
    path = tmp_path / "records.csv"
    path.write_text(",".join(f"c{i}" for i in range(records_csv.MAX_COLUMNS + 1)) + "\n",
                    encoding="utf-8")
    with pytest.raises(RequestRefused, match="more than 64 columns"):
        intake.load_records(duckdb.connect(), path, "t", any_columns=True)


def test_contract_s2_a_header_alone_without_a_line_end_is_no_records(tmp_path):
    path = tmp_path / "records.csv"
    path.write_bytes(b"record_id,first_name")
    assert intake.load_records(duckdb.connect(), path, "t", any_columns=True) == 0


@pytest.mark.parametrize("record_id", ["a\rb", "\r", "a\r\nb", "a\nb", "plain", "a,b", 'a"b'])
def test_contract_s3_results_csv_reads_back_as_the_records_it_answers(tmp_path, record_id):
    """Contract §3, one row per submitted record: a record_id holding a lone CR is quoted
    (csv's writer left it bare: RFC 4180 readers then saw two rows, one without an
    outcome); every other row keeps the bytes it had, so stored answers replay alike."""
    path = tmp_path / "results.csv"
    rows = [("R1", "CONFIRMED", ""), (record_id, "REJECTED", "FIELD_CONTROL_CHARACTER")]
    assert response.write_results_csv(path, rows) == 2
    with path.open(encoding="utf-8", newline="") as f:
        read = list(csv.reader(f, strict=True))
    assert read == [["record_id", "outcome", "reasons"], *map(list, rows)]
    if "\r" not in record_id or "\n" in record_id:
        plain = io.StringIO(newline="")
        csv.writer(plain, lineterminator="\n").writerows(
            [("record_id", "outcome", "reasons"), *rows])
        assert path.read_bytes().decode("utf-8") == plain.getvalue()


def test_contract_s3_results_csv_of_many_blocks_is_written_row_by_row_alike(tmp_path):
    """Contract §3: results.csv is written a block of rows at a time; a block holding a
    lone CR is written a row at a time, the rest by the writer's own loop. Across blocks
    the bytes are those of the row-by-row rule: only a row with a lone CR quoted in full."""
    rows = [(f"R{i}", "NOT_CONFIRMED" if i % 3 else "CONFIRMED", "" if i % 5 else "X,Y")
            for i in range(45_001)]
    rows[25_017] = ("a\rb", "REJECTED", "FIELD_CONTROL_CHARACTER")
    rows[25_018] = ('c"d', "REJECTED", None)
    path = tmp_path / "results.csv"
    assert response.write_results_csv(path, iter(rows)) == len(rows)
    expected = io.StringIO(newline="")
    plain = csv.writer(expected, lineterminator="\n")
    quoted = csv.writer(expected, lineterminator="\n", quoting=csv.QUOTE_ALL)
    plain.writerow(("record_id", "outcome", "reasons"))
    for row in rows:
        (quoted if row[0] == "a\rb" else plain).writerow(row)
    assert path.read_bytes().decode("utf-8") == expected.getvalue()
    assert b'\n"a\rb","REJECTED","FIELD_CONTROL_CHARACTER"\n' in path.read_bytes()


def test_contract_s3_an_unknown_outcome_in_any_block_is_refused(tmp_path):
    """Contract §3: each row's outcome is one of the four, in the last block as in the
    first."""
    rows = [(f"R{i}", "CONFIRMED", "") for i in range(30_000)] + [("R-x", "MAYBE", "")]
    with pytest.raises(ResponseSchemaError):
        response.write_results_csv(tmp_path / "results.csv", rows)
