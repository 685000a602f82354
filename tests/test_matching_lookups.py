"""The given-name lookups of the model's input rows (taxgate/matching/name_lookups.py):
made once per connection and name rules, equal to the subqueries they replace (R23,
R24: the nicknames, silent-E stems and diminutives a first name is compared by)."""

from __future__ import annotations

import duckdb
import pytest

from taxgate import standardize
from taxgate.matching import name_lookups
from taxgate.matching.name_keys import NICKS_BY_SOUND, diminutive_entries, silent_e_stems


@pytest.fixture(scope="module")
def con() -> duckdb.DuckDBPyConnection:
    c = duckdb.connect()
    standardize.install(c)
    return c


def _rows(con: duckdb.DuckDBPyConnection, select: str) -> list[tuple]:
    """The rows of ``select``, each list sorted (an aggregate's order is not fixed)."""
    got = con.execute(select).fetchall()
    return sorted(tuple(sorted(v, key=repr) if isinstance(v, list) else v for v in row)
                  for row in got)


def test_the_lookups_hold_what_their_subqueries_give(con: duckdb.DuckDBPyConnection) -> None:
    name_lookups.install(con, 1.5, 4)
    expected = {
        name_lookups.NICKS_SOUND: NICKS_BY_SOUND,
        name_lookups.SILENT_E: silent_e_stems(4),
        name_lookups.DIMINUTIVES: diminutive_entries(name_lookups.sex("g", 1.5)),
    }
    for table, select in expected.items():
        assert _rows(con, f"SELECT * FROM {table}") == _rows(con, select), table
    nicks = dict(con.execute(f"SELECT variant, nicks FROM {name_lookups.NICKS}").fetchall())
    assert "WILLIAM" in nicks["BILL"] and "BILL" in nicks["BILL"]


def test_the_lookups_are_made_once_per_connection_and_name_rules(
        con: duckdb.DuckDBPyConnection) -> None:
    name_lookups.install(con, 1.5, 4)
    con.execute(f"INSERT INTO {name_lookups.SILENT_E} VALUES ('ZZZE', 'ZZZ')")
    name_lookups.install(con, 1.5, 4)  # the same rules: kept as they are
    marked = f"SELECT count(*) FROM {name_lookups.SILENT_E} WHERE variant = 'ZZZE'"
    assert con.execute(marked).fetchone() == (1,)
    name_lookups.install(con, 1.5, 3)  # other rules: made again, for them
    assert con.execute(marked).fetchone() == (0,)
    assert _rows(con, f"SELECT * FROM {name_lookups.SILENT_E}") == _rows(
        con, silent_e_stems(3))
    other = duckdb.connect()  # a connection of its own makes its own
    standardize.install(other)
    name_lookups.install(other, 1.5, 3)
    assert _rows(other, f"SELECT * FROM {name_lookups.SILENT_E}") == _rows(
        con, f"SELECT * FROM {name_lookups.SILENT_E}")
