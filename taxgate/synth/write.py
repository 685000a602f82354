"""Writers: taxpayer filings (CSV or Parquet) and request packages, in chunks.

CSV goes through DuckDB (quotes only where needed, NULL as an empty field, rows
in order); the records file is hashed after writing, over its exact bytes.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from taxgate.canonical import sha256_file, sign_object
from taxgate.synth.population import Population
from taxgate.synth.request import RequestPackage

CHUNK = 500_000


def _copy_csv(reader: pa.RecordBatchReader, path: Path) -> None:
    con = duckdb.connect()
    try:
        con.execute("SET preserve_insertion_order = true")
        con.execute("SET enable_progress_bar = false")
        con.register("src", reader)
        target = str(path).replace("'", "''")
        con.execute(f"COPY (SELECT * FROM src) TO '{target}' (FORMAT csv, HEADER true)")
    finally:
        con.close()


def _table_reader(table: pa.Table) -> pa.RecordBatchReader:
    return pa.RecordBatchReader.from_batches(table.schema, table.to_batches(CHUNK))


def _filing_batches(pop: Population) -> Iterator[pa.RecordBatch]:
    for start in range(0, pop.n_filings, CHUNK):
        yield from pop.filings_table(start, start + CHUNK).to_batches()


def write_taxpayers(pop: Population, path: Path | str, fmt: str = "csv") -> Path:
    """Write every filing as contract §1 rows, rendered and written chunk by chunk."""
    path = Path(path)
    schema = pop.filings_table(0, 1).schema
    if fmt == "parquet":
        with pq.ParquetWriter(path, schema) as w:
            for batch in _filing_batches(pop):
                w.write_batch(batch)
    elif fmt == "csv":
        _copy_csv(pa.RecordBatchReader.from_batches(schema, _filing_batches(pop)), path)
    else:
        raise ValueError(f"unknown format {fmt!r}: csv or parquet")
    return path


def write_links(pop: Population, path: Path | str) -> Path:
    """tin,person_id for every TIN: which ITIN and SSN are one person (evaluation only)."""
    _copy_csv(_table_reader(pop.links_table()), Path(path))
    return Path(path)


def write_request(pkg: RequestPackage, request_dir: Path | str, truth_path: Path | str) -> Path:
    """``manifest.json`` + ``records.csv`` in ``request_dir``; the truth to ``truth_path``.

    The truth file must lie outside the package directory: it is never sent.
    """
    request_dir, truth_path = Path(request_dir), Path(truth_path)
    if truth_path.resolve().parent == request_dir.resolve():
        raise ValueError("truth file must not be inside the request directory")
    request_dir.mkdir(parents=True, exist_ok=True)
    records = request_dir / pkg.manifest.get("records_file", "records.csv")
    _copy_csv(_table_reader(pkg.records), records)
    manifest = {
        **pkg.manifest,
        "records_sha256": sha256_file(records),
        "record_count": pkg.records.num_rows,
    }
    signed = sign_object(pkg.signing_key, manifest)
    (request_dir / "manifest.json").write_text(
        json.dumps(signed, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    truth_path.parent.mkdir(parents=True, exist_ok=True)
    _copy_csv(_table_reader(pkg.truth), truth_path)
    return request_dir
