"""Deficient records: one legal or format defect each, written over a valid record.

Each function gets the rendered columns and the row indices of its category and
replaces exactly the fields that carry the defect, so the record's expected
reason codes are known (mix.CATEGORIES).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

Cols = dict[str, pa.Array]
Fix = Callable[[Cols, np.ndarray, np.random.Generator, int], None]

DONT_CARE = ("Don't Care 12345", "DONT CARE 12345", "Don't care 12345", "DON'T CARE 12345")
INSTITUTIONS = ("ICE Processing Center", "Krome North Service Processing Center",
                "ADELANTO ICE PROCESSING CENTER", "Stewart Detention Center",
                "South Texas ICE Processing Center", "Otay Mesa Detention Center")
NAME_PLACEHOLDERS = (("UNKNOWN", "UNKNOWN"), ("JOHN", "DOE"), ("JANE", "DOE"), ("N/A", None),
                     ("TEST", "TEST"), ("NONE", None), ("FAILED TO PROVIDE", None), ("NA", "NA"))
BAD_DATES = ("2024-13-01", "03/15/2024", "2023-02-30", "20240115", "2024-1-5", "March 5, 2024",
             "2021-00-10", "UNKNOWN")
BAD_DOBS = ("1985-02-30", "31/12/1980", "19800101", "1979-13-13", "00/00/0000")
BAD_ZIPS = ("2001", "9021O", "123456", "ABCDE", "1234-5678", "0")


def put(cols: Cols, col: str, idx: np.ndarray, values: list | pa.Array) -> None:
    """Write ``values`` (None for blank) into ``cols[col]`` at rows ``idx``."""
    if len(idx) == 0:
        return
    arr = cols[col]
    mask = np.zeros(len(arr), bool)
    mask[idx] = True
    vals = pa.array(values, pa.string()) if isinstance(values, list) else values
    cols[col] = pc.replace_with_mask(arr, pa.array(mask), vals.take(pa.array(np.argsort(idx))))


def _pick(rng: np.random.Generator, options: tuple, n: int) -> list:
    return [options[i] for i in rng.integers(0, len(options), n)]


def _day(d: np.ndarray) -> list[str]:
    return d.astype("datetime64[D]").astype(str).tolist()


def _street(text: str | Callable[[Cols, np.ndarray], list]) -> Fix:
    def fix(cols: Cols, idx: np.ndarray, rng: np.random.Generator, created: int) -> None:
        vals = text(cols, idx) if callable(text) else [text] * len(idx)
        put(cols, "street_address", idx, vals)
        put(cols, "unit", idx, [None] * len(idx))
    return fix


def _zip5(cols: Cols, idx: np.ndarray) -> list:
    return [z[:5] for z in cols["zip"].take(pa.array(idx)).to_pylist()]


def _no_number(cols: Cols, idx: np.ndarray) -> list:
    streets = cols["street_address"].take(pa.array(idx)).to_pylist()
    return [s.split(" ", 1)[1] if " " in s else "Main St" for s in streets]


def _choice(col: str, options: tuple) -> Fix:
    def fix(cols: Cols, idx: np.ndarray, rng: np.random.Generator, created: int) -> None:
        put(cols, col, idx, _pick(rng, options, len(idx)))
    return fix


def _name_missing(cols: Cols, idx: np.ndarray, rng: np.random.Generator, created: int) -> None:
    first = rng.random(len(idx)) < 0.6
    put(cols, "first_name", idx[first], [None] * int(first.sum()))
    put(cols, "last_name", idx[~first], [None] * int((~first).sum()))
    put(cols, "second_last_name", idx[~first], [None] * int((~first).sum()))


def _name_placeholder(cols: Cols, idx: np.ndarray, rng: np.random.Generator, created: int) -> None:
    pick = _pick(rng, NAME_PLACEHOLDERS, len(idx))
    put(cols, "first_name", idx, [a for a, _ in pick])
    last = np.array([b is not None for _, b in pick], bool)
    put(cols, "last_name", idx[last], [b for _, b in pick if b is not None])
    put(cols, "middle_name", idx, [None] * len(idx))
    put(cols, "second_last_name", idx[last], [None] * int(last.sum()))


def _removal(lo: int, hi: int, exact: int | None = None) -> Fix:
    """Removal order ``lo..hi`` days before created_at (negative: after), no judicial review."""
    def fix(cols: Cols, idx: np.ndarray, rng: np.random.Generator, created: int) -> None:
        back = rng.integers(lo, hi + 1, len(idx))
        if exact is not None:
            back[rng.random(len(idx)) < 0.25] = exact
        put(cols, "removal_order_date", idx, _day(created - back))
        put(cols, "judicial_review_date", idx, [None] * len(idx))
    return fix


def _review_recent(cols: Cols, idx: np.ndarray, rng: np.random.Generator, created: int) -> None:
    n = len(idx)
    back = rng.integers(0, 91, n)
    back[rng.random(n) < 0.25] = 90
    put(cols, "removal_order_date", idx, _day(created - rng.integers(400, 2000, n)))
    put(cols, "judicial_review_date", idx, _day(created - back))


def _blank(col: str) -> Fix:
    def fix(cols: Cols, idx: np.ndarray, rng: np.random.Generator, created: int) -> None:
        put(cols, col, idx, [None] * len(idx))
    return fix


def _zip_state(cols: Cols, idx: np.ndarray, rng: np.random.Generator, created: int) -> None:
    states = ("CA", "TX", "FL", "NY", "IL", "AZ", "NJ", "GA", "WA", "OH")
    have = cols["state"].take(pa.array(idx)).to_pylist()
    new = [states[(states.index(s) + 1) % len(states)] if s in states else states[i % 10]
           for i, s in enumerate(have)]
    put(cols, "state", idx, new)


def _tin_placeholder(cols: Cols, idx: np.ndarray, rng: np.random.Generator, created: int) -> None:
    put(cols, "street_address", idx, _pick(rng, DONT_CARE, len(idx)))
    put(cols, "unit", idx, [None] * len(idx))


FIXES: dict[str, Fix] = {
    "deficient_zip_only": _street(_zip5),
    "deficient_dont_care": _choice("street_address", DONT_CARE),
    "deficient_zeros": _street("00000"),
    "deficient_unknown_address": _choice("street_address", ("Unknown Address", "UNKNOWN ADDRESS")),
    "deficient_failed_to_provide": _choice("street_address", ("Failed to Provide",
                                                              "FAILED TO PROVIDE")),
    "deficient_na_na": _street("NA NA"),
    "deficient_institution": _choice("street_address", INSTITUTIONS),
    "deficient_no_house_number": _street(_no_number),
    "deficient_tin_placeholder_address": _tin_placeholder,
    "deficient_name_missing": _name_missing,
    "deficient_name_placeholder": _name_placeholder,
    "deficient_removal_too_recent": _removal(0, 90, exact=90),
    "deficient_removal_in_future": _removal(-200, -1),
    "deficient_judicial_review_too_recent": _review_recent,
    "deficient_removal_date_malformed": _choice("removal_order_date", BAD_DATES),
    "deficient_removal_date_missing": _blank("removal_order_date"),
    "deficient_dob_malformed": _choice("date_of_birth", BAD_DOBS),
    "deficient_case_number_missing": _blank("case_number"),
    "deficient_officer_missing": _blank("officer_id"),
    "deficient_zip_state_mismatch": _zip_state,
    "deficient_zip_invalid": _choice("zip", BAD_ZIPS),
}
# Address placeholders replace the unit too, so nothing address-like is left but the text.
for _k in ("deficient_dont_care", "deficient_unknown_address", "deficient_failed_to_provide",
           "deficient_institution"):
    _inner = FIXES[_k]

    def _with_unit(cols: Cols, idx: np.ndarray, rng: np.random.Generator, created: int,
                   _f: Fix = _inner) -> None:
        _f(cols, idx, rng, created)
        put(cols, "unit", idx, [None] * len(idx))

    FIXES[_k] = _with_unit
