"""R23, R24: given names spelled two ways or clipped, by rule, and the guards that keep
distinct names distinct; family names in the other order.

The level scans evaluate the model's own first-name levels (taxgate.matching.model) on
the inputs ``matching.duckdb._input_view`` computes, on a real DuckDB connection with the
product's tables. The end-to-end tests go standardize -> train -> score -> decide as
``test_names_agree`` does (its world: a synthetic population plus hand-built filings).
"""

from __future__ import annotations

from dataclasses import replace

import duckdb
import pytest
from test_matching_r24 import _f, _req, build_world
from test_names_agree import _outcomes, decide
from world_cache import trained_once

from taxgate import standardize
from taxgate.matching import NameRules, model
from taxgate.matching import duckdb as mdb
from taxgate.settings import Policy

pytestmark = pytest.mark.xdist_group("variants")  # the module's world is built on one worker

RAW = ("first_name VARCHAR, middle_name VARCHAR, last_name VARCHAR, street_address VARCHAR, "
       "unit VARCHAR, city VARCHAR, state VARCHAR, zip VARCHAR, date_of_birth VARCHAR, "
       "tin VARCHAR, id INTEGER")


def first_name_levels(pairs: list[tuple[str, str]], names: NameRules | None = None
                      ) -> dict[tuple[str, str], str]:
    """(filed, requested) -> the label of the first-name level the pair falls in."""
    con = duckdb.connect()
    standardize.install(con)
    spellings = sorted({n for p in pairs for n in p})
    con.execute(f"CREATE TABLE raw ({RAW})")
    con.executemany("INSERT INTO raw VALUES (?, NULL, 'SMITH', '1 MAIN ST', NULL, 'AUSTIN', "
                    "'TX', '78701', NULL, NULL, ?)", [(n, i) for i, n in enumerate(spellings)])
    con.execute("CREATE TABLE std AS " + standardize.standardized_select_sql("raw", side="filing"))
    mdb._input_view(con, "v", "std", "id", names=names or NameRules.of(Policy()))
    first = model.comparisons()[0].get_comparison("duckdb").as_dict()
    cases = " ".join(f"WHEN {lv['sql_condition']} THEN '{lv['label_for_charts']}'"
                     for lv in first["comparison_levels"]
                     if not lv.get("is_null_level") and lv["sql_condition"] != "ELSE")
    cols = [r[0] for r in con.execute("DESCRIBE v").fetchall()]
    sides = ", ".join([f"l.{c} AS {c}_l" for c in cols] + [f"r.{c} AS {c}_r" for c in cols])
    con.execute("CREATE TABLE pairs (a VARCHAR, b VARCHAR)")
    con.executemany("INSERT INTO pairs VALUES (?, ?)", pairs)
    rows = con.execute(f"""
        SELECT a, b, CASE {cases} ELSE 'else' END FROM (
          SELECT p.a, p.b, {sides} FROM pairs p
          JOIN raw ra ON ra.first_name = p.a JOIN raw rb ON rb.first_name = p.b
          JOIN v l ON l.uid = ra.id JOIN v r ON r.uid = rb.id)""").fetchall()
    return {(a, b): level for a, b, level in rows}


CLIPPED = [("MELANIE", "MEL"), ("COLEMAN", "COLE"), ("BETHANY", "BETH"), ("STANLEY", "STAN"),
           ("KATHLEEN", "KATHY"), ("CATHLEEN", "CATHIE"), ("KENNETH", "KENNY"),
           ("SAMUEL", "SAMMIE"), ("GREGORY", "GREGG"), ("MADELEINE", "MADDIE"),
           ("ARTHUR", "ARTIE"), ("VALENTINE", "VAL")]
SPELLED = [("MATTHEW", "MATHEW"), ("MICHELLE", "MICHELE"), ("MELISSA", "MELISA"),
           ("MOHAMMED", "MOHAMED"), ("ERIC", "ERIK"), ("CARL", "KARL"), ("THERESA", "TERESA")]
# distinct names the rules must leave apart: opposite sexes, two established names a
# letter apart, a single consonant before -Y (MARY is not a clipped MARGARET), another
# initial
APART = [("CHRISTOPHER", "CHRISTY"), ("DANIELA", "DANNY"), ("ERICA", "ERIC"),
         ("JOHNA", "JOHN"), ("JUANA", "JUAN"), ("HAYDEN", "HAYDEE"), ("ARLINE", "ARLIE"),
         ("DEANN", "DEAN"), ("MARGARET", "MARY"), ("JOSHUA", "JOSE"),
         ("JOAN", "JOHN"), ("PAULA", "PAUL"), ("ZEBEDIAH", "MELANIE"), ("MARY", "MARK"),
         ("JANICE", "JANE"), ("DALTON", "DALE"), ("NATALIE", "NATE"), ("GABRIELLA", "GABE"),
         ("SALVATORE", "SALLY"), ("CALVIN", "CALLIE"), ("MARCUS", "MARCY"),
         ("HAROLD", "HALLIE"), ("CHARLES", "CARLY")]


def test_r24_clipped_given_names_agree_as_hypocorisms():
    """MEL is MELANIE, KATHY is KATHLEEN, CATHIE is CATHLEEN, KENNY is KENNETH (R24): a
    clipped form, a diminutive ending after two consonants dropped, TH as T and C as K,
    agrees at the hypocorism level (or a stronger one), both ways."""
    levels = first_name_levels(CLIPPED + [(b, a) for a, b in CLIPPED])
    assert all(level != "else" for level in levels.values()), levels
    assert levels[("MELANIE", "MEL")] == "hypocorism"
    assert levels[("COLEMAN", "COLE")] == "hypocorism"


def test_r24_a_listed_clipping_with_a_silent_e_keeps_its_stem():
    """KATE is KATHLEEN, both ways (R24): the nickname table lists KATE for KATHERINE and
    KATHRYN, whose spelling keys begin with KAT, so KATE is a clipping of KAT- and its
    silent E is not part of the stem; KATHLEEN (KATLEEN) begins with it. JOSE, which no
    table lists as a clipping, keeps its E (not JOSHUA); NATE is never NATALIE (R23)."""
    pairs = [("KATHLEEN", "KATE"), ("CATHLEEN", "KATE"), ("KATRINA", "KATE")]
    levels = first_name_levels(pairs + [(b, a) for a, b in pairs]
                               + [("JOSHUA", "JOSE"), ("NATALIE", "NATE")])
    assert {levels[p] for p in pairs} == {"hypocorism"}, levels
    assert {levels[(b, a)] for a, b in pairs} == {"hypocorism"}, levels
    assert levels[("JOSHUA", "JOSE")] == levels[("NATALIE", "NATE")] == "else"


def test_r24_a_diminutive_takes_the_names_of_its_listed_short_form():
    """LENNIE is LEONARD, both ways (R24): LENNIE is LEN with a diminutive ending, and the
    table lists LEN for LEONARD (it lists LENNIE only for JALEN); so HUGHIE is HUBERT and
    TEDDIE EDMUND. A name of the other sex is never taken over (R23): SALLY is not
    SALVATORE though SAL stands for both SALLY and SALVATORE, nor CALLIE CALVIN."""
    pairs = [("LEONARD", "LENNIE"), ("HUBERT", "HUGHIE"), ("EDMUND", "TEDDIE")]
    apart = [("SALVATORE", "SALLY"), ("CALVIN", "CALLIE"), ("CALEB", "CALLIE")]
    levels = first_name_levels(pairs + [(b, a) for a, b in pairs] + apart)
    assert {levels[p] for p in pairs} == {"listed nickname"}, levels
    assert {levels[(b, a)] for a, b in pairs} == {"listed nickname"}, levels
    assert {levels[p] for p in apart} == {"else"}, levels


def test_r24_one_name_spelled_two_ways_agrees():
    """MATTHEW/MATHEW, MICHELLE/MICHELE, ERIC/ERIK, CARL/KARL (R24): both spellings are
    established names, so the typo rule keeps them apart; one spelling key makes them one
    name."""
    levels = first_name_levels(SPELLED)
    assert set(levels.values()) == {"spelling"}, levels


def test_r23_hypocorism_and_spelling_rules_keep_distinct_names_apart():
    """CHRISTY is not CHRISTOPHER nor DANNY DANIELA (opposite sexes), ERIC is not ERICA
    nor JOHN JOHNA (established names a letter apart), MARY is not a clipped MARGARET,
    JOSE not a clipped JOSHUA (R23): each pair agrees at no level."""
    levels = first_name_levels(APART + [(b, a) for a, b in APART])
    assert set(levels.values()) == {"else"}, {k: v for k, v in levels.items() if v != "else"}


def test_r23_hypocorism_min_letters_is_policy():
    """``hypocorism_min_letters`` decides how much of the full name a clipped form must
    keep: MEL agrees with MELANIE under the default (3), not at 4; KATHY (KAT) likewise."""
    pairs = [("MELANIE", "MEL"), ("COLEMAN", "COLE")]
    strict = replace(Policy(), hypocorism_min_letters=4)
    assert strict.version() != Policy().version()
    assert first_name_levels(pairs)[("MELANIE", "MEL")] == "hypocorism"
    levels = first_name_levels(pairs, NameRules.of(strict))
    assert levels == {("MELANIE", "MEL"): "else", ("COLEMAN", "COLE"): "hypocorism"}


HAND = [
    _f("000000201", "MELANIE", None, "OKAFOR", "1971-03-04", "40 Quetzal St", None, 2024),
    _f("000000202", "KATHLEEN", None, "BRANDVOLD", "1962-05-06", "41 Quetzal St", None, 2024),
    _f("000000203", "MATTHEW", None, "LINDQVIST", "1983-07-08", "42 Quetzal St", None, 2024),
    _f("000000204", "CHRISTOPHER", None, "AALDERINK", "1979-09-10", "43 Quetzal St", None, 2024),
    _f("000000205", "ERIC", None, "VANTONGEREN", "1981-11-12", "44 Quetzal St", None, 2024),
    _f("000000206", "YOLANDA", None, "RIVERA GARCIA", "1977-01-13", "45 Quetzal St", None,
       2024),
    _f("000000207", "LEONARD", None, "HALVORSEN", "1958-02-14", "46 Quetzal St", None, 2024),
]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory):
    tmp = tmp_path_factory.mktemp("variants")
    with trained_once(tmp_path_factory):
        return build_world(tmp, HAND), tmp


def test_r24_hypocorisms_spellings_and_reordered_surnames_confirm(world):
    """MEL for MELANIE, CATHIE for KATHLEEN, MATHEW for MATTHEW, and GARCIA RIVERA for
    RIVERA GARCIA (both family names in the other order, no date of birth) are the
    taxpayer at the address of record (R24)."""
    out = decide(world, [
        _req("mel", "MEL", "OKAFOR", "40 Quetzal St", dob="1971-03-04"),
        _req("cathie", "CATHIE", "BRANDVOLD", "41 Quetzal St", dob="1962-05-06"),
        _req("mathew", "MATHEW", "LINDQVIST", "42 Quetzal St"),
        _req("reordered", "YOLANDA", "GARCIA RIVERA", "45 Quetzal St"),
    ])
    assert _outcomes(out) == dict.fromkeys(out, "CONFIRMED")
    assert out["reordered"]["evidence"]["levels"]["surname"] == 6  # surnames reordered


def test_r23_opposite_sex_and_established_extensions_stay_unconfirmed(world):
    """CHRISTY where only CHRISTOPHER files and ERICA where only ERIC files, even with
    the taxpayer's date of birth (R23): the rules do not join them."""
    out = decide(world, [
        _req("christy", "CHRISTY", "AALDERINK", "43 Quetzal St", dob="1979-09-10"),
        _req("erica", "ERICA", "VANTONGEREN", "44 Quetzal St", dob="1981-11-12"),
    ])
    assert _outcomes(out) == dict.fromkeys(out, "NOT_CONFIRMED")
    assert {v["tin"] for v in out.values()} == {None}


def test_r24_kate_and_lennie_confirm_with_a_date_of_birth(world):
    """KATE where KATHLEEN files and LENNIE where LEONARD files, with the taxpayer's date
    of birth, are the taxpayer at the address of record (R24); before the silent-E and
    diminutive rules neither name agreed at any level and both were NOT_CONFIRMED."""
    out = decide(world, [
        _req("kate", "KATE", "BRANDVOLD", "41 Quetzal St", dob="1962-05-06"),
        _req("lennie", "LENNIE", "HALVORSEN", "46 Quetzal St", dob="1958-02-14"),
    ])
    assert _outcomes(out) == dict.fromkeys(out, "CONFIRMED")
