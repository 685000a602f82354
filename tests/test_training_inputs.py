"""R23, R24: training learns from the inputs scoring reads. Training computes the
model's inputs once per sample into a table, the name features once per distinct first
name and first surname (``matching.training._model_inputs``); the rows must be those of
``matching.duckdb._input_view``, which scoring uses, so a name feature that came to read
another column would be caught here rather than trained on NULLs. Real DuckDB with the
product's tables, standardized from raw rows.
"""

from __future__ import annotations

import duckdb

from taxgate import standardize
from taxgate.matching import NameRules, training
from taxgate.matching import duckdb as mdb
from taxgate.settings import Policy

RAW = ("first_name VARCHAR, middle_name VARCHAR, last_name VARCHAR, street_address VARCHAR, "
       "unit VARCHAR, city VARCHAR, state VARCHAR, zip VARCHAR, date_of_birth VARCHAR, "
       "tin VARCHAR, id INTEGER")

# Names that take every feature: nicknames listed and by sound, clippings with a silent
# E and diminutives, established names of either sex, a surname that is a given name
# (swapped), double and particle surnames, a one-letter and a missing given name.
ROWS = [
    ("KATHLEEN", "A", "O'BRIEN", "12 OAK ST", None, "BOSTON", "MA", "02110", "1980-02-03"),
    ("KATE", None, "O'BRIEN", "12 OAK ST", "APT 2", "BOSTON", "MA", "02110", "1980-02-03"),
    ("LENNIE", None, "SMITH", "1 MAIN ST", None, "AUSTIN", "TX", "78701", None),
    ("LEONARD", "J", "SMITH", "1 MAIN ST", None, "AUSTIN", "TX", "78701", "1971-11-30"),
    ("ANDREA", None, "GARCIA LOPEZ", "9 ELM AVE", None, "MIAMI", "FL", "33101", "1990-01-01"),
    ("ANDREW", None, "DE LA CRUZ", "9 ELM AVE", None, "MIAMI", "FL", "33101", "1990-01-01"),
    ("GARCIA", None, "SUSAN", "5 PINE RD", None, "DALLAS", "TX", "75201", "1965-07-04"),
    ("SUSANA", "MARIA", "GARCIA", "5 PINE RD", None, "DALLAS", "TX", "75201", "1965-07-04"),
    ("J", None, "WANG", "PO BOX 17", None, "SEATTLE", "WA", "98101", None),
    (None, None, "NGUYEN", "3 BAY CT", None, "TAMPA", "FL", "33602", "2001-05-06"),
    ("MATTHEW", None, "VAN DYKE", "77 HILL LN", None, "DENVER", "CO", "80202", "1955-12-12"),
    ("KATHLEEN", None, "SMITH", "77 HILL LN", None, "DENVER", "CO", "80202", None),
]


def _rows(con: duckdb.DuckDBPyConnection, relation: str) -> list[tuple[object, ...]]:
    """Every column of ``relation`` by name, nickname lists sorted, in uid order."""
    cols = [r[0] for r in con.execute(f"DESCRIBE {relation}").fetchall()]
    select = ", ".join(f"list_sort({c})" if c == "n_first_nicks" else c for c in cols)
    return [tuple(zip(cols, row, strict=True))
            for row in con.execute(f"SELECT {select} FROM {relation} ORDER BY uid").fetchall()]


def test_r23_r24_training_inputs_are_the_scoring_inputs():
    """The training table holds, row for row and column for column, what the scoring
    view computes for the same filings, and it is in uid order (its row order is part of
    what makes the expectation maximisation's sums, and so the model JSON, the same)."""
    con = duckdb.connect()
    standardize.install(con)
    con.execute(f"CREATE TABLE raw ({RAW})")
    con.executemany("INSERT INTO raw VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [(*row, f"9{i:08d}", len(ROWS) - i) for i, row in enumerate(ROWS)])
    con.execute("CREATE TABLE std AS " + standardize.standardized_select_sql("raw", side="filing"))
    names = NameRules.of(Policy())
    mdb._input_view(con, "scoring_view", "std", "id", names=names)
    training._model_inputs(con, "training_table", "std", "id", names)

    expected = _rows(con, "scoring_view")
    assert _rows(con, "training_table") == expected and len(expected) == len(ROWS)
    stored = [r[0] for r in con.execute("SELECT uid FROM training_table").fetchall()]
    assert stored == sorted(stored) != [r[0] for r in con.execute("SELECT id FROM std").fetchall()]
    # the features are not all empty: the comparison tests something
    feats = {r[0]: r[1:] for r in con.execute(
        "SELECT n_first, n_first_nicks, n_first_hypo, n_first_sex FROM training_table "
        "WHERE n_first IS NOT NULL").fetchall()}
    assert "KATHERINE" in feats["KATE"][0] and "LEONARD" in feats["LENNIE"][0]
    assert feats["KATE"][1] == "KAT" and (feats["ANDREA"][2], feats["ANDREW"][2]) == ("F", "M")
