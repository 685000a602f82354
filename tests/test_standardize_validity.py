"""Address and name validity macros used by the statute checks (R8, R9, R17)."""

from __future__ import annotations

import duckdb
import pytest

from taxgate.standardize import install

CHECKS = ("addr_has_street_location", "addr_is_placeholder", "addr_zip_only",
          "addr_is_institution")
# street -> (has_street_location, is_placeholder, zip_only, is_institution)
STREETS = {
    "Don't Care 12345": (False, True, True, False),
    "00000": (False, True, True, False),
    "12345-6789": (False, False, True, False),
    "12345": (False, False, True, False),
    "Unknown Address 20001": (False, True, True, False),
    "Failed to Provide": (False, True, False, False),
    "NA NA": (False, True, False, False),
    "N/A": (False, True, False, False),
    "UNKNOWN": (False, True, False, False),
    "NONE": (False, True, False, False),
    "SAME": (False, True, False, False),
    "HOMELESS": (False, True, False, False),
    "TEST": (False, True, False, False),
    "XXX": (False, True, False, False),
    "ICE Processing Center": (False, False, False, True),
    "Harris County Jail": (False, False, False, True),
    "Main St": (False, False, False, False),
    "123 Apt 4": (False, False, False, False),
    "123 Main St": (True, False, False, False),
    "123 N Main St Apt 4": (True, False, False, False),
    "1200 Baker St (County Jail)": (True, False, False, False),
    "PO Box 12": (True, False, False, False),
    "RR 2 Box 15": (True, False, False, False),
    "": (False, False, False, False),
}


@pytest.fixture(scope="module")
def con():
    c = duckdb.connect()
    install(c)
    yield c
    c.close()


def test_r9_required_negative_address_fields(con):
    """R9 / section 7 negative tests: each street gets the expected answer from every macro."""
    rows = con.execute(
        "SELECT s, " + ", ".join(f"{m}(s)" for m in CHECKS) + " FROM unnest(?) t(s)",
        [list(STREETS)],
    ).fetchall()
    got = {r[0]: tuple(r[1:]) for r in rows}
    assert got == STREETS


def test_r9_a_real_address_is_never_rejected_by_any_macro(con):
    ok = con.execute("SELECT addr_has_street_location(s) AND NOT addr_is_placeholder(s) "
                     "AND NOT addr_zip_only(s) AND NOT addr_is_institution(s) "
                     "FROM (VALUES ('500 N St NW'), ('77 US Hwy 101'), ('12 Fifth Ave #3')) v(s)"
                     ).fetchall()
    assert all(r[0] for r in ok)


def test_r17_tin_never_substitutes_for_an_address(con):
    """The macros look at the street only: a ZIP-like placeholder fails whatever else is given."""
    assert con.execute("SELECT addr_has_street_location('Don''t Care 12345')").fetchone() == (
        False,)


@pytest.mark.parametrize("name, expected", [
    ("UNKNOWN", True), ("N/A", True), ("NA", True), ("NONE", True), ("TEST", True),
    ("John Doe", True), ("JANE  DOE", True), ("FNU", True), ("LNU", True), ("xxx", True),
    ("Failed to provide", True), (".", True), ("123", True),
    ("Maria", False), ("Doe", False), ("Nguyen", False), ("", False), (None, False),
])
def test_r8_name_placeholders(con, name, expected):
    assert con.execute("SELECT name_is_placeholder(?)", [name]).fetchone() == (expected,)


def test_r9_zip_table_exists_and_belongs_to_state(con):
    got = con.execute("""
        SELECT zip_exists('20001'), zip_in_state('20001', 'DC'), zip_in_state('20001-1234', 'DC'),
               zip_in_state('20001', 'TX'), zip_in_state('77001', 'Texas'), zip_exists('00000'),
               zip_exists('1234'), zip_exists(NULL)
    """).fetchone()
    assert got == (True, True, True, False, True, False, False, False)
    n = con.execute("SELECT count(*), count(DISTINCT zip5) FROM zip_state").fetchone()
    assert n[0] == n[1] > 40000


def test_r9_zip_join_for_a_whole_relation(con):
    rows = con.execute("""
        SELECT z.state FROM (VALUES ('10001'), ('99999'), ('60601')) v(zip5)
        LEFT JOIN zip_state z USING (zip5) ORDER BY v.zip5
    """).fetchall()
    assert rows == [("NY",), ("IL",), (None,)]


def test_r9_the_placeholder_pattern_is_the_word_list_rule(con):
    """R9: ``addr_is_placeholder`` is one pattern; on generated street lines it answers
    as the rule it encodes, written the long way here: with the numbers dropped, the
    line is a phrase of the list or only words of it, or it is XXX or zeros (a line that
    folds to nothing is one too)."""
    import random

    from taxgate.standardize._data import column
    from taxgate.standardize._sql import sql_list

    phrases = list(column("addr_placeholders.csv", "placeholder"))
    listed = sql_list(phrases)
    rule = f"""CASE WHEN s IS NULL OR trim(s) = '' THEN false ELSE coalesce(
        list_transform([std_fold(s)], lambda f: list_transform(
            [trim(regexp_replace(regexp_replace(f, '\\b[0-9]+\\b', ' ', 'g'), ' +', ' ', 'g'))],
            lambda r: list_contains({listed}, r)
                OR (r <> '' AND list_bool_and(list_transform(string_split(r, ' '),
                                                            lambda t: list_contains({listed}, t))))
                OR regexp_full_match(f, 'X{{2,}}( X+)*|0+( 0+)*'))[1])[1], true) END"""
    words = [w for p in phrases for w in p.split(" ")] + [
        "12", "0", "00", "5A", "1ST", "MAIN", "ST", "X", "XX", "0X", "N", "A", "é", "Ñ", "1/2"]
    rng = random.Random(9)
    lines = ["".join(rng.choice(words) + rng.choice([" ", " ", "  ", "-", "/", ".", ""])
                     for _ in range(rng.randint(1, 5))) for _ in range(20_000)]
    lines = [s.lower() if rng.random() < 0.3 else s for s in lines] + ["", " ", "---"]
    differ, placeholders = con.execute(
        f"SELECT count(*) FILTER (WHERE addr_is_placeholder(s) IS DISTINCT FROM ({rule})), "
        "count(*) FILTER (WHERE addr_is_placeholder(s)) FROM unnest(?) t(s)", [lines]).fetchone()
    assert differ == 0 and placeholders > 1_000
