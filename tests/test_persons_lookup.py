"""R25's successor candidates read from the filing index by TIN and name key
(taxgate/persons.py) decide exactly as the one statement over every TIN of the touched
name keys did (tests/r25_reference.py): the same persons for the touched TINs and the
same possible successors for every TIN of those persons, whatever the TINs touched and
the policy's gap."""

from __future__ import annotations

import random

import duckdb
import pytest
from r25_reference import reference_successors

from taxgate import filing_index, persons, standardize
from taxgate.filings import stage_filings
from taxgate.settings import Policy
from taxgate.synth import generate_taxpayers, write_taxpayers

# A population of its own (no model is trained): large enough for common names, ITINs
# that became SSNs, namesakes who begin an SSN the same year.
PEOPLE, SEED = 20_000, 31
TRIALS = 60
COPY_KEYS = (10**9, 0)  # create_successors' copy_keys_at_most: always, never


@pytest.fixture(scope="module")
def con(tmp_path_factory: pytest.TempPathFactory) -> duckdb.DuckDBPyConnection:
    """Standardized filings and their index, in memory."""
    path = write_taxpayers(generate_taxpayers(PEOPLE, SEED),
                           tmp_path_factory.mktemp("r25") / "taxpayers.parquet", "parquet")
    c = duckdb.connect()
    standardize.install(c)
    stage_filings(c, path, "raw")
    c.execute("CREATE TABLE std AS " + standardize.standardized_select_sql("raw", side="filing"))
    c.execute("CREATE TABLE filings AS SELECT row_number() OVER (ORDER BY tin, tax_year, "
              "processed_date, a_key, n_first) AS filing_id, * FROM std")
    filing_index.update(c, "", "filings")
    return c


def _seen(con: duckdb.DuckDBPyConnection, successors: str) -> tuple[list, list]:
    """What the decision reads of a successors table for the TINs of ``_t``: the persons
    of those TINs (every row of those persons), and the possible successors (SOFT_LINKS)
    of every TIN of those persons."""
    con.execute("CREATE OR REPLACE TEMP TABLE _p AS "
                + persons.PERSONS_SQL.format(pairs="_t", successors=successors))
    con.execute("CREATE OR REPLACE TEMP TABLE _mine AS SELECT * FROM _p WHERE person_id IN "
                "(SELECT person_id FROM _p WHERE tin IN (SELECT tin FROM _t))")
    soft = persons.SOFT_LINKS_SQL.format(successors=successors)
    return (con.execute("SELECT * FROM _mine ORDER BY ALL").fetchall(),
            con.execute(f"SELECT * FROM ({soft}) WHERE itin IN (SELECT tin FROM _mine) "
                        "OR ssn IN (SELECT tin FROM _mine) ORDER BY ALL").fetchall())


def test_r25_lookups_decide_as_the_one_statement_did(con: duckdb.DuckDBPyConnection) -> None:
    """Random sets of touched TINs (one, a few, thousands; any TIN, ITINs only, TINs of
    successor pairs) and gaps 0 to 3: the lookups' persons and possible successors equal
    the reference's, and the sets tried hold links, possible successors and only
    partners anywhere (so the comparison could fail)."""
    tins = [r[0] for r in con.execute(f"SELECT tin FROM {filing_index.TINS}").fetchall()]
    # the TINs of name keys with both an ITIN and an SSN
    mixed = [r[0] for r in con.execute(
        f"SELECT tin FROM {filing_index.NAME_SIDES} WHERE (n_first, n_surname1) IN ("
        f"SELECT (n_first, n_surname1) FROM {filing_index.NAME_SIDES} GROUP BY ALL "
        f"HAVING bool_or(is_itin) AND NOT bool_and(is_itin)) GROUP BY tin ORDER BY tin"
        ).fetchall()]
    pools = (tins, [t for t in tins if t.startswith("9")], mixed)
    rng = random.Random(7)
    links = soft = anywhere = 0
    for trial in range(TRIALS):
        pool = pools[trial % 3]
        pick = rng.sample(pool, min(rng.choice((1, 10, 100, 1000, 5000)), len(pool)))
        gap = trial % 4
        con.execute("CREATE OR REPLACE TEMP TABLE _t AS SELECT unnest(?) AS tin", [pick])
        reference_successors(con, "_t", gap, "_ref")
        want = _seen(con, "_ref")
        for copy in COPY_KEYS:  # the keys' name sides copied once, and read by each step
            persons.create_successors(con, "_t", Policy(successor_gap_years=gap), "_new",
                                      copy_keys_at_most=copy)
            assert _seen(con, "_new") == want, (trial, gap, len(pick), copy)
        links += sum(1 for tin, person in want[0] if tin != person)
        soft += len(want[1])
        anywhere += con.execute("SELECT count(*) FROM _ref WHERE only_pair_anywhere AND (itin "
                                "IN (SELECT tin FROM _mine) OR ssn IN (SELECT tin FROM _mine))"
                                ).fetchone()[0]
    assert links > 0 and soft > 0 and anywhere > 0, (links, soft, anywhere)


def test_r25_lookups_leave_no_step_tables(con: duckdb.DuckDBPyConnection) -> None:
    """The steps' tables (and view) are dropped, and a touched TIN the index does not name (no name
    key) is its own person with no possible successor, as before."""
    con.execute("CREATE OR REPLACE TEMP TABLE _t AS SELECT 'NO-SUCH-TIN' AS tin")
    for copy in COPY_KEYS:
        persons.create_successors(con, "_t", Policy(), "_new", copy_keys_at_most=copy)
        assert con.execute("SELECT count(*) FROM _new").fetchone() == (0,)
        assert _seen(con, "_new") == ([("NO-SUCH-TIN", "NO-SUCH-TIN")], [])
        for catalog, name in (("duckdb_tables()", "table_name"),
                              ("duckdb_views()", "view_name")):
            assert not con.execute(f"SELECT count(*) FROM {catalog} WHERE {name} LIKE "
                                   "'\\_sx\\_%' ESCAPE '\\'").fetchone()[0]
