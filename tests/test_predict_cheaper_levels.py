"""R23: scoring runs some of the model's level conditions in a cheaper form
(matching.predict_sql.cheaper_levels); each must be true, false or null exactly when the
model's condition is, or a pair would fall in another level than Splink trained it for."""

from __future__ import annotations

import contextlib
import datetime as dt
import itertools

import duckdb

from taxgate.matching import predict_sql
from taxgate.matching.model import DOB_ONE_DIGIT, FIRST_TYPO, REORDERED

_BASES = ("1985-06-12", "1990-11-30", "2001-01-01", "1969-12-31", "1958-02-28", "2010-10-10")
# years not written in four digits; the last two are one deletion apart (100101231,
# 10010123) with neither the year nor the day in common
_ODD_YEARS = ("0999-06-12", "0001-01-01", "9999-12-31", "1000-01-10", "10010-12-31",
              "1001-01-23")


def _one_edit_away(day: str) -> set[str]:
    """Every valid date written one digit change or one adjacent swap away from ``day``."""
    digits = day.replace("-", "")
    near = set()
    for i in range(len(digits)):
        near.update(digits[:i] + d + digits[i + 1:] for d in "0123456789")
        if i + 1 < len(digits):
            near.add(digits[:i] + digits[i + 1] + digits[i] + digits[i + 2:])
    out = set()
    for text in near:
        with contextlib.suppress(ValueError):  # no such date
            out.add(dt.date(int(text[:4]), int(text[4:6]), int(text[6:])).isoformat())
    return out


def _test_in(cheaper: str, written: str) -> str:
    """The test a cheaper form ``(<test> AND <written>)`` runs before the condition."""
    assert cheaper.startswith("(") and cheaper.endswith(f" AND {written})")
    return cheaper.removeprefix("(").removesuffix(f" AND {written})")


def test_r23_the_cheaper_one_digit_dob_condition_is_the_models_on_every_pair_of_dates():
    dates = set(_BASES) | set(_ODD_YEARS)
    for base in _BASES:
        dates |= _one_edit_away(base)
    con = duckdb.connect()
    con.execute("CREATE TABLE d (dob DATE)")
    con.executemany("INSERT INTO d VALUES (?)", [[v] for v in sorted(dates)] + [[None]])
    cheaper = predict_sql.cheaper_levels(DOB_ONE_DIGIT)
    assert cheaper != DOB_ONE_DIGIT
    pairs = "(SELECT a.dob AS dob_l, b.dob AS dob_r FROM d a, d b)"
    total, differ, one_digit, left_out, null = con.execute(f"""
        SELECT count(*),
               count(*) FILTER (WHERE ({DOB_ONE_DIGIT}) IS DISTINCT FROM ({cheaper})),
               count(*) FILTER (WHERE {DOB_ONE_DIGIT}),
               count(*) FILTER (WHERE NOT (year(dob_l) = year(dob_r)
                                           OR day(dob_l) = day(dob_r))),
               count(*) FILTER (WHERE ({cheaper}) IS NULL)
        FROM {pairs}""").fetchone()
    assert differ == 0
    # not a vacuous check: many pairs one digit apart, many the cheap test turns away,
    # and the null rows (a side without a date) null in both forms
    assert total > 40_000 and one_digit > 500 and left_out > 10_000 and null > 100


# Names of one to eleven letters, and names with letters outside ASCII, written as one
# character or as a letter and a combining accent.
_NAMES = ("O", "LI", "ROJAS", "GARCIA", "MARTINEZ", "VILLANUEVA", "MUÑOZ", "JOSE\u0301",
          "ABCDEFGHIJK")
_LETTERS = "AEÑ\u0301"


def _edits(name: str) -> set[str]:
    """``name`` and every spelling one letter changed, added, dropped or two adjacent
    letters swapped away from it."""
    out = {name}
    for i in range(len(name) + 1):
        out.update(name[:i] + c + name[i:] for c in _LETTERS)
        if i < len(name):
            out.add(name[:i] + name[i + 1:])
            out.update(name[:i] + c + name[i + 1:] for c in _LETTERS)
        if i + 1 < len(name):
            out.add(name[:i] + name[i + 1] + name[i] + name[i + 2:])
    return out


def test_r23_the_cheaper_one_edit_name_condition_is_the_models_on_every_pair_of_names():
    names = {""}
    for name in _NAMES:
        names |= _edits(name)
    con = duckdb.connect()
    con.execute("CREATE TABLE n (name VARCHAR)")
    con.executemany("INSERT INTO n VALUES (?)", [[v] for v in sorted(names)] + [[None]])
    written = "damerau_levenshtein(n_last_l, n_last_r) <= 1"
    cheaper = predict_sql.cheaper_levels(f"length(n_last_l) >= 4 AND {written}")
    assert cheaper.startswith("length(n_last_l) >= 4 AND (abs(") and cheaper.endswith(f"{written})")
    cheaper = cheaper.removeprefix("length(n_last_l) >= 4 AND ")
    pairs = "(SELECT a.name AS n_last_l, b.name AS n_last_r FROM n a, n b)"
    total, differ, one_edit, turned_away, null = con.execute(f"""
        SELECT count(*),
               count(*) FILTER (WHERE ({written}) IS DISTINCT FROM ({cheaper})),
               count(*) FILTER (WHERE {written}),
               count(*) FILTER (WHERE NOT ({_test_in(cheaper, written)})),
               count(*) FILTER (WHERE ({cheaper}) IS NULL)
        FROM {pairs}""").fetchone()
    assert differ == 0
    # not a vacuous check: many pairs one edit apart, most pairs turned away by the
    # test alone, and the null rows (a side without a name) null in both forms
    assert total > 200_000 and one_edit > 2_000 and turned_away > total // 2
    assert null == 2 * len(names) + 1


def test_r23_the_cheaper_reordered_surnames_condition_is_the_models_on_every_pair():
    # every list of up to three surnames of A, B, C and a null element, in every order,
    # the empty list and a null list; each under a family name, another or none
    tokens = ("A", "B", "C", None)
    lists = {perm for k in range(4) for perm in itertools.permutations(tokens, k)}
    con = duckdb.connect()
    con.execute("CREATE TABLE s (n_last VARCHAR, n_surnames VARCHAR[])")
    rows = [[last, list(names)] for names in sorted(lists, key=repr) for last in ("X", "Y", None)]
    con.executemany("INSERT INTO s VALUES (?, ?)", [*rows, ["X", None]])
    cheaper = predict_sql.cheaper_levels(REORDERED)
    assert cheaper != REORDERED
    pairs = """(SELECT a.n_last AS n_last_l, a.n_surnames AS n_surnames_l,
                       b.n_last AS n_last_r, b.n_surnames AS n_surnames_r FROM s a, s b)"""
    total, differ, reordered, turned_away, null = con.execute(f"""
        SELECT count(*),
               count(*) FILTER (WHERE ({REORDERED}) IS DISTINCT FROM ({cheaper})),
               count(*) FILTER (WHERE {REORDERED}),
               count(*) FILTER (WHERE NOT ({_test_in(cheaper, REORDERED)})),
               count(*) FILTER (WHERE ({cheaper}) IS NULL)
        FROM {pairs}""").fetchone()
    assert differ == 0
    assert total > 10_000 and reordered > 200 and turned_away > total // 2 and null > 100


def test_r23_the_cheaper_given_name_typo_condition_is_the_models_on_every_pair():
    # given names one edit or a Jaro-Winkler step apart, or not, each established, not,
    # or unknown (null), and a null name
    names = sorted({"JUAN", "JUANA", "JAUN", "JON", "JOHN", "JOHNNY", "MARIA", "MARIO",
                    "MRIA", "MARIANA", "JOSE", "JOSUE", "ANA", "ANNA", "LI", "LE"})
    con = duckdb.connect()
    con.execute("CREATE TABLE g (n_first VARCHAR, n_first_established BOOLEAN)")
    con.executemany("INSERT INTO g VALUES (?, ?)",
                    [[n, e] for n in [*names, None] for e in (True, False, None)])
    cheaper = predict_sql.cheaper_levels(FIRST_TYPO)
    assert cheaper.startswith("(NOT (n_first_established_l AND n_first_established_r) AND (")
    pairs = """(SELECT a.n_first AS n_first_l, a.n_first_established AS n_first_established_l,
                       b.n_first AS n_first_r, b.n_first_established AS n_first_established_r
                FROM g a, g b)"""
    differ, typo, distinct, null = con.execute(f"""
        SELECT count(*) FILTER (WHERE ({FIRST_TYPO}) IS DISTINCT FROM ({cheaper})),
               count(*) FILTER (WHERE {FIRST_TYPO}),
               count(*) FILTER (WHERE n_first_established_l AND n_first_established_r
                                      AND n_first_l <> n_first_r),
               count(*) FILTER (WHERE ({cheaper}) IS NULL)
        FROM {pairs}""").fetchone()
    assert differ == 0
    assert typo > 50 and distinct > 100 and null > 100


def test_r23_a_prefix_compared_as_a_prefix_is_the_models_condition_on_every_pair():
    # the hypocorism level's stem test: every prefix of a few spelling keys, accented
    # letters written as one character or with a combining accent, the empty string
    # and a null
    keys = ("KATRIN", "MELANI", "JOSE\u0301", "ÑANDU", "A")
    stems = sorted({k[:i] for k in keys for i in range(len(k) + 1)} | {"KATY", "E", "JOSE"})
    written = "left(n_first_spell_r, length(n_first_hypo_l)) = n_first_hypo_l"
    cheaper = predict_sql.cheaper_levels(written)
    assert cheaper == "starts_with(n_first_spell_r, n_first_hypo_l)"
    con = duckdb.connect()
    con.execute("CREATE TABLE k (v VARCHAR)")
    con.executemany("INSERT INTO k VALUES (?)", [[v] for v in stems] + [[None]])
    differ, prefix, null = con.execute(f"""
        SELECT count(*) FILTER (WHERE ({written}) IS DISTINCT FROM ({cheaper})),
               count(*) FILTER (WHERE {written}),
               count(*) FILTER (WHERE ({cheaper}) IS NULL)
        FROM (SELECT a.v AS n_first_spell_r, b.v AS n_first_hypo_l FROM k a, k b)""").fetchone()
    assert differ == 0
    assert prefix > 50 and null == 2 * len(stems) + 1
