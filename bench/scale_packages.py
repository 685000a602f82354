"""The sweep's data: the filings split for an incremental load, the request cut to a
size, its truth, and a fresh signed package of it (bench/scale_sweep.py)."""

from __future__ import annotations

import csv
import datetime as dt
import json
import os
import shutil
from pathlib import Path

from same_answers import resign


def split_filings(data: Path, increment: int) -> tuple[Path, Path | None]:
    """The taxpayers file as a first load and an increment of its last ``increment``
    rows (in file order), written once beside it; the whole file when there is none."""
    import duckdb

    src = data / "taxpayers.parquet"
    con = duckdb.connect()
    n = con.execute(f"SELECT count(*) FROM read_parquet('{src}')").fetchone()[0]
    if increment <= 0 or increment >= n:
        return src, None
    cut = n - increment
    first = data / f"taxpayers-first-{cut}.parquet"
    rest = data / f"taxpayers-last-{increment}.parquet"
    for path, where in ((first, f"file_row_number < {cut}"),
                        (rest, f"file_row_number >= {cut}")):
        if not path.exists():
            tmp = path.with_suffix(".tmp")
            con.execute(f"COPY (SELECT * EXCLUDE (file_row_number) FROM read_parquet('{src}', "
                        f"file_row_number = true) WHERE {where} ORDER BY file_row_number) "
                        f"TO '{tmp}' (FORMAT parquet)")
            tmp.replace(path)
    return first, rest


def sized_records(data: Path, k: int) -> Path:
    """The request's first ``k`` records, the first of them one the truth expects
    CONFIRMED (so even one record goes through matching and a disclosure)."""
    path = data / "sized" / f"records-{k}.csv"
    if path.exists():
        return path
    with (data / "truth.csv").open(encoding="utf-8", newline="") as f:
        lead = next((r["record_id"] for r in csv.DictReader(f)
                     if r["expected_outcome"] == "CONFIRMED"), None)
    path.parent.mkdir(exist_ok=True)
    tmp = path.with_suffix(".tmp")
    with (data / "request" / "records.csv").open(encoding="utf-8", newline="") as f, \
            tmp.open("w", encoding="utf-8", newline="") as out:
        rows = csv.reader(f)
        header = next(rows)
        at = header.index("record_id")
        first, body = None, []
        for r in rows:  # the first k records, and the lead wherever it is
            if r[at] == lead and first is None:
                first = r
            elif len(body) < k:
                body.append(r)
            if len(body) >= k and (first is not None or lead is None):
                break
        w = csv.writer(out, lineterminator="\n")
        w.writerow(header)
        w.writerows(([first] if first else []) + body[:k - (1 if first else 0)])
    tmp.replace(path)
    return path


# Truth categories that hold only for the whole generated request as it was made: the
# per-officer cap (R5) counts an officer's records in the request, and a duplicate
# record id needs its twin in the same request, so in a part of it the same records may
# be lawful and rightly CONFIRMED; and the removal order's and judicial review's "too
# recent" windows count from the request's creation, which a sized package moves to
# now, so a record made 89 days after its order is lawful a day later. A sized
# request's answer is not scored on them (at 10M filings, 10,000 records: 29 such
# records, all rightly answered for the package they were in).
WHOLE_REQUEST_ONLY = ("officer_over_cap", "duplicate_record_id",
                      "deficient_removal_too_recent", "deficient_judicial_review_too_recent")


def sized_truth(data: Path, records: Path) -> Path:
    """The truth of the records in ``records`` (by record_id), for scoring its answer,
    without the records whose expected outcome holds only for the whole request as made
    (:data:`WHOLE_REQUEST_ONLY`)."""
    path = records.with_name(records.stem + "-truth-v3.csv")
    if path.exists():
        return path
    with records.open(encoding="utf-8", newline="") as f:
        ids = {r["record_id"] for r in csv.DictReader(f)}
    tmp = path.with_suffix(".tmp")
    with (data / "truth.csv").open(encoding="utf-8", newline="") as f, \
            tmp.open("w", encoding="utf-8", newline="") as out:
        rows = csv.reader(f)
        header = next(rows)
        at, kind = header.index("record_id"), header.index("category")
        w = csv.writer(out, lineterminator="\n")
        w.writerow(header)
        w.writerows(r for r in rows if r[at] in ids and r[kind] not in WHOLE_REQUEST_ONLY)
    tmp.replace(path)
    return path


def request_count(data: Path) -> int:
    manifest = json.loads((data / "request" / "manifest.json").read_text(encoding="utf-8"))
    return int(manifest["record_count"])


def make_package(data: Path, records: Path, dest: Path, request_id: str) -> Path:
    """A signed package of ``records`` under ``request_id``, created now."""
    dest.mkdir(parents=True)
    shutil.copy(data / "request" / "manifest.json", dest / "manifest.json")
    try:
        os.link(records, dest / "records.csv")
    except OSError:
        shutil.copy(records, dest / "records.csv")
    with records.open(encoding="utf-8", newline="") as f:
        count = sum(1 for _ in csv.reader(f)) - 1
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    resign(dest, data / "official_key.pem", request_id=request_id, created_at=now,
           records_file="records.csv", record_count=count)
    return dest
