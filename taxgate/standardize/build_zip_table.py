"""Build ``taxgate/data/zip_state.csv`` and ``city_state.csv`` from the ``zipcodes`` package.

Run once when the package is upgraded, and commit the CSVs:

    .venv/bin/python -m taxgate.standardize.build_zip_table

``zip_state.csv``: one row per ZIP5 with its state, primary city (folded to upper
case), ZIP type (STANDARD, PO BOX, UNIQUE, MILITARY) and whether USPS lists it active.
``city_state.csv``: every (state, city) pair USPS accepts for some ZIP of the state,
active or not: each ZIP's primary city and its "acceptable" alternate names, folded
(R9: the city must be a place of the ZIP's state).
"""

from __future__ import annotations

import csv
import unicodedata
from collections.abc import Sequence
from pathlib import Path

DATA = Path(__file__).resolve().parent.parent / "data"


def _fold(text: str) -> str:
    """Upper case, accents stripped, punctuation to spaces (as std_fold does)."""
    text = unicodedata.normalize("NFKD", text)
    text = "".join(c for c in text if not unicodedata.combining(c)).upper()
    text = text.replace("'", "")
    return " ".join("".join(c if c.isalnum() else " " for c in text).split())


def build_rows() -> list[tuple[str, str, str, str, str]]:
    """Return (zip5, state, city, zip_type, active) rows sorted by ZIP."""
    import zipcodes  # only needed when rebuilding the table

    rows = {
        z["zip_code"]: (
            z["zip_code"],
            z["state"],
            _fold(z["city"]),
            z["zip_code_type"],
            "Y" if z["active"] else "N",
        )
        for z in zipcodes.list_all()
    }
    return [rows[k] for k in sorted(rows)]


def build_city_rows() -> list[tuple[str, str]]:
    """Return sorted unique (state, city) rows: primary and acceptable city names."""
    import zipcodes

    pairs = {
        (z["state"], _fold(city))
        for z in zipcodes.list_all()
        for city in [z["city"], *(z.get("acceptable_cities") or [])]
        if _fold(city)
    }
    return sorted(pairs)


def _write(name: str, header: list[str], rows: Sequence[tuple[str, ...]]) -> None:
    out = DATA / name
    with out.open("w", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)
    print(f"wrote {out}")


def main() -> None:
    """Write the CSVs next to the other lookup tables."""
    _write("zip_state.csv", ["zip5", "state", "city", "zip_type", "active"], build_rows())
    _write("city_state.csv", ["state", "city"], build_city_rows())


if __name__ == "__main__":
    main()
