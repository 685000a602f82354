"""R24 (revised), R23, contract §3: the delivery point itself is never fuzzy.

Unit level: :func:`taxgate.delivery_point.same_delivery_point` on addresses standardized
by the real SQL. End to end: hand-built taxpayers among a synthetic population,
standardized, scored by the trained Splink model and decided by ``policy.decide``, so
each case is a real CONFIRMED or NOT_CONFIRMED.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import duckdb
import pytest
from test_matching_r24 import PERIODS, REQUEST_COLS, _f, _req, _write, build_world
from world_cache import trained_once

from taxgate import delivery_point, matching, policy, standardize
from taxgate.settings import Policy
from taxgate.stage_table import table_of
from taxgate.synth import generate_taxpayers, write_taxpayers

pytestmark = pytest.mark.xdist_group("delivery")  # the module's world is built on one worker

NAMES = ("first_name", "middle_name", "last_name", "date_of_birth")
ADDRESS = ("street_address", "unit", "city", "state", "zip")


# ---------------------------------------------------------------- unit level (SQL)

@pytest.fixture(scope="module")
def sql() -> duckdb.DuckDBPyConnection:
    c = duckdb.connect()
    standardize.install(c)
    return c


def same(con: duckdb.DuckDBPyConnection, request: str, record: str, *,
         request_unit: str | None = None, record_unit: str | None = None,
         request_zip: str = "90001", record_zip: str = "90001",
         also_filed: tuple[tuple[str, str], ...] = (), pol: Policy | None = None) -> bool:
    """Does the request's address name the record's delivery point? ``also_filed``: other
    (street, ZIP) filed; the gazetteer holds them and the record. Los Angeles, CA."""
    rows = [("req", request, request_unit, request_zip), ("rec", record, record_unit, record_zip)]
    rows += [("gaz", street, None, zip_) for street, zip_ in also_filed]
    cols = ("role", *NAMES, *ADDRESS)
    con.execute(f"CREATE OR REPLACE TEMP TABLE dp_raw ({' VARCHAR, '.join(cols)} VARCHAR)")
    con.executemany(f"INSERT INTO dp_raw VALUES ({', '.join('?' * len(cols))})",
                    [[role, "ANA", None, "LOPEZ", None, street, unit, "LOS ANGELES", "CA", z]
                     for role, street, unit, z in rows])
    con.execute("CREATE OR REPLACE TEMP TABLE dp AS "
                + standardize.standardized_select_sql("dp_raw", side="filing"))
    expr = delivery_point.same_delivery_point(
        "r", "o", pol or Policy(), "(SELECT * FROM dp WHERE role <> 'req')")
    row = con.execute(f"SELECT coalesce({expr}, false) FROM dp r, dp o "
                      "WHERE r.role = 'req' AND o.role = 'rec'").fetchone()
    assert row is not None
    return bool(row[0])


@pytest.mark.parametrize("request_street, record_street", [
    ("123 S Central Ave", "123 N Central Ave"),          # another pre-directional
    ("123 Central Ave", "123 N Central Ave"),            # a pre-directional missing
    ("10 Riverside Dr NE", "10 Riverside Dr NW"),        # another post-directional
    ("10 Riverside Dr", "10 Riverside Dr NW"),           # a post-directional missing
    ("45 Walnut Ct", "45 Walnut St"),                    # another street type
    ("45 Walnut", "45 Walnut St"),                       # a street type missing
    ("21 Magnolia Blvd", "12 Magnolia Blvd"),            # transposed house number
    ("900 W 6th St", "900 W 5th St"),                    # another ordinal
    ("7 US Highway 102", "7 US Highway 101"),            # another highway number
    ("PO Box 21", "PO Box 12"),
    ("RR 3 Box 5", "RR 2 Box 5"),                        # same box, another route
    ("PO Box 5", "RR 2 Box 5"),
])
def test_r24_another_directional_type_number_or_box_is_another_address(
        sql, request_street, record_street):
    assert not same(sql, request_street, record_street)


@pytest.mark.parametrize("request_street, record_street", [
    ("123 North Central Avenue", "123 N Central Ave"),
    ("45 Walnut Street", "45 Walnut St"),
    ("10 Riverside Drive Northwest", "10 Riverside Dr NW"),
    ("900 West Fifth Street", "900 W 5th St"),
    ("7 U.S. Hwy 101", "7 US Highway 101"),
    ("P.O. Box 12", "PO Box 12"),
    ("Rural Route 2 Box 5", "RR 2 Box 5"),
])
def test_r24_publication_28_spellings_are_one_address(sql, request_street, record_street):
    assert same(sql, request_street, record_street)


@pytest.mark.parametrize("request_unit, record_unit, expected", [
    ("Apt 4", "Apt 4", True),
    ("#4", "Apt 4", True),
    ("Unit 4", "Apt 4", True),
    (None, "Apt 4", True),       # the contract: the same unit where both give one
    ("Apt 4", None, True),
    ("Apt 5", "Apt 4", False),
    ("Apt 4B", "Apt 4", False),
])
def test_r24_units_agree_where_both_give_one(sql, request_unit, record_unit, expected):
    assert same(sql, "300 Sycamore Ave", "300 Sycamore Ave", request_unit=request_unit,
                record_unit=record_unit) is expected


def test_r24_another_zip_is_another_delivery_point(sql):
    # one city may hold the same street in two ZIPs: the city and state do not make up
    # for another ZIP
    assert not same(sql, "123 N Central Ave", "123 N Central Ave", request_zip="90011")
    assert same(sql, "123 N Central Ave", "123 N Central Ave")


def test_r24_a_one_letter_street_name_typo_is_tolerated_when_no_such_street_is_filed(sql):
    assert same(sql, "77 Mapelwood Dr", "77 Maplewood Dr")
    assert same(sql, "77 Maplewod Dr", "77 Maplewood Dr")


def test_r24_no_tolerance_where_the_zip_has_a_street_of_the_requested_spelling(sql):
    # the filings are a gazetteer: MAPELWOOD is a street of its own in this ZIP
    assert not same(sql, "77 Mapelwood Dr", "77 Maplewood Dr",
                    also_filed=(("5 Mapelwood Ln", "90001"),))
    # or another street is as near to the requested spelling as the record's
    assert not same(sql, "77 Mapelwood Dr", "77 Maplewood Dr",
                    also_filed=(("5 Mapelwoed Dr", "90001"),))
    # a street of that spelling in another ZIP, or a street far from it, does not count
    assert same(sql, "77 Mapelwood Dr", "77 Maplewood Dr",
                also_filed=(("5 Mapelwood Dr", "90011"), ("5 Maple Dr", "90001")))


def test_r24_tolerance_is_only_in_the_name_and_only_within_policy(sql):
    # a typo in the name does not carry another directional or street type with it
    assert not same(sql, "77 S Mapelwood Dr", "77 N Maplewood Dr")
    assert not same(sql, "77 Mapelwood Ct", "77 Maplewood Dr")
    # short names are never tolerated (ELM is not ELK)
    assert not same(sql, "8 Cedar St", "8 Ceder St")
    # two edits are beyond the default; a policy may allow none at all
    assert not same(sql, "77 Mapelwod Dr", "77 Maplewood Dr")
    assert not same(sql, "77 Mapelwood Dr", "77 Maplewood Dr",
                    pol=replace(Policy(), street_name_max_edits=0))
    assert same(sql, "8 Cedar St", "8 Ceder St",
                pol=replace(Policy(), street_name_min_length_for_edits=5))
    # no policy makes one directional a misspelling of another (N ST is not S ST)
    assert not same(sql, "5 N St", "5 S St",
                    pol=replace(Policy(), street_name_min_length_for_edits=1))


def test_r24_street_parts_are_those_the_parser_found(sql, tmp_path):
    """The pre-directional, suffix and post-directional read back from a_street and
    a_street_name are exactly the parser's own: on hard cases and on every street line
    of a synthetic population (every Pub 28 spelling the generator writes)."""
    from taxgate.standardize.select import _stages

    lines = ["123 N Main St", "9 Main St W", "5 N N", "5 N N St", "5 North St",
             "7 US Highway 101", "9 Avenue B", "10 E Broadway", "12 N S Broadway Ave NE",
             "1 Main W", "1 N Main W", "123 Main St Apt 4", "40 Saint Marys Street SE",
             "3 Old Post Road", "15 West End Avenue", "2 S 5th Ave", "6 Park Ave S"]
    write_taxpayers(generate_taxpayers(1_500, 5), tmp_path / "p.parquet", "parquet")
    sql.execute("CREATE OR REPLACE TEMP TABLE parts_raw AS SELECT DISTINCT street_address, "
                "NULL::VARCHAR AS unit, 'X' AS city, 'CA' AS state, '90001' AS zip, "
                "'A' AS first_name, NULL::VARCHAR AS middle_name, 'B' AS last_name, "
                "NULL::VARCHAR AS date_of_birth FROM read_parquet(?) "
                "UNION ALL SELECT unnest(?::VARCHAR[]), NULL, 'X', 'CA', '90001', 'A', NULL, "
                "'B', NULL", [str(tmp_path / "p.parquet"), lines])
    ctes = ",\n".join(f"{n} AS ({s})" for n, s in _stages("parts_raw", "filing"))
    parts = standardize.street_parts_sql("_s_street_out", "_s_name")
    rows = sql.execute(f"WITH {ctes} SELECT street_address, {parts}, _s_pre, _s_sfx, _s_post "
                       "FROM _std_15 WHERE NOT _s_box AND _s_name IS NOT NULL").fetchall()
    assert len(rows) > 1_000
    assert sum(pre is not None for _, _, pre, _, _ in rows) > 50
    assert sum(post is not None for _, _, _, _, post in rows) > 10
    for line, got, pre, sfx, post in rows:
        assert got == {"ok": True, "pre": pre, "suffix": sfx, "post": post}, line


# ---------------------------------------------------------------- end to end

OTHER_ZIP = ("LOS ANGELES", "CA", "90011")

HAND = [
    _f("000000101", "ESPERANZA", None, "ALVARADO", "1971-04-12", "123 N Central Ave", None,
       2024),
    _f("000000102", "FILOMENA", None, "BETANCOURT", "1966-09-30", "45 Walnut St", None, 2024),
    _f("000000103", "EUSEBIO", None, "CASTANEDA", "1983-01-17", "12 Magnolia Blvd", None,
       2024),
    _f("000000104", "LEOCADIA", None, "DOMINGUEZ", "1990-06-05", "300 Sycamore Ave", "Apt 4",
       2024),
    _f("000000105", "ROSENDO", None, "ECHAVARRIA", "1958-11-23", "77 Maplewood Dr", None,
       2024),
    # the same street, but in a ZIP where a street spelled MAPELWOOD is filed too
    _f("000000106", "CLEOTILDE", None, "FAJARDO", "1962-02-08", "77 Maplewood Dr", None, 2024,
       place=OTHER_ZIP),
    _f("000000107", "HERMENEGILDO", None, "GALINDO", "1979-07-19", "5 Mapelwood Dr", None,
       2024, place=OTHER_ZIP),
    _f("000000108", "GUMERSINDO", None, "HINOJOSA", "1949-03-28", "900 W 5th St", None, 2024),
    _f("000000109", "ANACLETO", None, "IBARRA", "1987-12-01", "10 Riverside Dr NW", None,
       2024),
]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> tuple[duckdb.DuckDBPyConnection, Path]:
    """The hand-built taxpayers among the shared synthetic population, with its model."""
    tmp = tmp_path_factory.mktemp("dp")
    with trained_once(tmp_path_factory):
        return build_world(tmp, HAND), tmp


def outcomes(world, requests: list[tuple]) -> dict[str, tuple[str, str | None]]:
    """record_id -> (outcome, TIN) through standardize, score and policy.decide."""
    con, tmp = world
    _write(tmp / "req.csv", REQUEST_COLS, requests)
    con.execute(f"CREATE OR REPLACE TABLE raw_req AS SELECT row_number() OVER () AS "
                f"row_number, * FROM read_csv('{tmp / 'req.csv'}', all_varchar=true)")
    con.execute("CREATE OR REPLACE TABLE req AS "
                + standardize.standardized_select_sql("raw_req", side="request"))
    n = con.execute("SELECT count(DISTINCT tin) FROM filings").fetchone()[0]
    model_json = con.execute("SELECT j FROM model").fetchone()[0]
    req = table_of(con, "req")
    pairs = matching.score(con, requests=req, filings="filings", model_json=model_json,
                           prior=0.5 / n, out="pairs")
    decided = policy.decide(con, requests=req, pairs=pairs, periods=PERIODS, policy=Policy(),
                            safeguards_current=True, out="decided")
    rows = con.execute(f"SELECT r.record_id, d.outcome, d.tin, d.evidence FROM {decided.name} d "
                       f"JOIN {req.name} r USING (row_number)").fetchall()
    assert all(e is None or "weights" in json.loads(e) for _, _, _, e in rows)
    return {rid: (o, t) for rid, o, t, _ in rows}


def test_r24_r23_near_delivery_points_are_not_confirmed(world):
    out = outcomes(world, [
        _req("n_vs_s", "ESPERANZA", "ALVARADO", "123 S Central Ave", dob="1971-04-12"),
        _req("no_predir", "ESPERANZA", "ALVARADO", "123 Central Ave", dob="1971-04-12"),
        _req("other_zip", "ESPERANZA", "ALVARADO", "123 N Central Ave", dob="1971-04-12",
             place=OTHER_ZIP),
        _req("ct_vs_st", "FILOMENA", "BETANCOURT", "45 Walnut Ct", dob="1966-09-30"),
        _req("21_vs_12", "EUSEBIO", "CASTANEDA", "21 Magnolia Blvd", dob="1983-01-17"),
        _req("apt5", "LEOCADIA", "DOMINGUEZ", "300 Sycamore Ave", "Apt 5", dob="1990-06-05"),
        _req("6th", "GUMERSINDO", "HINOJOSA", "900 W 6th St", dob="1949-03-28"),
        _req("ne_vs_nw", "ANACLETO", "IBARRA", "10 Riverside Dr NE", dob="1987-12-01"),
    ])
    assert {k: o for k, (o, _) in out.items()} == dict.fromkeys(out, "NOT_CONFIRMED")


def test_r24_publication_28_variants_of_the_delivery_point_are_confirmed(world):
    out = outcomes(world, [
        _req("north", "ESPERANZA", "ALVARADO", "123 North Central Avenue", dob="1971-04-12"),
        _req("street", "FILOMENA", "BETANCOURT", "45 WALNUT STREET", dob="1966-09-30"),
        _req("hash4", "LEOCADIA", "DOMINGUEZ", "300 Sycamore Ave", "#4", dob="1990-06-05"),
        _req("unit_in_line", "LEOCADIA", "DOMINGUEZ", "300 Sycamore Ave Unit 4",
             dob="1990-06-05"),
        _req("no_unit", "LEOCADIA", "DOMINGUEZ", "300 Sycamore Ave", dob="1990-06-05"),
        _req("fifth", "GUMERSINDO", "HINOJOSA", "900 West Fifth Street", dob="1949-03-28"),
        _req("northwest", "ANACLETO", "IBARRA", "10 Riverside Drive Northwest",
             dob="1987-12-01"),
        _req("same_number", "EUSEBIO", "CASTANEDA", "12 Magnolia Boulevard", dob="1983-01-17"),
    ])
    expected = {"north": "000000101", "street": "000000102", "hash4": "000000104",
                "unit_in_line": "000000104", "no_unit": "000000104", "fifth": "000000108",
                "northwest": "000000109", "same_number": "000000103"}
    assert out == {k: ("CONFIRMED", tin) for k, tin in expected.items()}


def test_r24_street_name_typo_confirms_only_where_the_zip_has_no_such_street(world):
    out = outcomes(world, [
        # no street spelled MAPELWOOD is filed in 90001: the request names MAPLEWOOD DR
        _req("typo", "ROSENDO", "ECHAVARRIA", "77 Mapelwood Dr", dob="1958-11-23"),
        # in 90011 MAPELWOOD DR is a street of its own: the request names that street
        _req("other_street", "CLEOTILDE", "FAJARDO", "77 Mapelwood Dr", dob="1962-02-08",
             place=OTHER_ZIP),
        _req("exact", "CLEOTILDE", "FAJARDO", "77 Maplewood Dr", dob="1962-02-08",
             place=OTHER_ZIP),
    ])
    assert out["typo"] == ("CONFIRMED", "000000105")
    assert out["other_street"][0] == "NOT_CONFIRMED"
    assert out["exact"] == ("CONFIRMED", "000000106")
