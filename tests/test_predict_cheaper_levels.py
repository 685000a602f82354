"""R23: scoring runs some of the model's level conditions in a cheaper form
(matching.predict_sql.cheaper_levels); each must be true, false or null exactly when the
model's condition is, or a pair would fall in another level than Splink trained it for."""

from __future__ import annotations

import contextlib
import datetime as dt

import duckdb

from taxgate.matching import predict_sql
from taxgate.matching.model import DOB_ONE_DIGIT

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


def test_r23_the_cheaper_one_digit_dob_condition_is_the_models_on_every_pair_of_dates():
    dates = set(_BASES) | set(_ODD_YEARS)
    for base in _BASES:
        dates |= _one_edit_away(base)
    con = duckdb.connect()
    con.execute("CREATE TABLE d (dob DATE)")
    con.executemany("INSERT INTO d VALUES (?)", [[v] for v in sorted(dates)] + [[None]])
    (cheaper,) = [c for w, c in predict_sql._CHEAPER if w == DOB_ONE_DIGIT]
    assert predict_sql.cheaper_levels(f"SELECT {DOB_ONE_DIGIT}") == f"SELECT {cheaper}"
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
