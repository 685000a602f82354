"""Name standardization (R24): folding, surnames, particles, nicknames, suffixes."""

from __future__ import annotations

import pytest

from taxgate.standardize import standardize_rows
from taxgate.standardize.one_row import name_columns

# Every input named in this module is standardized in ONE query on first use
# (the SQL is the same; one query per case would only cost planning time).
_FIELDS = ("first_name", "middle_name", "last_name", "second_last_name")
_PENDING: set[tuple] = set()
_DONE: dict[tuple, dict] = {}


def _std(case: tuple) -> dict:
    if case not in _DONE:
        todo = sorted(_PENDING | {case}, key=repr)
        rows = standardize_rows([dict(zip(_FIELDS, c, strict=True)) for c in todo])
        _DONE.update(zip(todo, map(name_columns, rows), strict=True))
    return _DONE[case]


def firsts(*rows):
    """Register parametrize rows whose items are first names."""
    for row in rows:
        for v in row:
            _PENDING.add((v, None, "X", None))
    return list(rows)


def n(first, middle=None, last="X", second=None):
    return _std((first, middle, last, second))


def test_r24_case_accents_and_punctuation_fold():
    assert n("JOSÉ")["n_first"] == n("jose")["n_first"] == "JOSE"
    assert n("  José  ")["n_first"] == "JOSE"
    assert n("X", last="O'Brien")["n_surnames"] == ["OBRIEN"]
    assert n("X", last="Muñoz")["n_surnames"] == ["MUNOZ"]


@pytest.mark.parametrize("last, second, expected", [
    ("GARCIA LOPEZ", None, ["GARCIA", "LOPEZ"]),
    ("García-López", None, ["GARCIA", "LOPEZ"]),
    ("GARCIA", "LOPEZ", ["GARCIA", "LOPEZ"]),
    ("LOPEZ GARCIA", None, ["LOPEZ", "GARCIA"]),
    ("GARCIA", None, ["GARCIA"]),
    ("García y López", None, ["GARCIA", "LOPEZ"]),
])
def test_r24_double_and_hyphenated_surnames_become_lists(last, second, expected):
    r = n("JUAN", last=last, second=second)
    assert r["n_surnames"] == expected
    assert r["n_surname1"] == expected[0]
    assert r["n_last"] == " ".join(expected)


@pytest.mark.parametrize("last, expected", [
    ("DE LA CRUZ", ["CRUZ"]),
    ("de los Santos", ["SANTOS"]),
    ("Del Río", ["RIO"]),
    ("LA ROSA", ["ROSA"]),
    ("DE LA", ["DE", "LA"]),  # nothing but particles: kept, never emptied
    ("SAN MARTIN", ["SAN", "MARTIN"]),  # SAN is part of the name, not a particle
])
def test_r24_particles_dropped_without_losing_the_name(last, expected):
    assert n("ANA", last=last)["n_surnames"] == expected


def test_r24_surname_prefixes_glued():
    assert n("A", last="Mc Donald")["n_surnames"] == n("A", last="McDonald")["n_surnames"]
    assert n("A", last="O Brien")["n_surnames"] == ["OBRIEN"]


def test_r24_compound_given_names_split_into_tokens():
    r = n("José Luis", None, "PEREZ")
    assert r["n_first"] == "JOSE" and r["n_given_all"] == ["JOSE", "LUIS"]
    assert r["n_middle_initial"] == "L"
    same = n("JOSE", "LUIS", "PEREZ")
    assert same["n_given_all"] == r["n_given_all"]
    assert same["n_middle_initial"] == r["n_middle_initial"]


def test_r24_maria_de_los_angeles_and_written_abbreviations():
    r = n("MARIA DE LOS ANGELES", None, "RUIZ")
    assert r["n_given_all"] == ["MARIA", "ANGELES"]
    assert n("Ma. Guadalupe")["n_given_all"] == ["MARIA", "GUADALUPE"]
    assert n("Ma. del Carmen")["n_given_all"] == ["MARIA", "CARMEN"]


@pytest.mark.parametrize("nick, canon", firsts(
    ("Pepe", "JOSE"), ("Paco", "FRANCISCO"), ("Pancho", "FRANCISCO"), ("Chuy", "JESUS"),
    ("Lupe", "GUADALUPE"), ("Memo", "GUILLERMO"), ("Nacho", "IGNACIO"), ("Beto", "ROBERTO"),
    ("Lalo", "EDUARDO"), ("Toño", "ANTONIO"), ("Chema", "JOSE"), ("Quique", "ENRIQUE"),
    ("Pancha", "FRANCISCA"), ("Chayo", "ROSARIO"), ("Conchita", "CONCEPCION"),
    ("Lencho", "LORENZO"), ("Chucho", "JESUS"), ("Goyo", "GREGORIO"), ("Licha", "ALICIA"),
    ("Nando", "FERNANDO"), ("Rafa", "RAFAEL"), ("Tere", "TERESA"), ("Lola", "DOLORES"),
    ("Chela", "GRACIELA"),
))
def test_r24_spanish_hypocorisms_resolve_to_canonical(nick, canon):
    r = n(nick)
    assert r["n_first_canon"] == canon
    assert r["n_first_canon"] == n(canon)["n_first_canon"]


@pytest.mark.parametrize("nick, canon", firsts(
    ("Moncho", "RAMON"), ("Mando", "ARMANDO"), ("Chago", "SANTIAGO"), ("Poncho", "ALFONSO"),
    ("Vero", "VERONICA"), ("Rosita", "ROSA"), ("Chavela", "ISABEL"), ("Fico", "FEDERICO"),
    ("Chepa", "JOSEFA"), ("Jandro", "ALEJANDRO"), ("Barb", "BARBARA"),
))
def test_r24_common_hypocorisms_of_the_synthetic_requests_resolve(nick, canon):
    """Hypocorisms true matches of requests use (MONCHO for RAMON, ROSITA for ROSA, BARB
    for BARBARA) are the name they stand for (R24)."""
    assert n(nick)["n_first_canon"] == canon == n(canon)["n_first_canon"]


@pytest.mark.parametrize("a, b", firsts(
    ("Sofía", "Sophia"), ("Rodolfo", "Rudolph"), ("Josué", "Joshua"), ("Silvia", "Sylvia"),
    ("Rogelio", "Roger"), ("Chago", "Jim"),
))
def test_r24_more_spanish_english_pairs_share_a_class(a, b):
    """SOFIA/SOPHIA, RODOLFO/RUDOLPH, JOSUE/JOSHUA: one name in two languages (R24)."""
    assert n(a)["n_first_xlang"] == n(b)["n_first_xlang"]


@pytest.mark.parametrize("last", ["DEJESUS", "DELGADO", "DEAN", "DIAZ", "DELEON", "VANDYKE"])
def test_r24_a_glued_particle_never_splits_a_surname(last):
    """A surname written in one word stays one token (R24): DELGADO, DEAN and DIAZ are not
    a particle and a name; DEJESUS is matched to DE JESUS by the model's "particle glued"
    surname level, against the other side's surname, not by splitting it here."""
    assert n("ANA", last=last)["n_surnames"] == [last]


@pytest.mark.parametrize("nick, canon", firsts(
    ("Bill", "WILLIAM"), ("Bob", "ROBERT"), ("Jon", "JONATHAN"), ("Jim", "JAMES"),
    ("Peggy", "MARGARET"), ("Tony", "ANTHONY"),
))
def test_r24_english_nicknames_from_the_nicknames_package(nick, canon):
    assert n(nick)["n_first_canon"] == canon


def test_r24_full_names_stay_themselves():
    for name in ("JOHN", "MARIA", "ERIN", "JOSE"):
        assert n(name)["n_first_canon"] == name


@pytest.mark.parametrize("a, b", firsts(
    ("Juan", "John"), ("José", "Joseph"), ("Guillermo", "William"), ("Jorge", "George"),
    ("Pedro", "Peter"), ("Miguel", "Michael"), ("Pepe", "Joe"), ("Memo", "Bill"),
))
def test_r24_cross_language_class_is_shared(a, b):
    assert n(a)["n_first_xlang"] == n(b)["n_first_xlang"]
    assert n(a)["n_first_canon"] != n(b)["n_first_canon"]


def test_r24_cross_language_class_separates_different_names():
    assert n("Juan")["n_first_xlang"] != n("José")["n_first_xlang"]


def test_r24_initials_are_tokens():
    r = n("J.", "R.", "SMITH")
    assert r["n_first"] == "J" and r["n_middle_initial"] == "R"


@pytest.mark.parametrize("first, middle, last, suffix, surnames", [
    ("JOHN", None, "SMITH JR", "JR", ["SMITH"]),
    ("JOHN", None, "Smith, Jr.", "JR", ["SMITH"]),
    ("JOHN", None, "SMITH III", "III", ["SMITH"]),
    ("JOHN", "JR", "SMITH", "JR", ["SMITH"]),
    ("JOHN", None, "SMITH SENIOR", "SR", ["SMITH"]),
    ("JOHN", None, "SMITH", None, ["SMITH"]),
    ("JOHN", None, "JUNIOR", None, ["JUNIOR"]),  # a surname alone is never a suffix
])
def test_r24_generational_suffix_kept_in_n_suffix(first, middle, last, suffix, surnames):
    r = n(first, middle, last)
    assert r["n_suffix"] == suffix
    assert r["n_surnames"] == surnames


def test_r24_swapped_given_and_family_name_is_visible_in_columns():
    a, b = n("GARCIA", None, "JUAN"), n("JUAN", None, "GARCIA")
    assert a["n_first"] == b["n_surname1"] and b["n_first"] == a["n_surname1"]


def test_r8_empty_names_give_nulls_not_empty_strings():
    r = n(None, None, None)
    assert r["n_first"] is None and r["n_given_all"] is None and r["n_last"] is None
