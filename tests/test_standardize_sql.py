"""The vectorized SQL contract: columns, row count, sides, install, batch = one-row (R10, R24)."""

from __future__ import annotations

import duckdb
import pytest

from taxgate.standardize import (
    STD_COLUMNS,
    deduplicated_select_sql,
    install,
    standardize_address,
    standardize_name,
    standardized_select_sql,
)

FILINGS = """
CREATE OR REPLACE TEMP TABLE filings AS
SELECT (100000000 + i)::VARCHAR AS tin,
       ['José', 'MARIA DE LOS ANGELES', 'Pepe', 'Bill', NULL][i % 5 + 1] AS first_name,
       ['', 'Luis', 'A.', NULL][i % 4 + 1] AS middle_name,
       ['García López', 'de la Cruz', 'Smith Jr.', 'O''Brien', ''][i % 5 + 1] AS last_name,
       CASE WHEN i % 3 = 0 THEN '1980-02-30' ELSE '1980-01-0' || (i % 9 + 1)::VARCHAR END
           AS date_of_birth,
       CASE WHEN i % 7 = 0 THEN 'PO Box ' || i::VARCHAR
            ELSE (i + 1)::VARCHAR || [' North Main Street', ' N St NW', ' Fifth Ave Apt 4',
                                      ' US Highway 101', ' Elm Rd #B'][i % 5 + 1] END
           AS street_address,
       CASE WHEN i % 4 = 0 THEN 'Apt. ' || (i % 9)::VARCHAR END AS unit,
       'St. Louis' AS city, ['MO', 'mo', 'Missouri'][i % 3 + 1] AS state,
       '63101' || CASE WHEN i % 2 = 0 THEN '-1234' ELSE '' END AS zip
FROM range(60) r(i)
"""


@pytest.fixture(scope="module")
def con():
    c = duckdb.connect()
    install(c)
    c.execute(FILINGS)
    yield c
    c.close()


def _rows(con, sql):
    rel = con.execute(sql)
    names = [d[0] for d in rel.description]
    return [dict(zip(names, r, strict=True)) for r in rel.fetchall()]


def test_r10_select_adds_every_architecture_column_and_keeps_rows(con):
    sql = standardized_select_sql("filings", side="filing")
    rel = con.execute(f"SELECT * FROM ({sql}) LIMIT 0")
    names = [d[0] for d in rel.description]
    src = [d[0] for d in con.execute("SELECT * FROM filings LIMIT 0").description]
    assert names == src + list(STD_COLUMNS)
    assert con.execute(f"SELECT count(*) FROM ({sql})").fetchone() == (60,)
    types = dict(con.execute(f"DESCRIBE ({sql})").fetchall()[i][:2]
                 for i in range(len(names)))
    assert types["n_given_all"] == types["n_surnames"] == "VARCHAR[]"
    assert types["dob"] == "DATE"


def test_r10_select_accepts_a_parenthesized_query(con):
    sql = standardized_select_sql("(SELECT * FROM filings WHERE tin < '100000010')",
                                  side="filing")
    assert con.execute(f"SELECT count(*) FROM ({sql})").fetchone() == (10,)


def test_r24_request_side_appends_second_last_name_and_keeps_alien_number(con):
    con.execute("""CREATE OR REPLACE TEMP TABLE req AS SELECT 'r1' AS record_id,
        'Juan' AS first_name, NULL AS middle_name, 'García' AS last_name,
        'López' AS second_last_name, NULL AS date_of_birth, 'A123456789' AS a_number,
        '1 Main St' AS street_address, NULL AS unit, 'X' AS city, 'TX' AS state,
        '77001' AS zip""")
    row = _rows(con, standardized_select_sql("req", side="request"))[0]
    assert row["n_surnames"] == ["GARCIA", "LOPEZ"]
    assert row["alien_number"] == "A123456789" and row["a_number"] == "1"


def test_r24_request_side_without_optional_columns(con):
    sql = standardized_select_sql("filings", side="request")
    rows = _rows(con, f"SELECT alien_number, n_surnames FROM ({sql})")
    assert len(rows) == 60 and all(r["alien_number"] is None for r in rows)


def test_r10_side_is_checked():
    with pytest.raises(ValueError):
        standardized_select_sql("filings", side="both")


def test_r10_install_is_idempotent_and_temp_only(tmp_path):
    c = duckdb.connect(str(tmp_path / "store.duckdb"))
    install(c)
    install(c)
    persistent = c.execute("SELECT count(*) FROM duckdb_tables() WHERE NOT temporary").fetchone()
    macros = c.execute("SELECT count(*) FROM duckdb_functions() "
                       "WHERE function_name = 'std_fold' AND NOT internal").fetchone()
    assert persistent == (0,) and macros[0] >= 1
    in_store = c.execute("SELECT count(*) FROM duckdb_functions() "
                         "WHERE database_name = 'store'").fetchone()
    assert in_store == (0,)
    c.close()



def test_r10_install_runs_once_per_connection_and_again_when_its_tables_are_gone():
    """A long-lived connection (the service's) keeps what install made: a second call
    rebuilds nothing (a row added to a lookup table stays), a new connection gets its
    own, and a connection that lost the mark (a rolled-back install) gets them again."""
    c = duckdb.connect()
    install(c)
    before = c.execute("SELECT count(*) FROM std_state").fetchone()[0]
    c.execute("INSERT INTO std_state VALUES ('TESTLAND', 'TL')")
    install(c)
    assert c.execute("SELECT count(*) FROM std_state").fetchone()[0] == before + 1
    c.execute("BEGIN")
    c.execute("DROP TABLE std_state")
    c.execute("DROP TABLE _tg_std_installed")
    c.execute("COMMIT")
    install(c)
    assert c.execute("SELECT count(*) FROM std_state").fetchone()[0] == before
    c.close()
    fresh = duckdb.connect()
    fresh.execute("BEGIN")
    install(fresh)
    fresh.execute("ROLLBACK")  # the tables and their mark go together
    install(fresh)
    assert fresh.execute("SELECT count(*) FROM std_state").fetchone()[0] == before
    assert fresh.execute("SELECT std_fold('José')").fetchone()[0] == "JOSE"
    fresh.close()

def test_r10_dob_parsed_and_invalid_dates_null(con):
    sql = standardized_select_sql("filings", side="filing")
    rows = _rows(con, f"SELECT date_of_birth, dob FROM ({sql})")
    for r in rows:
        if r["date_of_birth"] == "1980-02-30":
            assert r["dob"] is None
        else:
            assert str(r["dob"]) == r["date_of_birth"]


def test_r24_one_row_helpers_agree_with_the_vectorized_sql(con):
    """The one-row conveniences and the batch SQL give the same values, row by row."""
    sql = standardized_select_sql("filings", side="filing")
    rows = _rows(con, f"SELECT * FROM ({sql}) ORDER BY tin")
    for r in rows[::6]:
        name = standardize_name(r["first_name"], r["middle_name"], r["last_name"])
        addr = standardize_address(r["street_address"], r["unit"], r["city"], r["state"], r["zip"])
        assert name == {k: r[k] for k in name}
        assert addr == {k: r[k] for k in addr}


def test_r10_deduplicated_select_equals_the_row_by_row_select(con):
    # load standardizes each distinct name and address once: same rows, same values,
    # NULL inputs included (the FILINGS rows repeat names and addresses with NULLs)
    per_row = _rows(con, "SELECT * FROM (" + standardized_select_sql("filings", side="filing")
                    + ") ORDER BY tin")
    dedup = _rows(con, "SELECT * FROM (" + deduplicated_select_sql("filings") + ") ORDER BY tin")
    assert len(dedup) == len(per_row) == 60
    assert dedup == per_row
    assert any(r["first_name"] is None for r in dedup) and any(r["unit"] is None for r in dedup)


EDGES = """
CREATE OR REPLACE TEMP TABLE edge_filings AS
SELECT (200000000 + i)::VARCHAR AS tin, 'Ana' AS first_name, NULL AS middle_name,
       'Ruiz' AS last_name, '1970-05-05' AS date_of_birth,
       [NULL, '', '12 Oak St', 'PO Box 9', 'RR 2 Box 15', 'HC 1 Box 3', '12 Oak St',
        '7 N St', 'Apt 4', '5 Main St Apt 2'][i % 10 + 1] AS street_address,
       [NULL, 'Unit 3', NULL, '#B'][i % 4 + 1] AS unit,
       [NULL, 'Springfield', 'SPRINGFIELD', ''][i % 4 + 1] AS city,
       [NULL, 'IL', 'Illinois', 'XX', ''][i % 5 + 1] AS state,
       [NULL, '62701', '62702-0001', 'ABCDE', '', '627'][i % 6 + 1] AS zip
FROM range(120) r(i)
"""


def test_r24_street_lines_and_places_standardized_apart_give_the_same_addresses(con):
    """load standardizes each distinct street line apart from each distinct (city, state,
    ZIP) and joins them back: the same a_ columns as the row-by-row SQL, a_key included,
    for missing, empty and malformed parts, boxes, and one street line in several ZIPs.
    A failure here means a rule now reads a street line and a place together."""
    con.execute(EDGES)
    per_row = _rows(con, "SELECT * FROM (" + standardized_select_sql("edge_filings",
                                                                     side="filing")
                    + ") ORDER BY tin")
    dedup = _rows(con, "SELECT * FROM (" + deduplicated_select_sql("edge_filings")
                  + ") ORDER BY tin")
    assert len(dedup) == len(per_row) == 120
    assert dedup == per_row
    keys = {r["a_key"] for r in per_row}
    assert None in keys and any(k and k.endswith("|62701") for k in keys)
    assert any(k and k.endswith("|") for k in keys)  # a street line without a ZIP
    oak = {r["a_key"] for r in per_row if r["street_address"] == "12 Oak St" and not r["unit"]}
    assert len(oak) > 1  # one street line, several ZIPs: several delivery points
