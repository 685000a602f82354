"""Build ``taxgate/data/zip_state.csv`` from the ``zipcodes`` package.

Run once when the package is upgraded, and commit the CSV:

    .venv/bin/python -m taxgate.standardize.build_zip_table

One row per ZIP5 with its state, primary city (folded to upper case), ZIP
type (STANDARD, PO BOX, UNIQUE, MILITARY) and whether USPS lists it active.
"""

from __future__ import annotations

import csv
import unicodedata
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


def main() -> None:
    """Write the CSV next to the other lookup tables."""
    out = DATA / "zip_state.csv"
    with out.open("w", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(["zip5", "state", "city", "zip_type", "active"])
        writer.writerows(build_rows())
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
