"""R17, R23, R24: the name must agree, and distinct names are distinct people.

Standardize -> train -> score -> decide, as in ``test_matching_r24`` (its world: a
synthetic population plus the hand-built filings below), real Splink and DuckDB. Each
request asks for one person at the address of record of a hand-built taxpayer, who is
the only one of that surname filing there.
"""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
from test_matching_r24 import PERIODS, REQUEST_COLS, _f, _req, _write, build_world
from world_cache import trained_once

from taxgate import matching, policy, standardize
from taxgate.settings import Policy
from taxgate.stage_table import table_of

pytestmark = pytest.mark.xdist_group("names")  # the module's world is built on one worker

# TINs in area 000 and ITIN group 00 never occur in the synthetic population.
HAND = [
    _f("000000101", "JUAN", None, "GARCIA", "1970-01-15", "10 Quetzal St", None, 2024),
    _f("000000102", "MARIO", None, "LOPEZ", "1972-02-16", "11 Quetzal St", None, 2024),
    _f("000000103", "ANTONIO", None, "RUIZ", "1974-03-17", "12 Quetzal St", None, 2024),
    _f("000000104", "JOHN", None, "MILLER", "1976-04-18", "13 Quetzal St", None, 2024),
    _f("000000105", "PAUL", None, "ANDERSON", "1978-05-19", "14 Quetzal St", None, 2024),
    _f("000000106", "MARK", None, "THOMPSON", "1980-06-20", "15 Quetzal St", None, 2024),
    _f("000000107", "JEAN", None, "COLLINS", "1982-07-21", "16 Quetzal St", None, 2024),
    _f("000000108", "ROBERT", "JASON", "HARRIS", "1965-08-22", "20 Quetzal St", None, 2024),
    _f("000000109", "MIGUEL", None, "CERVANTES", "1984-09-23", "21 Quetzal St", None, 2024),
    _f("000000110", "JOSE", None, "ARREDONDO", "1968-10-24", "22 Quetzal St", None, 2024),
    _f("000000111", "WILLIAM", None, "PRESCOTT", "1966-11-25", "23 Quetzal St", None, 2024),
    _f("000000112", "MARIA", "ROSA", "VILLALOBOS", "1987-12-26", "24 Quetzal St", None, 2024),
    _f("000000113", "GUADALUPE", None, "ZAMORA MEDINA", "1990-01-27", "25 Quetzal St", None,
       2024),
    _f("000000114", "ANDREW", None, "WHITFIELD", "1971-02-03", "26 Quetzal St", None, 2024),
    _f("000000115", "LOUISE", None, "BRANNIGAN", "1973-04-05", "27 Quetzal St", None, 2024),
    _f("000000116", "ALEXANDER", None, "KOWALCZYK", "1975-06-07", "28 Quetzal St", None, 2024),
    _f("000000117", "ANGEL", None, "DEJESUS", "1977-08-09", "29 Quetzal St", None, 2024),
    _f("000000118", "MARCO", None, "TORO", "1979-10-11", "30 Quetzal St", None, 2024),
    _f("000000119", "RAMON", None, "ECHAVARRIA", "1981-12-13", "31 Quetzal St", None, 2024),
]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory):
    tmp = tmp_path_factory.mktemp("names")
    with trained_once(tmp_path_factory):
        return build_world(tmp, HAND), tmp


def decide(world, requests: list[tuple], pol: Policy | None = None) -> dict[str, dict]:
    """record_id -> {outcome, tin, evidence} through standardize, score and decide, with
    ``pol`` (default: the default policy) for scoring and deciding."""
    con, tmp = world
    pol = pol or Policy()
    path = tmp / "req.csv"
    _write(path, REQUEST_COLS, requests)
    con.execute(f"CREATE OR REPLACE TABLE raw_req AS SELECT row_number() OVER () AS "
                f"row_number, * FROM read_csv('{path}', all_varchar=true)")
    con.execute("CREATE OR REPLACE TABLE req AS "
                + standardize.standardized_select_sql("raw_req", side="request"))
    n = con.execute("SELECT count(DISTINCT tin) FROM filings").fetchone()[0]
    model_json = con.execute("SELECT j FROM model").fetchone()[0]
    req = table_of(con, "req")
    pairs = matching.score(con, requests=req, filings="filings", model_json=model_json,
                           prior=0.5 / n, out="pairs", names=matching.NameRules.of(pol))
    decided = policy.decide(con, requests=req, pairs=pairs, periods=PERIODS, policy=pol,
                            safeguards_current=True, out="decided")
    rows = con.execute(f"""SELECT r.record_id, d.outcome, d.tin, d.evidence
                           FROM {decided.name} d JOIN {req.name} r USING (row_number)""").fetchall()
    return {rid: {"outcome": o, "tin": t, "evidence": json.loads(e) if e else None}
            for rid, o, t, e in rows}


def _outcomes(out: dict[str, dict]) -> dict[str, str]:
    return {k: v["outcome"] for k, v in out.items()}


# (record, requested given name, the filed taxpayer's surname and address)
DISTINCT = [
    ("juana", "JUANA", "GARCIA", "10 Quetzal St"),
    ("maria", "MARIA", "LOPEZ", "11 Quetzal St"),
    ("antonia", "ANTONIA", "RUIZ", "12 Quetzal St"),
    ("joan", "JOAN", "MILLER", "13 Quetzal St"),
    ("paula", "PAULA", "ANDERSON", "14 Quetzal St"),
    ("mary", "MARY", "THOMPSON", "15 Quetzal St"),
    ("joan_for_jean", "JOAN", "COLLINS", "16 Quetzal St"),
    ("juana_swapped", "GARCIA", "JUANA", "10 Quetzal St"),
]


def test_r23_distinct_given_names_a_letter_apart_are_not_typos():
    """JUANA is not JUAN, MARIA not MARIO, JOAN not JOHN (R23): each is an established
    given name of its own in the SSA table, so neither is a typo of the other."""
    from taxgate.standardize._data import rows

    births = {r["name"]: int(r["female"]) + int(r["male"]) for r in rows("given_names.csv")}
    floor = Policy().established_given_name_min_count
    for name in ("JUAN", "JUANA", "MARIO", "MARIA", "JOHN", "JOAN", "JEAN", "PAUL", "PAULA",
                 "MARK", "MARY", "ANTONIO", "ANTONIA"):
        assert births[name] >= floor, name
    # the typos of the tests below are not established names
    assert births.get("JAUN", 0) < floor and "MIGEUL" not in births


@pytest.mark.parametrize(("rid", "given", "last", "street"), DISTINCT, ids=[d[0] for d in DISTINCT])
def test_r23_distinct_given_name_at_the_address_is_not_confirmed(world, rid, given, last, street):
    """JUANA GARCIA where only JUAN GARCIA files (and MARIA/MARIO, ANTONIA/ANTONIO,
    JOAN/JOHN, PAULA/PAUL, MARY/MARK, JOAN/JEAN, and GARCIA JUANA in swapped order):
    NOT_CONFIRMED (R23), the filed taxpayer no candidate at all."""
    out = decide(world, [_req(rid, given, last, street)])
    assert out[rid]["outcome"] == "NOT_CONFIRMED"
    assert out[rid]["tin"] is None


def test_r24_real_typos_still_confirm(world):
    """A slip that is not itself an established name is a typo (R24): JAUN for JUAN,
    MIGEUL for MIGUEL."""
    out = decide(world, [
        _req("jaun", "JAUN", "GARCIA", "10 Quetzal St", dob="1970-01-15"),
        _req("migeul", "MIGEUL", "CERVANTES", "21 Quetzal St", dob="1984-09-23"),
    ])
    assert _outcomes(out) == dict.fromkeys(out, "CONFIRMED")
    assert out["jaun"]["evidence"]["levels"]["first_name"] > 0
    assert {out["jaun"]["tin"], out["migeul"]["tin"]} == {"000000101", "000000109"}


def test_r24_variants_of_one_name_still_confirm(world):
    """Nickname, cross-language, initial, compound given name, swapped order and a
    dropped second surname are the same name (R24)."""
    out = decide(world, [
        _req("pepe", "PEPE", "ARREDONDO", "22 Quetzal St", dob="1968-10-24"),
        _req("bill", "BILL", "PRESCOTT", "23 Quetzal St", dob="1966-11-25"),
        _req("john", "JOHN", "GARCIA", "10 Quetzal St", dob="1970-01-15"),
        _req("initial", "J", "GARCIA", "10 Quetzal St", dob="1970-01-15"),
        _req("compound", "ROSA", "VILLALOBOS", "24 Quetzal St", dob="1987-12-26"),
        _req("compound_full", "MARIA ROSA", "VILLALOBOS", "24 Quetzal St", dob="1987-12-26"),
        _req("swapped", "VILLALOBOS", "MARIA", "24 Quetzal St", dob="1987-12-26"),
        _req("swapped_xlang", "ARREDONDO", "JOSEPH", "22 Quetzal St", dob="1968-10-24"),
        _req("second_dropped", "GUADALUPE", "ZAMORA", "25 Quetzal St", dob="1990-01-27"),
    ])
    assert _outcomes(out) == dict.fromkeys(out, "CONFIRMED")


def test_r17_r23_tin_and_dob_never_replace_a_contradicting_given_name(world):
    """ZEBEDIAH GARCIA with JUAN GARCIA's TIN and date of birth at his address: the TIN
    and DOB corroborate a name, they never stand in for one (R17, R23); nor does a
    middle name or initial in common (ZEBEDIAH ROSA for MARIA ROSA)."""
    out = decide(world, [
        _req("both", "ZEBEDIAH", "GARCIA", "10 Quetzal St", dob="1970-01-15", tin="000000101"),
        _req("tin", "ZEBEDIAH", "GARCIA", "10 Quetzal St", tin="000000101"),
        _req("dob", "ZEBEDIAH", "GARCIA", "10 Quetzal St", dob="1970-01-15"),
        _req("juana_tin", "JUANA", "GARCIA", "10 Quetzal St", dob="1970-01-15",
             tin="000000101"),
        _req("control", "JUAN", "GARCIA", "10 Quetzal St", dob="1970-01-15", tin="000000101"),
        # the taxpayer's middle name or initial in common does not make ZEBEDIAH theirs
        _req("middle", "ZEBEDIAH", "VILLALOBOS", "24 Quetzal St", middle="ROSA",
             dob="1987-12-26"),
        _req("middle_initial", "ZEBEDIAH", "HARRIS", "20 Quetzal St", middle="J",
             dob="1965-08-22"),
    ])
    assert out.pop("control")["outcome"] == "CONFIRMED"
    assert _outcomes(out) == dict.fromkeys(out, "NOT_CONFIRMED")


def test_r23_surname_and_address_alone_never_confirm(world):
    """WILLIAM HARRIS at the address where only ROBERT JASON HARRIS files (R23)."""
    out = decide(world, [
        _req("william", "WILLIAM", "HARRIS", "20 Quetzal St"),
        _req("control", "ROBERT", "HARRIS", "20 Quetzal St", dob="1965-08-22"),
        _req("middle", "JASON", "HARRIS", "20 Quetzal St", dob="1965-08-22"),
    ])
    assert out["william"]["outcome"] == "NOT_CONFIRMED"
    assert out["control"]["outcome"] == "CONFIRMED"
    assert out["middle"]["outcome"] == "CONFIRMED"  # a compound given name (R24)


def test_r23_established_name_threshold_is_policy(world):
    """``established_given_name_min_count`` decides which spellings are names: JAUN (542
    SSA births) is a typo of JUAN under the default, a name of its own at 500."""
    request = [_req("jaun", "JAUN", "GARCIA", "10 Quetzal St", dob="1970-01-15")]
    strict = replace(Policy(), established_given_name_min_count=500)
    assert strict.version() != Policy().version()
    assert decide(world, request)["jaun"]["outcome"] == "CONFIRMED"
    assert decide(world, request, strict)["jaun"]["outcome"] == "NOT_CONFIRMED"


def test_model_family_names_its_levels():
    """The first-name levels that tell distinct names from typos are in the model."""
    from taxgate.matching import model

    levels = {
        lv["label_for_charts"]: lv["sql_condition"]
        for comp in model.comparisons()
        for lv in comp.get_comparison("duckdb").as_dict()["comparison_levels"]
        if comp.get_comparison("duckdb").as_dict()["output_column_name"] == "first_name"
    }
    assert "n_first_established_l" in levels["typo"]


# (record, requested given name, the filed taxpayer's surname and address): a nickname
# or cross-language table joins each pair, but they are names of opposite sexes a letter
# or an ending apart.
OPPOSITE_SEX = [
    ("andrea", "ANDREA", "WHITFIELD", "26 Quetzal St"),
    ("louis", "LOUIS", "BRANNIGAN", "27 Quetzal St"),
    ("alexandria", "ALEXANDRIA", "KOWALCZYK", "28 Quetzal St"),
]


@pytest.mark.parametrize(("rid", "given", "last", "street"), OPPOSITE_SEX,
                         ids=[d[0] for d in OPPOSITE_SEX])
def test_r23_opposite_sex_names_a_letter_or_an_ending_apart_are_two_people(
        world, rid, given, last, street):
    """ANDREA where only ANDREW files, LOUIS where only LOUISE files, ALEXANDRIA where only
    ALEXANDER files: the nicknames table lists each as the other's variant, but two
    established given names of opposite sexes a letter or an ending apart are two people
    (R23), even with the taxpayer's date of birth."""
    dob = {"WHITFIELD": "1971-02-03", "BRANNIGAN": "1973-04-05", "KOWALCZYK": "1975-06-07"}
    out = decide(world, [_req(rid, given, last, street, dob=dob[last])])
    assert out[rid]["outcome"] == "NOT_CONFIRMED"
    assert out[rid]["tin"] is None


def test_r23_opposite_sex_rule_keeps_nicknames_and_same_sex_variants(world):
    """The rule is narrow (R24): ANDY for ANDREW and LOU for LOUISE (nicknames, not a
    name of the other sex an ending apart) and the exact spelling still confirm."""
    out = decide(world, [
        _req("andy", "ANDY", "WHITFIELD", "26 Quetzal St", dob="1971-02-03"),
        _req("andrew", "ANDREW", "WHITFIELD", "26 Quetzal St", dob="1971-02-03"),
        _req("alex", "ALEX", "KOWALCZYK", "28 Quetzal St", dob="1975-06-07"),
    ])
    assert _outcomes(out) == dict.fromkeys(out, "CONFIRMED")


def test_r23_opposite_sex_level_scan():
    """The model's opposite-sex test on the SSA table: true for JUAN/JUANA, MARIO/MARIA,
    LUIS/LUISA, FRANCISCO/FRANCISCA, ANDREW/ANDREA, LOUIS/LOUISE, ALEXANDER/ALEXANDRA,
    JOSEPH/JOSEPHINE; false for one sex (JESUS/JESSE, JUAN/JOHN), a name of both sexes
    (JESSIE/JESSE) and a clipped nickname (ALEX/ALEXANDRA)."""
    import duckdb

    from taxgate import standardize
    from taxgate.matching import model
    SEX_DOMINANCE = Policy().given_name_sex_dominance

    con = duckdb.connect()
    standardize.install(con)
    floor = Policy().established_given_name_min_count

    def side(s: str) -> str:
        return (f"(SELECT births >= {floor} FROM name_given WHERE name = n_first_{s}) "
                f"AS n_first_established_{s}, (SELECT CASE WHEN female >= {SEX_DOMINANCE} "
                f"* male THEN 'F' WHEN male >= {SEX_DOMINANCE} * female THEN 'M' END "
                f"FROM name_given WHERE name = n_first_{s}) AS n_first_sex_{s}")

    def near(a: str, b: str) -> bool:
        return con.execute(
            f"SELECT coalesce({model.OPPOSITE_SEX_NEAR}, false) FROM (SELECT *, {side('l')}, "
            f"{side('r')} FROM (SELECT ? AS n_first_l, ? AS n_first_r))", [a, b]).fetchone()[0]

    for a, b in [("JUAN", "JUANA"), ("MARIO", "MARIA"), ("LUIS", "LUISA"),
                 ("FRANCISCO", "FRANCISCA"), ("ANDREW", "ANDREA"), ("LOUISE", "LOUIS"),
                 ("ALEXANDER", "ALEXANDRA"), ("JOSEPH", "JOSEPHINE")]:
        assert near(a, b) and near(b, a), (a, b)
    for a, b in [("JESUS", "JESSE"), ("JUAN", "JOHN"), ("JESSIE", "JESSE"),
                 ("ALEX", "ALEXANDRA"), ("JAUN", "JUANA")]:
        assert not near(a, b), (a, b)


def test_r24_a_glued_particle_is_the_same_surname(world):
    """DE JESUS where ANGEL DEJESUS files, DELTORO where MARCO TORO files: a particle
    written together with the name is the same family name (R24)."""
    out = decide(world, [
        _req("dejesus", "ANGEL", "DE JESUS", "29 Quetzal St"),
        _req("deltoro", "MARCO", "DELTORO", "30 Quetzal St"),
    ])
    assert _outcomes(out) == dict.fromkeys(out, "CONFIRMED")
    assert (out["dejesus"]["tin"], out["deltoro"]["tin"]) == ("000000117", "000000118")


def test_r24_a_spanish_hypocorism_confirms(world):
    """MONCHO is RAMON (R24): the hypocorism table names it."""
    out = decide(world, [_req("moncho", "MONCHO", "ECHAVARRIA", "31 Quetzal St",
                              dob="1981-12-13")])
    assert out["moncho"]["outcome"] == "CONFIRMED"
