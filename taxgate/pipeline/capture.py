"""Holding a request's REVIEW records for the disclosure officers' desk.

Part of answering a request: once its decisions are committed, :func:`capture` seals
each REVIEW record and the request's accounting fields under the at-rest key, under
:func:`review_label`; the desk (:mod:`taxgate.gateway.review`) unseals them there.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
import pyarrow.compute as pc

from taxgate import intake, strict_json
from taxgate.canonical import canonical_json
from taxgate.domain import ReviewItem
from taxgate.records import REQUEST_COLUMNS
from taxgate.store.base import Store
from taxgate.store.common import iso_now

MANIFEST_FIELDS = ("request_id", "requesting_agency", "signing_official", "legal_authority",
                   "criminal_statute", "reason", "taxable_periods", "created_at")


def review_label(request_id: str, row_number: int) -> str:
    """What a REVIEW record is sealed under; the desk unseals it with the same label."""
    return f"review/{request_id}/{row_number}"


def capture(
    store: Store,
    request_id: str,
    package_dir: Path,
    records: list[tuple[Any, ...]] | None = None,
) -> int:
    """Hold every REVIEW record of an answered request for officers; idempotent.

    ``records``: the REVIEW records (row_number, then the request columns) as
    the answering run holds them, so nothing is read twice; without them (a re-run after
    a crash) the decisions come from the store and the records from the package.
    """
    manifest = strict_json.loads((package_dir / "manifest.json").read_bytes())  # intake read it
    m = {k: manifest.get(k) for k in MANIFEST_FIELDS}
    cols = ["row_number", *REQUEST_COLUMNS]
    rows = records if records is not None else _review_records(
        store, request_id, package_dir / str(manifest["records_file"]))
    if not rows:
        return 0
    now = iso_now()
    items = []
    for row in rows:
        record = dict(zip(cols, row, strict=True))
        n = int(record.pop("row_number"))
        blob = canonical_json({"record": record, "manifest": m})
        items.append(ReviewItem(request_id, n, str(record.get("record_id") or ""),
                                str(m["requesting_agency"]), now,
                                store.seal_bytes(review_label(request_id, n), blob)))
    return store.add_review_items(items)


def _review_records(store: Store, request_id: str, records_file: Path) -> list[tuple[Any, ...]]:
    """The request's REVIEW records (row_number, then REQUEST_COLUMNS), as committed."""
    decisions = store.decisions(request_id)
    review = decisions.filter(pc.equal(decisions["outcome"], "REVIEW"))
    numbers = sorted(review.column("row_number").to_pylist())
    if not numbers:
        return []
    con = duckdb.connect()
    try:
        intake.load_records(con, records_file, "_r")
        cols = ["row_number", *REQUEST_COLUMNS]
        return con.execute(
            f"SELECT {', '.join(cols)} FROM _r WHERE row_number IN "
            f"(SELECT unnest(?::BIGINT[])) ORDER BY row_number", [numbers]).fetchall()
    finally:
        con.close()
