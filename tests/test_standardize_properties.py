"""Laws of standardization, checked with Hypothesis (R10, R24).

Each example is a small batch standardized in one query, so the laws are
checked on many values while the file stays fast.
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from taxgate.standardize import standardize_rows

ACCENT = str.maketrans("AEIOUNaeioun", "ÁÉÍÓÚÑáéíóúñ")
WORD = st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=1, max_size=9)
NAME_WORDS = st.sampled_from(["JOSE", "MARIA", "DE", "LA", "CRUZ", "GARCIA", "LOPEZ", "Y",
                              "JR", "III", "PEPE", "MA", "O", "MC", "DONALD", "LUIS", "BILL"])
NAME = st.lists(st.one_of(NAME_WORDS, WORD), min_size=1, max_size=4).map(" ".join)
NAME_PART = st.sampled_from(["MAIN", "OAK", "FIFTH", "5TH", "5", "PARK", "N", "MARTIN LUTHER KING",
                             "TWENTY FIRST", "HIGHWAY 66", "US HWY 101", "COUNTY ROAD 12", "ELM"])
STREET = st.tuples(
    st.integers(1, 99999),
    st.sampled_from(["", "N ", "NORTH ", "SW ", "EAST "]),
    st.one_of(NAME_PART, WORD),
    st.sampled_from(["", " ST", " STREET", " AVE", " AVENUE", " BLVD", " RD", " PARKWAY"]),
    st.sampled_from(["", " N", " SOUTH", " NW"]),
    st.sampled_from(["", " APT 4", " # 12", " UNIT 4B", " STE 100", " 2ND FLOOR", " REAR"]),
).map(lambda t: f"{t[0]} {t[1]}{t[2]}{t[3]}{t[4]}{t[5]}")
FAST = settings(max_examples=20, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def _names(rows: list[tuple[str, str]]) -> list[dict]:
    return standardize_rows([{"first_name": f, "last_name": last} for f, last in rows])


def _streets(streets: list[str], units: list[str | None] | None = None) -> list[dict]:
    units = units or [None] * len(streets)
    return standardize_rows([{"street_address": s, "unit": u, "zip": "12345"}
                             for s, u in zip(streets, units, strict=True)])


@FAST
@given(st.lists(st.tuples(NAME, NAME), min_size=1, max_size=25))
def test_r24_names_standardizing_twice_changes_nothing(rows):
    once = _names(rows)
    again = _names([(" ".join(r["n_given_all"] or []), r["n_last"] or "") for r in once])
    for a, b in zip(once, again, strict=True):
        assert (a["n_given_all"], a["n_surnames"]) == (b["n_given_all"], b["n_surnames"])
        assert (a["n_first_canon"], a["n_first_xlang"]) == (b["n_first_canon"], b["n_first_xlang"])


@FAST
@given(st.lists(st.tuples(NAME, NAME), min_size=1, max_size=25))
def test_r24_names_ignore_case_accents_and_spaces(rows):
    plain = _names(rows)
    noisy = _names([(f"  {f.lower().translate(ACCENT)} ", f" {last.translate(ACCENT)}.  ")
                    for f, last in rows])
    for a, b in zip(plain, noisy, strict=True):
        assert {k: v for k, v in a.items() if k.startswith("n_")} == {
            k: v for k, v in b.items() if k.startswith("n_")}


@FAST
@given(st.lists(STREET, min_size=1, max_size=25))
def test_r10_streets_standardizing_twice_changes_nothing(streets):
    once = _streets(streets)
    keep = [r for r in once if r["a_street"] and r["a_number"] and r["a_po_box"] is None]
    again = _streets([f"{r['a_number']} {r['a_street']}" for r in keep],
                     [r["a_unit"] for r in keep])
    for a, b in zip(keep, again, strict=True):
        assert (a["a_number"], a["a_street"], a["a_street_name"], a["a_unit"], a["a_key"]) == (
            b["a_number"], b["a_street"], b["a_street_name"], b["a_unit"], b["a_key"])


@FAST
@given(st.lists(STREET, min_size=1, max_size=25))
def test_r10_streets_ignore_case_accents_and_spaces(streets):
    plain = _streets(streets)
    noisy = _streets(["  " + s.lower().translate(ACCENT).replace(" ", "   ") + " "
                      for s in streets])
    for a, b in zip(plain, noisy, strict=True):
        assert a["a_key"] == b["a_key"] and a["a_street"] == b["a_street"]


@FAST
@given(st.lists(STREET, min_size=1, max_size=25))
def test_r10_po_box_forms_share_one_key(streets):
    boxes = [str(len(s)) for s in streets]
    rows = _streets([f"P.O. Box {b}" for b in boxes] + [f"po bx {b}" for b in boxes])
    half = len(boxes)
    assert [r["a_key"] for r in rows[:half]] == [r["a_key"] for r in rows[half:]]
