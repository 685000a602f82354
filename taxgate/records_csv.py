"""The records of a records file: one definition, for intake, refusals and review.

A records file is RFC 4180 as Python's ``csv`` module reads it with ``strict=True``
(UTF-8, an optional byte order mark; CRLF, LF and CR each end a record, mixed or not;
blank lines are no record; a field that starts with a quote runs to its closing quote,
holding commas, doubled quotes and line breaks, a lone CR included, and is followed by
a comma, a line end or the end of the file; a quote inside an unquoted field is data).
Every other character, NUL and the other controls included, is data: the record rules
refuse such a record on its own (FIELD_CONTROL_CHARACTER, R37). The first record is the
header; every record has as many fields as the header.

Read fast: the quoting is checked (the only thing strict reading refuses that Arrow's
reader accepts: its quoted fields one by one, :data:`_STRICT` the rest of a file dense
with them) while ``pyarrow.csv`` reads the values,
which on such files are exactly those ``csv.reader`` gives (tests/test_records_csv.py
compares the two on generated hostile files). Error messages name the file, a row
number and what is wrong, never a value.
"""

from __future__ import annotations

import csv
import io
import mmap
import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv

from taxgate.errors import RequestRefused
from taxgate.records import MAX_FILE_FIELD_BYTES, REQUEST_COLUMNS

MAX_COLUMNS = 64  # a header with more columns is no records file of the contract
_BOM = b"\xef\xbb\xbf"
# A record of MAX_COLUMNS fields of MAX_FILE_FIELD_BYTES each (quotes doubled) fits in a
# block, so a record that does not fit holds a field over the limit.
_BLOCK = 1 << 24
# One field at a time: quoted (closed, then a separator or the end) or unquoted (not
# starting with a quote), each followed by a comma, CR, LF or the end of the file.
_STRICT = re.compile(rb'(?:(?:"(?:[^"]++|"")*+"|[^",\r\n][^,\r\n]*+)?+(?:[,\r\n]|\Z))*+')
_QUOTED = re.compile(rb'"(?:[^"]++|"")*+("|\Z)')
# Quoted fields are checked one by one (about 1.6 us each) up to one per this many
# bytes of the file, at least _SCAN_LIMIT, then the rest by the whole-file pattern
# (about 9 ns a byte). At 1.28M records with 93,000 quoted fields: 0.15 s, not 1.45 s;
# a 25 MB file of nothing but quoted fields took 0.375 s instead of 0.354 s.
_SCAN_LIMIT, _BYTES_PER_SCANNED = 4096, 512
_ROW = re.compile(r"Row #(\d+)")


def _malformed(name: str, what: str, row: int | None = None) -> RequestRefused:
    where = f" at row {row}" if row else ""
    return RequestRefused("RECORDS_MALFORMED", f"records file {name} {what}{where}")


def read_header(path: Path) -> list[str]:
    """The first record of the file, each name stripped of surrounding blanks."""
    try:
        with path.open(encoding="utf-8-sig", newline="") as f:
            header = next(csv.reader(f, strict=True), [])
    except UnicodeDecodeError:
        raise _malformed(path.name, "is not valid UTF-8", 1) from None
    except csv.Error:
        raise _malformed(path.name, "has an unreadable header row") from None
    if not header or not any(h.strip() for h in header):
        raise _malformed(path.name, "is empty or has no header row")
    if len(header) > MAX_COLUMNS:
        raise _malformed(path.name, f"has more than {MAX_COLUMNS} columns")
    return [h.strip() for h in header]


def check_quoting(path: Path) -> None:
    """Refuse a file whose quoting strict RFC 4180 reading refuses: a quoted field left
    open at the end of the file, or anything but a comma or line end after its closing
    quote. Few quoted fields are checked one by one, many with one pattern."""
    if path.stat().st_size == 0:
        return
    with path.open("rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as buf:
        start = len(_BOM) if buf[: len(_BOM)] == _BOM else 0
        pos, end, n = start, len(buf), 0
        limit = max(_SCAN_LIMIT, end // _BYTES_PER_SCANNED)
        while (m := _QUOTED.search(buf, pos)) is not None:
            s = m.start()
            if s > start and buf[s - 1] not in b",\r\n":  # a quote inside an unquoted field
                pos = s + 1
                continue
            if not m.group(1) or (m.end() < end and buf[m.end()] not in b",\r\n"):
                raise _malformed(path.name, "has a quoted field that is not closed, or text "
                                 "after its closing quote", buf[:s].count(b"\n") + 1)
            pos, n = m.end(), n + 1
            if n == limit:
                whole = _STRICT.match(buf, pos)
                if whole is None or whole.end() != end:
                    raise _malformed(path.name, "has a quoted field that is not closed, or "
                                     "text after its closing quote")
                return


def read_table(path: Path, width: int) -> pa.Table:
    """Every record after the header as ``width`` string columns f0, f1, ...; an empty
    field, quoted or not, is NULL."""
    opts = (
        pcsv.ReadOptions(use_threads=False, autogenerate_column_names=True,
                         block_size=_BLOCK),
        pcsv.ParseOptions(newlines_in_values=True),
        pcsv.ConvertOptions(column_types={f"f{i}": pa.string() for i in range(width)},
                            strings_can_be_null=True, null_values=[""]),
    )
    try:
        table = pcsv.read_csv(path, read_options=opts[0], parse_options=opts[1],
                              convert_options=opts[2])
    except pa.ArrowInvalid as exc:
        raise _arrow_problem(str(exc), path.name) from None
    for column in table.columns:
        if len(column) and (pc.max(pc.binary_length(column)).as_py() or 0) > \
                MAX_FILE_FIELD_BYTES:
            raise _malformed(path.name, "has a field or line longer than allowed")
    return table.slice(1)


def _read_checked(path: Path, width: int) -> pa.Table:
    """:func:`read_table` once :func:`check_quoting` passes, its refusal first. The two
    run at once: the check is Python's pattern matching, which holds the interpreter,
    while Arrow reads without it (at 1.28M records, 1.4 s and about 0.7 s)."""
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="taxgate-csv") as pool:
        reading = pool.submit(read_table, path, width)
        check_quoting(path)  # its refusal stands; the pool waits for the reader first
        return reading.result()


def _arrow_problem(text: str, name: str) -> RequestRefused:
    row = _ROW.search(text)
    at = int(row.group(1)) if row else None
    if "UTF8" in text or "UTF-8" in text:
        return _malformed(name, "is not valid UTF-8", at)
    if "Expected" in text and "columns" in text:
        return _malformed(name, "has a row with the wrong number of fields", at)
    if "straddl" in text or "block" in text:
        return _malformed(name, "has a field or line longer than allowed")
    return _malformed(name, "is not a well-formed CSV file", at)


def _only_header(path: Path) -> bool:
    """Whether nothing follows the header record (then no reader need look further)."""
    with path.open(encoding="utf-8-sig", newline="", errors="replace") as f:
        next(csv.reader(f, strict=True), None)
        return f.read(1) == ""


def load(con: duckdb.DuckDBPyConnection, path: Path, table: str, header: list[str]) -> int:
    """Read every record into ``table``: ``row_number`` (the record's position, from 1)
    and every contract column as VARCHAR (NULL when empty or not in ``header``); return
    the number of records."""
    if _only_header(path):
        check_quoting(path)
        data = pa.table({f"f{i}": pa.array([], pa.string()) for i in range(len(header))})
    else:
        data = _read_checked(path, len(header))
    if data.num_columns != len(header):
        raise _malformed(path.name, "has a row with the wrong number of fields", 2)
    data = data.append_column("row_number", pa.array(np.arange(1, data.num_rows + 1)))
    view = f"{table}_arrow"
    select = ", ".join(
        f"f{header.index(c)} AS \"{c}\"" if c in header
        else f"CAST(NULL AS VARCHAR) AS \"{c}\"" for c in REQUEST_COLUMNS)
    con.register(view, data)
    try:  # row_number: the record's position in the file, stable across re-runs
        con.execute("SET preserve_insertion_order = true")  # the table in file order too
        con.execute(f"CREATE OR REPLACE TEMP TABLE {table} AS "
                    f"SELECT row_number, {select} FROM {view}")
    finally:
        con.unregister(view)
    (count,) = con.execute(f"SELECT count(*) FROM {table}").fetchone() or (0,)
    return int(count)


def records_of(path: Path) -> tuple[list[str], list[list[str]]]:
    """The header and records of a small file, read by ``csv.reader`` alone: the
    definition the fast reader keeps to (for tests and tools; holds all in memory)."""
    text = path.read_bytes().decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text, newline=""), strict=True))
    return rows[0], [r for r in rows[1:] if r]
