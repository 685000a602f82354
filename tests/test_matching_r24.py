"""R6, R23, R24, R25 end to end: standardize -> train -> score -> decide on hand-built
filings set among a small synthetic population (so the model's u and term
frequencies are learned from realistic name and address distributions).

Real Splink and DuckDB; the model is trained once for the module.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import duckdb
import pytest
from world_cache import trained_once

from taxgate import filing_index, matching, policy, standardize
from taxgate.settings import Policy
from taxgate.stage_table import table_of
from taxgate.synth import generate_taxpayers, write_taxpayers

pytestmark = pytest.mark.xdist_group("r24")  # the module's world is built on one worker

PERIODS = [2023, 2024, 2025]
FILING_COLS = ("tin", "first_name", "middle_name", "last_name", "date_of_birth",
               "street_address", "unit", "city", "state", "zip", "tax_year", "source",
               "processed_date", "disclosure_hold")
REQUEST_COLS = ("record_id", "first_name", "middle_name", "last_name", "second_last_name",
                "date_of_birth", "tin", "street_address", "unit", "city", "state", "zip")

LA = ("LOS ANGELES", "CA", "90001")


def _f(tin, first, middle, last, dob, street, unit, year, *, source="RETURN",
       processed=None, hold=None, place=LA):
    city, state, zip_ = place
    return (tin, first, middle, last, dob, street, unit, city, state, zip_, year, source,
            processed or f"{year + 1}-03-15", hold)


# Hand-built taxpayers; their TINs (area 000, ITIN group 00) never occur in synth data.
HAND = [
    # one person, two filings in the periods
    _f("000000001", "JUAN", "CARLOS", "MENDOZA", "1980-03-07", "123 N Main St", "Apt 4", 2023),
    _f("000000001", "JUAN", "CARLOS", "MENDOZA", "1980-03-07", "123 N Main St", "Apt 4", 2024),
    # two surnames, filed together
    _f("000000002", "JOSE", "ROBERTO", "ZAVALETA ORTIZ", "1975-11-20", "77 Elm Ave", None, 2024),
    # father and son of one name at one address
    _f("000000003", "MIGUEL", "ANGEL", "REYES ORTEGA", "1960-05-02", "900 W 5th St", None,
       2024),
    _f("000000004", "MIGUEL", "ANGEL", "REYES ORTEGA", "1991-08-30", "900 W 5th St", None,
       2024, processed="2025-04-01"),
    # common vs rare surname, same given name, separate addresses
    _f("000000005", "MARIA", None, "GARCIA", "1985-02-14", "15 Oak St", None, 2024),
    _f("000000006", "MARIA", None, "XOCHIHUATL", "1985-02-14", "16 Pine St", None, 2024),
    # under a 6103(i)(6) hold
    _f("000000007", "ROSA", None, "QUINTANILLA", "1970-01-09", "40 Cedar St", None, 2024,
       hold="Y"),
    # an ITIN, then an SSN (R25): old address under the ITIN, new one under the SSN
    _f("900000008", "ALEJANDRO", None, "VILLASENOR", "1988-06-21", "5 Birch Rd", None, 2022,
       source="W7", processed="2022-02-01"),
    _f("900000008", "ALEJANDRO", None, "VILLASENOR", "1988-06-21", "5 Birch Rd", None, 2023),
    _f("000000009", "ALEJANDRO", None, "VILLASENOR", "1988-06-21", "8 Walnut Rd", None, 2024),
    # an ITIN, then an SSN whose filings give no DOB, moving at the switch: not linked
    # (no shared DOB), but the ITIN's last address must not be confirmed as theirs
    _f("900000010", "ROBERTO", None, "ARELLANO QUIJADA", "1979-10-02", "12 Ash Ct", None, 2023),
    _f("000000011", "ROBERTO", None, "ARELLANO QUIJADA", None, "300 Spruce Ave", None, 2024),
    _f("000000011", "ROBERTO", None, "ARELLANO QUIJADA", None, "300 Spruce Ave", None, 2025),
    # a short surname (a one-letter typo is below the Jaro-Winkler bound)
    _f("000000012", "DONALD", "C", "JONES", "1966-04-18", "31 Fir St", None, 2024),
    # an ITIN, then (the next year, same state) an SSN whose filings give no DOB and
    # share no address and no double surname: possibly one person (R25)
    _f("900000015", "LORENA", None, "PADILLA", "1984-09-09", "44 Olive St", None, 2023),
    _f("000000016", "LORENA", None, "PADILLA", None, "9 Lemon Ave", None, 2024,
       place=("SAN DIEGO", "CA", "92101")),
    # the same, but the SSN begins in another state, the only same-name SSN to begin
    # then anywhere: possibly one person who moved when switching (R25)
    _f("900000017", "TOMAS", None, "ECHEVERRIA", "1981-02-03", "70 Aspen Way", None, 2023),
    _f("000000018", "TOMAS", None, "ECHEVERRIA", None, "5 Bayou Rd", None, 2024,
       place=("HOUSTON", "TX", "77002")),
    # the son's ITIN (JR) and, the next year in another state, his SSN and a namesake's
    # without the suffix: the suffix tells the son's SSN apart (R25)
    _f("900000023", "BENIGNO", None, "ZALDIVAR JR", None, "9 Quince St", None, 2023),
    _f("000000024", "BENIGNO", None, "ZALDIVAR JR", None, "4 Bayou Rd", None, 2024,
       place=("HOUSTON", "TX", "77002")),
    _f("000000025", "BENIGNO", None, "ZALDIVAR", "1966-01-30", "3 Ocean Dr", None, 2024,
       place=("MIAMI", "FL", "33101")),
    # an ITIN whose name two SSNs in two other states take up the next year: neither is
    # the only candidate, so neither withholds (namesakes grow with the store)
    _f("900000020", "RAMIRO", None, "ZUBIZARRETA", "1983-07-08", "3 Cypress Ln", None, 2023),
    _f("000000021", "RAMIRO", None, "ZUBIZARRETA", None, "8 Bayou Rd", None, 2024,
       place=("HOUSTON", "TX", "77002")),
    _f("000000022", "RAMIRO", None, "ZUBIZARRETA", None, "12 Ocean Dr", None, 2024,
       place=("MIAMI", "FL", "33101")),
    # namesakes in one ZIP, different DOB and address
    # one TIN, two dates of birth on its filings
    _f("000000019", "OCTAVIO", None, "BARRAGAN", "1977-05-05", "18 Laurel St", None, 2023),
    _f("000000019", "OCTAVIO", None, "BARRAGAN", "1968-01-20", "18 Laurel St", None, 2024),
    _f("000000013", "CARMEN", None, "SOLORZANO", "1990-01-05", "61 Palm St", None, 2024),
    _f("000000014", "CARMEN", None, "SOLORZANO", "1958-12-11", "62 Palm St", None, 2024),
]


def _req(rid, first, last, street, unit=None, *, middle=None, second=None, dob=None,
         tin=None, place=LA):
    city, state, zip_ = place
    return (rid, first, middle, last, second, dob, tin, street, unit, city, state, zip_)


def _write(path: Path, cols, rows) -> None:
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(cols)
        w.writerows(rows)


@pytest.fixture(scope="module")
def con(tmp_path_factory: pytest.TempPathFactory) -> duckdb.DuckDBPyConnection:
    tmp = tmp_path_factory.mktemp("r24")
    with trained_once(tmp_path_factory):
        c = build_world(tmp, HAND)
    _TMP["dir"] = tmp
    return c


def build_world(tmp: Path, hand: list[tuple]) -> duckdb.DuckDBPyConnection:
    """A connection with ``filings`` (a synthetic population of 4,000, then the ``hand``
    filings, standardized), its filing index, and ``model``: the model trained on the
    population alone, as a store keeps its model when a later load adds filings
    (``taxgate model train`` retrains). Every module built on this population shares one
    training under ``world_cache.trained_once``."""
    pop = generate_taxpayers(4_000, 7)
    write_taxpayers(pop, tmp / "bg.parquet", "parquet")
    _write(tmp / "hand.csv", FILING_COLS, hand)
    c = duckdb.connect()
    standardize.install(c)
    cols = ", ".join(f"CAST({x} AS VARCHAR) AS {x}" if x != "tax_year"
                     else "CAST(tax_year AS INTEGER) AS tax_year" for x in FILING_COLS)
    for table, source in (("bg", f"read_parquet('{tmp / 'bg.parquet'}')"),
                          ("hand", f"read_csv('{tmp / 'hand.csv'}', all_varchar=true)")):
        c.execute(f"CREATE TABLE raw_{table} AS SELECT {cols} FROM {source}")
    select = standardize.standardized_select_sql("raw_bg", side="filing")
    c.execute(f"CREATE TABLE filings AS SELECT row_number() OVER () AS filing_id, * "
              f"FROM ({select})")
    c.execute("CREATE TABLE model AS SELECT ? AS j", [matching.train(c)])
    select = standardize.standardized_select_sql("raw_hand", side="filing")
    c.execute(f"INSERT INTO filings SELECT (SELECT max(filing_id) FROM filings) "
              f"+ row_number() OVER (), * FROM ({select})")
    filing_index.update(c, "", "filings")  # what the store keeps beside its filings
    return c


_TMP: dict[str, Path] = {}


def _weight_at(probability: float) -> float:
    """Match weight (prior included, as Splink gives it) at which a pair reaches ``probability``."""
    import math

    return math.log2(probability / (1 - probability))


def decide(con: duckdb.DuckDBPyConnection, requests: list[tuple],
           pol: Policy | None = None) -> dict[str, dict]:
    """record_id -> {outcome, tin, probability, evidence} through standardize, score and
    decide under ``pol`` (the default policy when None)."""
    path = _TMP["dir"] / "req.csv"
    _write(path, REQUEST_COLS, requests)
    con.execute(f"CREATE OR REPLACE TABLE raw_req AS SELECT row_number() OVER () AS "
                f"row_number, * FROM read_csv('{path}', all_varchar=true)")
    select = standardize.standardized_select_sql("raw_req", side="request")
    con.execute(f"CREATE OR REPLACE TABLE req AS {select}")
    n = con.execute("SELECT count(DISTINCT tin) FROM filings").fetchone()[0]
    model_json = con.execute("SELECT j FROM model").fetchone()[0]
    req = table_of(con, "req")
    pairs = matching.score(con, requests=req, filings="filings", model_json=model_json,
                           prior=0.5 / n, out="pairs")
    decided = policy.decide(con, requests=req, pairs=pairs, periods=PERIODS,
                            policy=pol or Policy(), safeguards_current=True, out="decided")
    rows = con.execute(f"""SELECT r.record_id, d.outcome, d.tin, d.match_probability, d.evidence
                           FROM {decided.name} d JOIN {req.name} r USING (row_number)""").fetchall()
    return {rid: {"outcome": o, "tin": t, "p": p, "evidence": json.loads(e) if e else None}
            for rid, o, t, p, e in rows}


def test_r24_exact_and_usps_variants_confirm(con):
    out = decide(con, [
        _req("exact", "JUAN", "MENDOZA", "123 N Main St", "Apt 4", dob="1980-03-07"),
        _req("spelled", "Juan", "Mendoza", "123 NORTH MAIN STREET", "# 4", dob="1980-03-07"),
        _req("unit_in_street", "JUAN", "MENDOZA", "123 N. Main St. Apt 4", dob="1980-03-07"),
        _req("no_dob", "JUAN", "MENDOZA", "123 N Main St", "Apt 4", middle="CARLOS"),
    ])
    assert {k: v["outcome"] for k, v in out.items()} == dict.fromkeys(out, "CONFIRMED")
    assert {v["tin"] for v in out.values()} == {"000000001"}


def test_r24_anglicized_given_name_is_weaker_than_exact(con):
    out = decide(con, [
        _req("juan", "JUAN", "MENDOZA", "123 N Main St", "Apt 4", dob="1980-03-07"),
        _req("john", "JOHN", "MENDOZA", "123 N Main St", "Apt 4", dob="1980-03-07"),
    ])
    assert out["john"]["outcome"] == "CONFIRMED"
    juan = out["juan"]["evidence"]["weights"]["first_name"]
    john = out["john"]["evidence"]["weights"]["first_name"]
    assert 0 < john < juan


def test_r24_hypocorism_dropped_second_surname_hyphen_and_swap(con):
    out = decide(con, [
        _req("pepe", "PEPE", "ZAVALETA ORTIZ", "77 Elm Avenue", dob="1975-11-20"),
        _req("jose_accent", "JOSÉ", "ZAVALETA", "77 ELM AVE", dob="1975-11-20"),
        _req("hyphen", "JOSE", "ZAVALETA-ORTIZ", "77 Elm Ave", dob="1975-11-20"),
        _req("second_col", "JOSE", "ZAVALETA", "77 Elm Ave", second="ORTIZ", dob="1975-11-20"),
        _req("swapped", "JOSE", "ORTIZ ZAVALETA", "77 Elm Ave", dob="1975-11-20"),
    ])
    assert {k: v["outcome"] for k, v in out.items()} == dict.fromkeys(out, "CONFIRMED")


def test_r24_dob_day_month_swap_still_agrees(con):
    out = decide(con, [_req("swap", "JUAN", "MENDOZA", "123 N Main St", "Apt 4",
                            dob="1980-07-03")])
    assert out["swap"]["outcome"] == "CONFIRMED"


def test_r23_disagreeing_dob_vetoes(con):
    out = decide(con, [_req("dob", "JUAN", "MENDOZA", "123 N Main St", "Apt 4",
                            dob="1979-01-30")])
    assert out["dob"]["outcome"] == "NOT_CONFIRMED"


def test_r23_disagreeing_tin_vetoes(con):
    out = decide(con, [_req("tin", "JUAN", "MENDOZA", "123 N Main St", "Apt 4",
                            dob="1980-03-07", tin="000000002")])
    assert out["tin"]["outcome"] == "NOT_CONFIRMED"


def test_r23_father_and_son_of_one_name_without_dob_never_confirmed(con):
    out = decide(con, [
        _req("nodob", "MIGUEL", "REYES ORTEGA", "900 W 5th St", middle="ANGEL"),
        _req("first_surname", "MIGUEL", "REYES", "900 WEST FIFTH STREET"),
        _req("son", "MIGUEL", "REYES ORTEGA", "900 W 5th St", dob="1991-08-30"),
    ])
    assert out["nodob"]["outcome"] in ("REVIEW", "NOT_CONFIRMED")
    assert out["first_surname"]["outcome"] in ("REVIEW", "NOT_CONFIRMED")
    # the DOB tells which one
    assert out["son"]["outcome"] == "CONFIRMED" and out["son"]["tin"] == "000000004"


def test_r23_the_requests_tin_leaves_out_a_namesake_it_is_not_one_of(con):
    """R23: father and son of one name at one address, no DOB. The request's TIN is one
    of them: the other is no candidate, so the one whose TIN it is confirms alone."""
    out = decide(con, [
        _req("son", "MIGUEL", "REYES ORTEGA", "900 W 5th St", middle="ANGEL", tin="000000004"),
        _req("father", "MIGUEL", "REYES ORTEGA", "900 W 5th St", middle="ANGEL",
             tin="000000003"),
    ])
    assert (out["son"]["outcome"], out["son"]["tin"]) == ("CONFIRMED", "000000004")
    assert (out["father"]["outcome"], out["father"]["tin"]) == ("CONFIRMED", "000000003")


def test_r23_candidates_nothing_tells_apart_are_not_confirmed_by_default(con):
    """R23 as revised: father and son of one name at one address, no DOB: a reviewer
    would see nothing more than the machine, so NOT_CONFIRMED; REVIEW only where the
    policy keeps such records for review, with the reason for the desk."""
    req = [_req("nodob", "MIGUEL", "REYES ORTEGA", "900 W 5th St", middle="ANGEL")]
    assert decide(con, req)["nodob"]["outcome"] == "NOT_CONFIRMED"
    held = decide(con, req, Policy(review_competitors=True))["nodob"]
    assert held["outcome"] == "REVIEW"
    assert "CANDIDATES_AT_ADDRESS" in held["evidence"]["review_reasons"]


def test_r23_no_confirmation_below_t_high_without_two_people(con):
    """R23: a lone best candidate between T_low and T_high, name compatible, no namesake
    in the ZIP (what "path B" confirmed) goes to REVIEW, held for a score between the
    thresholds."""
    rec = [_req("lone", "JUAN", "MENDOZA", "123 N Main St", "Apt 4")]
    p = decide(con, rec)["lone"]["p"]
    assert 0 < p < 1
    between = Policy(review_match_probability=p / 2, confirm_match_probability=(p + 1) / 2)
    out = decide(con, rec, between)["lone"]
    assert out["evidence"]["namesakes_in_zip"] == 0
    assert out["evidence"]["candidates_at_address"] == 1
    assert out["outcome"] == "REVIEW"
    assert out["evidence"]["review_reasons"] == ["SCORE_BETWEEN_THRESHOLDS"]
    # the same candidate reaching T_high is CONFIRMED, and carries no review reason
    reached = decide(con, rec, Policy(review_match_probability=p / 2,
                                      confirm_match_probability=p))["lone"]
    assert reached["outcome"] == "CONFIRMED" and "review_reasons" not in reached["evidence"]


def test_r23_a_conflicting_date_of_birth_is_named_for_the_desk(con):
    """R23: REVIEW states why: here the taxpayer's filings give two dates of birth, one
    the request's."""
    rec = [_req("dob", "OCTAVIO", "BARRAGAN", "18 Laurel St", dob="1977-05-05")]
    p = decide(con, rec)["dob"]["p"]
    assert 0 < p < 1
    out = decide(con, rec, Policy(review_match_probability=p / 2,
                                  confirm_match_probability=(p + 1) / 2))["dob"]
    assert out["outcome"] == "REVIEW"
    assert out["evidence"]["review_reasons"] == ["SCORE_BETWEEN_THRESHOLDS",
                                                 "CONFLICTING_IDENTIFIER"]


def test_r23_namesake_levels_are_policy_and_checked(con):
    from taxgate.errors import BadInput

    with pytest.raises(BadInput, match="levels the model does not have"):
        decide(con, [_req("x", "JUAN", "MENDOZA", "123 N Main St", "Apt 4")],
               Policy(namesake_first_levels=("exact", "soundalike")))


def test_r25_common_surname_counts_for_less_than_a_rare_one(con):
    out = decide(con, [
        _req("garcia", "MARIA", "GARCIA", "15 Oak St", dob="1985-02-14"),
        _req("rare", "MARIA", "XOCHIHUATL", "16 Pine St", dob="1985-02-14"),
    ])
    garcia = out["garcia"]["evidence"]["weights"]["surname"]
    rare = out["rare"]["evidence"]["weights"]["surname"]
    assert 0 < garcia < rare


def test_r6_hold_never_confirmed(con):
    out = decide(con, [_req("hold", "ROSA", "QUINTANILLA", "40 Cedar St", dob="1970-01-09")])
    assert out["hold"]["outcome"] == "NOT_CONFIRMED"


def test_r25_itin_and_later_ssn_are_one_person(con):
    out = decide(con, [
        _req("new", "ALEJANDRO", "VILLASENOR", "8 Walnut Rd", dob="1988-06-21"),
        _req("new_itin_given", "ALEJANDRO", "VILLASENOR", "8 Walnut Rd", tin="900000008"),
        _req("old", "ALEJANDRO", "VILLASENOR", "5 Birch Rd", dob="1988-06-21"),
    ])
    assert out["new"]["outcome"] == "CONFIRMED"
    assert out["new_itin_given"]["outcome"] == "CONFIRMED"
    # the ITIN's own last address is not the person's address of record
    assert out["old"]["outcome"] == "NOT_CONFIRMED"


def test_r23_evidence_keeps_levels_and_weights(con):
    out = decide(con, [_req("e", "JUAN", "MENDOZA", "123 N Main St", "Apt 4",
                            dob="1980-03-07")])
    ev = out["e"]["evidence"]
    assert set(ev["levels"]) == set(ev["weights"]) >= {"first_name", "surname", "dob",
                                                        "address", "tin"}
    assert ev["candidates_at_address"] == 1


def test_r25_itin_of_an_unlinked_later_ssn_does_not_confirm_the_old_address(con):
    out = decide(con, [
        _req("old", "ROBERTO", "ARELLANO QUIJADA", "12 Ash Ct"),
        _req("new", "ROBERTO", "ARELLANO QUIJADA", "300 Spruce Ave"),
    ])
    assert out["old"]["outcome"] == "NOT_CONFIRMED"
    assert out["new"]["outcome"] == "CONFIRMED"


def test_r24_one_letter_typo_in_a_short_surname(con):
    out = decide(con, [_req("jenes", "DONALD", "JENES", "31 Fir St", middle="C")])
    assert out["jenes"]["outcome"] == "CONFIRMED"
    assert out["jenes"]["evidence"]["weights"]["surname"] > 0


def test_r25_namesake_in_the_zip_needs_more_than_name_and_address(con):
    out = decide(con, [
        _req("nodob", "CARMEN", "SOLORZANO", "61 Palm St"),
        _req("dob", "CARMEN", "SOLORZANO", "61 Palm St", dob="1990-01-05"),
    ])
    assert out["nodob"]["evidence"]["namesakes_in_zip"] >= 1
    assert (out["nodob"]["outcome"] == "CONFIRMED") == (
        out["nodob"]["evidence"] is not None and
        out["nodob"]["evidence"]["match_weight"] >= _weight_at(Policy().confirm_match_probability))
    assert out["dob"]["outcome"] == "CONFIRMED"


def test_r25_possible_successor_next_year_in_the_same_state_withholds(con):
    # the ITIN stops, a same-name SSN with no DOB starts the next year in the same state:
    # the ITIN's last address is not confirmed (at 10M filings, 13 of 13 false
    # confirmations were this case); the SSN's own address still is
    out = decide(con, [
        _req("old", "LORENA", "PADILLA", "44 Olive St", dob="1984-09-09"),
        _req("new", "LORENA", "PADILLA", "9 Lemon Ave", place=("SAN DIEGO", "CA", "92101")),
    ])
    assert out["old"]["outcome"] == "NOT_CONFIRMED"
    assert out["new"]["outcome"] == "CONFIRMED"


def test_r25_the_successor_gap_is_policy(con):
    req = [_req("old", "LORENA", "PADILLA", "44 Olive St", dob="1984-09-09")]
    assert decide(con, req)["old"]["outcome"] == "NOT_CONFIRMED"
    # no years allowed between the ITIN's end and the SSN's start: not a possible successor
    assert decide(con, req, Policy(successor_gap_years=0))["old"]["outcome"] == "CONFIRMED"


def test_r25_the_only_adjacent_ssn_anywhere_withholds_across_states(con):
    # an ITIN holder who got an SSN and moved to another state, the SSN's filings without
    # a DOB: the ITIN's last address is not the person's address of record (at 10.3M
    # filings one false confirmation was this case, NY to CA); the SSN's address still is
    out = decide(con, [
        _req("itin", "TOMAS", "ECHEVERRIA", "70 Aspen Way", dob="1981-02-03"),
        _req("ssn", "TOMAS", "ECHEVERRIA", "5 Bayou Rd", place=("HOUSTON", "TX", "77002")),
    ])
    assert out["itin"]["outcome"] == "NOT_CONFIRMED"
    assert out["ssn"]["outcome"] == "CONFIRMED"


def test_r25_the_only_adjacent_ssn_with_the_same_suffix_withholds(con):
    # at 10.3M filings: LORENZO VASQUEZ JR's ITIN in NY, his SSN in CA the next year, and
    # another LORENZO VASQUEZ's new SSN elsewhere; the JR one is the only one with the JR
    out = decide(con, [_req("itin", "BENIGNO", "ZALDIVAR JR", "9 Quince St")])
    assert out["itin"]["outcome"] == "NOT_CONFIRMED"


def test_r25_two_adjacent_namesake_ssns_elsewhere_do_not_withhold(con):
    out = decide(con, [_req("itin", "RAMIRO", "ZUBIZARRETA", "3 Cypress Ln",
                            dob="1983-07-08")])
    assert out["itin"]["outcome"] == "CONFIRMED"


def test_scoring_in_chunks_gives_the_same_pairs(con):
    # each chunk of requests is scored against only the filings that share a blocking
    # key with it: the pairs, weights and evidence must not depend on the chunk size
    decide(con, [
        _req("a", "JUAN", "MENDOZA", "123 North Main Street", "Apartment 4"),
        _req("b", "MIGUEL", "REYES ORTEGA", "900 W 5th St"),
        _req("c", "MARIA", "GARCIA", "15 Oak St", dob="1985-02-14"),
        _req("d", "CARMEN", "SOLORZANO", "61 Palm St"),
        _req("e", "ALEJANDRO", "VILLASENOR", "5 Birch Rd", tin="900000008"),
    ])
    n = con.execute("SELECT count(DISTINCT tin) FROM filings").fetchone()[0]
    model_json = con.execute("SELECT j FROM model").fetchone()[0]
    tables = {}
    for size in (1, 2, 200_000):
        out = f"pairs_{size}"
        pairs = matching.score(con, requests=table_of(con, "req"), filings="filings",
                               model_json=model_json, prior=0.5 / n, out=out,
                               chunk_records=size)
        tables[size] = con.execute(
            f"SELECT row_number, filing_id, round(match_weight, 9), evidence FROM {pairs.name} "
            "ORDER BY ALL").fetchall()
    assert len(tables[200_000]) > 5
    assert tables[1] == tables[2] == tables[200_000]


def _predict_world(con: duckdb.DuckDBPyConnection) -> tuple[dict, int]:
    """Four requests standardized into ``req`` (through :func:`decide`), and the model
    as scoring hands it to Splink, with its prior: (spec, TINs in the filings)."""
    decide(con, [
        _req("a", "JUAN", "MENDOZA", "123 North Main Street", "Apartment 4"),
        _req("b", "MIGUEL", "REYES ORTEGA", "900 W 5th St"),
        _req("c", "MARIA", "GARCIA", "15 Oak St", dob="1985-02-14"),
        _req("e", "ALEJANDRO", "VILLASENOR", "5 Birch Rd", tin="900000008"),
    ])
    n = con.execute("SELECT count(DISTINCT tin) FROM filings").fetchone()[0]
    spec = json.loads(con.execute("SELECT j FROM model").fetchone()[0])
    spec.update(probability_two_random_records_match=0.5 / n,
                retain_intermediate_calculation_columns=True, retain_matching_columns=True)
    return spec, n


def test_r23_recorded_predict_joins_on_integer_keys_and_gives_splinks_pairs(con):
    # scoring replays Splink's predict with its text join keys made integer ones, each
    # side of a pair read from its own dataset and the cheaper level conditions
    # (matching.predict_sql): the pairs, weights and levels must be those Splink gives
    import logging

    from splink import DuckDBAPI, Linker

    from taxgate.matching import duckdb as mdb
    from taxgate.matching import predict_sql
    from taxgate.matching.model import DOB_ONE_DIGIT, FIRST_TYPO, REORDERED

    spec, _ = _predict_world(con)
    # request uids that are also the uids of their candidate filings: the keys must
    # still tell a request from a filing
    con.execute(f"""CREATE OR REPLACE TABLE req_same_ids AS SELECT * REPLACE (row_number
                    + (SELECT min(filing_id) FROM {filing_index.VARIANTS}
                       WHERE tin = '000000001') - 1 AS row_number) FROM req""")
    mdb._input_view(con, predict_sql.LEFT, "req_same_ids", "row_number")
    mdb._input_view(con, predict_sql.RIGHT, filing_index.VARIANTS, "filing_id")
    tf = mdb.term_frequencies(con)
    cols = ("source_dataset_l, uid_l, uid_r, round(match_weight, 9), gamma_first_name, "
            "gamma_surname, gamma_dob, gamma_address")

    compiled = predict_sql.record(con, spec, tf)
    assert not any("'-__-'" in s for s in compiled.statements)
    (scoring,) = [s for s in compiled.statements if f"CREATE TABLE {compiled.output}" in s]
    assert all(predict_sql.cheaper_levels(level) in scoring
               for level in (DOB_ONE_DIGIT, REORDERED, FIRST_TYPO))
    # every distance of two names behind its test (eight in the model's name levels)
    assert scoring.count("abs(length(n_") == scoring.count("damerau_levenshtein(n_") >= 8
    # and the hypocorism's stems compared as prefixes
    assert "starts_with(n_first_spell_" in scoring and "left(n_first_spell_" not in scoring
    assert any('"uid" * 2 +' in s for s in compiled.statements)
    assert sum(f"WHERE source_dataset = '{predict_sql.REQUESTS}') as r" in s
               for s in compiled.statements) == 1
    ours = con.execute(f"SELECT {cols} FROM {compiled.output} ORDER BY ALL").fetchall()
    again = con.execute(f"SELECT {cols} FROM {compiled.run(con)} ORDER BY ALL").fetchall()

    db = DuckDBAPI(connection=con)
    linker = Linker([db.register(predict_sql.LEFT, table_name=predict_sql.REQUESTS),
                     db.register(predict_sql.RIGHT, table_name=predict_sql.FILINGS)],
                    spec, log_level=logging.ERROR, validate_settings=False)
    for col, table in tf.items():
        linker.table_management.register_term_frequency_lookup(db.register(table), col)
    splinks = linker.inference.predict(threshold_match_weight=predict_sql.THRESHOLD_MATCH_WEIGHT,
                                       warning_mode="never")
    theirs = con.execute(f"SELECT {cols} FROM {splinks.physical_name} ORDER BY ALL").fetchall()
    assert len(theirs) > 5 and ours == again == theirs


def test_r23_the_candidate_pairs_found_once_are_those_splinks_blocking_finds(con):
    # scoring finds every request's candidate pairs in one pass (matching.duckdb:
    # _candidate_chunks) and hands a chunk's to the predict in place of Splink's own
    # blocking (predict_sql.Compiled.run): each pair once, the pairs Splink finds, and
    # so the pairs and weights Splink's predict gives
    from taxgate.matching import duckdb as mdb
    from taxgate.matching import predict_sql

    spec, _ = _predict_world(con)
    (rows,) = mdb._candidate_chunks(con, spec, "req", 200_000)
    mdb._input_view(con, predict_sql.LEFT, "req", "row_number")
    mdb._input_view(con, predict_sql.RIGHT, filing_index.VARIANTS, "filing_id")
    compiled = predict_sql.record(con, spec, mdb.term_frequencies(con))
    made = compiled.blocking - 1  # Splink's blocking, run alone
    for sql in compiled.statements[:made]:
        con.execute(sql)
    blocked = predict_sql._BLOCKED.match(compiled.statements[made - 1]).group(1)
    splinks = con.execute(f"SELECT join_key_r // 2, join_key_l // 2 FROM {blocked} "
                          "ORDER BY ALL").fetchall()
    ours = con.execute("SELECT row_number, filing_id FROM _tg_candidates ORDER BY ALL").fetchall()
    assert len(ours) > 3 and ours == splinks and len(set(ours)) == len(ours)

    cols = "source_dataset_l, uid_l, uid_r, round(match_weight, 9), gamma_first_name, gamma_surname"
    theirs = con.execute(f"SELECT {cols} FROM {compiled.run(con)} ORDER BY ALL").fetchall()
    handed = con.execute(f"SELECT {cols} FROM {compiled.run(con, mdb._chunk_pairs(rows))} "
                         "ORDER BY ALL").fetchall()
    assert len(theirs) > 5 and handed == theirs


def test_r23_a_pair_sided_otherwise_than_scoring_reads_it_fails_the_predict(con):
    # scoring reads a pair's left row from the filings alone and its right row from the
    # requests alone (predict_sql.sides_apart); the statement after blocking stops the
    # predict, rather than lose the pairs, should Splink ever side them otherwise
    from taxgate.matching import duckdb as mdb
    from taxgate.matching import predict_sql

    spec, _ = _predict_world(con)
    mdb._input_view(con, predict_sql.LEFT, "req", "row_number")
    mdb._input_view(con, predict_sql.RIGHT, filing_index.VARIANTS, "filing_id")
    compiled = predict_sql.record(con, spec, mdb.term_frequencies(con))
    guard = compiled.statements[compiled.blocking - 1]
    assert guard.startswith("SELECT error(")
    blocked = guard.split(" FROM ")[1].split()[0]
    for sql in compiled.statements[:compiled.blocking - 1]:
        con.execute(sql)
    con.execute(guard)  # Splink's own pairs pass
    assert con.execute(f"SELECT count(*) FROM {blocked}").fetchone()[0] > 5
    con.execute(f"UPDATE {blocked} SET join_key_l = join_key_r, join_key_r = join_key_l "
                f"WHERE rowid = (SELECT min(rowid) FROM {blocked})")
    with pytest.raises(duckdb.Error, match="paired the two datasets otherwise"):
        con.execute(guard)


def test_r23_narrowed_predict_keeps_splinks_pairs_in_the_columns_scoring_reads(con):
    # the scored pairs keep only the columns finish_pairs reads (predict_sql.narrowed):
    # the same rows and values as Splink's full table, in those columns
    from taxgate.matching import duckdb as mdb
    from taxgate.matching import predict_sql

    spec, _ = _predict_world(con)
    mdb._input_view(con, predict_sql.LEFT, "req", "row_number")
    mdb._input_view(con, predict_sql.RIGHT, filing_index.VARIANTS, "filing_id")
    tf = mdb.term_frequencies(con)
    keep = mdb.pair_columns([c["output_column_name"] for c in spec["comparisons"]])
    cols = ", ".join(keep)
    full = predict_sql.record(con, spec, tf)
    assert len(con.table(full.output).columns) > 2 * len(keep)
    theirs = con.execute(f"SELECT {cols} FROM {full.output} ORDER BY ALL").fetchall()
    narrow = predict_sql.record(con, spec, tf, keep)
    assert tuple(con.table(narrow.output).columns) == keep
    ours = con.execute(f"SELECT {cols} FROM {narrow.output} ORDER BY ALL").fetchall()
    assert len(theirs) > 5 and ours == theirs


def test_r24_evidence_holds_each_comparisons_level_and_weight_in_order(con):
    # the evidence a decision keeps: per comparison, in the model's order, its level
    # (Splink's gamma) and its weight with the term-frequency adjustment, to 3 places
    from taxgate.matching import duckdb as mdb
    from taxgate.matching import predict_sql

    spec, _ = _predict_world(con)
    comparisons = [c["output_column_name"] for c in spec["comparisons"]]
    mdb._input_view(con, predict_sql.LEFT, "req", "row_number")
    mdb._input_view(con, predict_sql.RIGHT, filing_index.VARIANTS, "filing_id")
    pairs = predict_sql.record(con, spec, mdb.term_frequencies(con)).output
    mdb.finish_pairs(con, pairs, "req", filing_index.VARIANTS, comparisons, "finished")
    swap = f"source_dataset_l = '{predict_sql.FILINGS}'"
    request_uid = f"CASE WHEN {swap} THEN uid_r ELSE uid_l END"
    filing_uid = f"CASE WHEN {swap} THEN uid_l ELSE uid_r END"
    gammas = ", ".join(f"gamma_{c}" for c in comparisons)
    weights = ", ".join(f"mw_{c} + coalesce(mw_tf_adj_{c}, 0)"
                        if c in ("first_name", "surname", "address") else f"mw_{c}"
                        for c in comparisons)
    raw = {(r[0], r[1]): r[2:] for r in con.execute(
        f"SELECT {request_uid}, {filing_uid}, match_weight, {gammas}, {weights} "
        f"FROM {pairs}").fetchall()}
    rows = con.execute("SELECT row_number, filing_id, evidence FROM finished").fetchall()
    assert len(rows) == len(raw) > 5
    for row_number, filing_id, evidence in rows:
        got = json.loads(evidence)
        weight, *rest = raw[(row_number, filing_id)]
        levels, mws = rest[:len(comparisons)], rest[len(comparisons):]
        assert list(got) == ["match_weight", "levels", "weights"]
        assert got["match_weight"] == round(weight, 3)
        assert list(got["levels"].items()) == list(zip(comparisons, levels, strict=True))
        assert list(got["weights"]) == comparisons
        assert got["weights"] == pytest.approx(dict(zip(comparisons, mws, strict=True)),
                                               abs=5e-4)


def test_r23_kept_predict_run_in_a_new_database_gives_splinks_pairs(con, tmp_path):
    # a later process runs the statements the first one kept (matching.kept_predict)
    # without Splink: in a database where Splink never ran, the same pairs and weights
    from taxgate.matching import duckdb as mdb
    from taxgate.matching import kept_predict, predict_sql
    from taxgate.standardize.lookup_cache import LookupCache

    spec, n = _predict_world(con)
    cols = "source_dataset_l, uid_l, uid_r, round(match_weight, 9), gamma_first_name, gamma_address"
    cache = LookupCache(tmp_path, "5a" * 32)

    def inputs(c: duckdb.DuckDBPyConnection) -> dict[str, str]:
        mdb._input_view(c, predict_sql.LEFT, "req", "row_number")
        mdb._input_view(c, predict_sql.RIGHT, filing_index.VARIANTS, "filing_id")
        return mdb.term_frequencies(c)

    tf = inputs(con)
    mdb._KEPT.clear()
    first = con.execute(f"SELECT {cols} FROM {mdb._predict(con, spec, tf, cache)} "
                        "ORDER BY ALL").fetchall()  # recorded through Splink, and kept
    assert len(first) > 3 and len(list(tmp_path.glob("predict-*.sealed"))) == 1

    new = duckdb.connect()  # a new process: only the inputs' tables, copied
    standardize.install(new)
    tables = ["req", filing_index.VARIANTS,
              *(filing_index.terms_table(c) for c in filing_index.TF_COLUMNS)]
    for table in tables:
        new.register("_copy", con.table(table).arrow())
        new.execute(f"CREATE TABLE {table} AS SELECT * FROM _copy")
        new.unregister("_copy")
    key = kept_predict.digest(new, spec, inputs(new))
    kept = kept_predict.load(cache, key)
    assert kept is not None
    assert new.execute(f"SELECT {cols} FROM {kept.run(new)} ORDER BY ALL").fetchall() == first
    mdb._KEPT.clear()
    assert new.execute(f"SELECT {cols} FROM {mdb._predict(new, spec, inputs(new), cache)} "
                       "ORDER BY ALL").fetchall() == first
    # only ever statements this store's key sealed, for exactly these inputs
    assert kept_predict.load(LookupCache(tmp_path, "a5" * 32), key) is None
    sealed = next(tmp_path.glob("predict-*.sealed"))
    sealed.write_bytes(sealed.read_bytes()[:-1] + b"\0")
    assert kept_predict.load(cache, key) is None
    other = dict(spec, probability_two_random_records_match=0.25 / n)
    assert kept_predict.digest(new, other, inputs(new)) != key
