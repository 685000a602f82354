"""Turn numeric name and address components into text, one pyarrow column at a time.

Every spelling the generator produces comes from here: USPS Pub 28 abbreviations or
spelled-out words, upper or title case, unit designators, ZIP+4, accents kept or
dropped. The same functions render taxpayer filings and request records, so a
difference between the two sides is always a deliberate, labelled one.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from taxgate.synth.tables import Tables

# street types: (Pub 28 abbreviation, spelled out, weight)
STREET_TYPES = (
    ("ST", "STREET", 30), ("AVE", "AVENUE", 20), ("DR", "DRIVE", 12), ("RD", "ROAD", 10),
    ("LN", "LANE", 6), ("CT", "COURT", 5), ("BLVD", "BOULEVARD", 4), ("WAY", "WAY", 4),
    ("PL", "PLACE", 3), ("CIR", "CIRCLE", 2), ("PKWY", "PARKWAY", 1), ("TER", "TERRACE", 1),
    ("TRL", "TRAIL", 1), ("HWY", "HIGHWAY", 1), ("LOOP", "LOOP", 1),
)
# directionals; index 0 is "none"
DIRECTIONS = (
    None, ("N", "NORTH"), ("S", "SOUTH"), ("E", "EAST"), ("W", "WEST"),
    ("NE", "NORTHEAST"), ("NW", "NORTHWEST"), ("SE", "SOUTHEAST"), ("SW", "SOUTHWEST"),
)
DIRECTION_WEIGHTS = np.array([0, 6, 6, 6, 6, 1, 1, 1, 1], dtype=float)
# unit designators as written: upper, title
UNIT_PREFIX = (("APT ", "Apt "), ("#", "#"), ("UNIT ", "Unit "), ("APARTMENT ", "Apartment "))
SUFFIXES = (None, "JR", "SR")

# address styles: 0 Pub 28 upper, 1 spelled-out upper, 2 title with periods, 3 title spelled
STYLE_SPELLED = np.array([False, True, False, True])
STYLE_TITLE = np.array([False, False, True, True])
ZIP4_NONE, ZIP4_DASH, ZIP4_PLAIN = 0, 1, 2


def _forms(pairs: tuple, idx: np.ndarray, form: np.ndarray) -> pa.Array:
    """Pick form 0 (abbrev.), 1 (spelled) or 2 (abbrev. with a period) of a word list."""
    table: list[str | None] = []
    for p in pairs:
        table += [None, None, None] if p is None else [p[0], p[1], p[0] + "."]
    return pa.array(table, pa.string()).take(pa.array(idx.astype(np.int64) * 3 + form))


def _title(arr: pa.Array, mask: np.ndarray) -> pa.Array:
    """Title-case the rows where ``mask`` holds (``5th`` stays lower after the digit)."""
    idx = np.flatnonzero(mask)
    if len(idx) == 0:
        return arr
    t = pc.utf8_title(arr.take(pa.array(idx)))
    for suf in ("St", "Nd", "Rd", "Th"):
        t = pc.replace_substring_regex(t, rf"(\d){suf}\b", rf"\1{suf.lower()}")
    return pc.replace_with_mask(arr, pa.array(mask), t)


def _null_where(arr: pa.Array, mask: np.ndarray) -> pa.Array:
    return pc.if_else(pa.array(mask), pa.nulls(len(arr), pa.string()), arr) if mask.any() else arr


def render_address(
    t: Tables, *, zip_idx: np.ndarray, number: np.ndarray, street: np.ndarray,
    predir: np.ndarray, stype: np.ndarray, postdir: np.ndarray, unit: np.ndarray,
    zip4: np.ndarray, style: np.ndarray, udesig: np.ndarray, unit_in_street: np.ndarray,
    zip4_mode: np.ndarray,
) -> dict[str, pa.Array]:
    """street_address, unit, city, state, zip columns for address components."""
    spelled = STYLE_SPELLED[style]
    title = STYLE_TITLE[style]
    form = np.where(spelled, 1, np.where(title, 2, 0))
    sidx = pa.array(street)
    sname = pc.if_else(pa.array(spelled), t.street_spelled.take(sidx), t.street_name.take(sidx))
    street_txt = pc.binary_join_element_wise(
        pc.cast(pa.array(number), pa.string()),
        _forms(DIRECTIONS, predir, form), sname,
        _forms(tuple((a, b) for a, b, _ in STREET_TYPES), stype, form),
        _forms(DIRECTIONS, postdir, form), " ", null_handling="skip",
    )
    prefixes = pa.array([p for pair in UNIT_PREFIX for p in pair])
    unit_txt = pc.binary_join_element_wise(
        prefixes.take(pa.array(udesig.astype(np.int64) * 2 + title)),
        pc.cast(pa.array(unit), pa.string()), "",
    )
    unit_txt = _null_where(unit_txt, unit <= 0)
    in_street = unit_in_street & (unit > 0)
    if in_street.any():
        joined = pc.binary_join_element_wise(street_txt, unit_txt, " ", null_handling="skip")
        street_txt = pc.if_else(pa.array(in_street), joined, street_txt)
        unit_txt = _null_where(unit_txt, in_street)
    z5 = t.zip5.take(pa.array(zip_idx))
    z4 = pc.utf8_lpad(pc.cast(pa.array(zip4), pa.string()), 4, padding="0")
    zip_txt = pc.if_else(
        pa.array(zip4_mode == ZIP4_DASH), pc.binary_join_element_wise(z5, z4, "-"),
        pc.if_else(pa.array(zip4_mode == ZIP4_PLAIN), pc.binary_join_element_wise(z5, z4, ""), z5),
    )
    return {
        "street_address": _title(street_txt, title),
        "unit": _title(unit_txt, title),
        "city": _title(t.city.take(pa.array(zip_idx)), title),
        "state": t.state.take(pa.array(zip_idx)),
        "zip": zip_txt,
    }


def _opt_take(arr: pa.Array, idx: np.ndarray) -> pa.Array:
    return arr.take(pa.array(np.maximum(idx, 0), mask=idx < 0))


def render_names(
    t: Tables, *, given: np.ndarray, middle: np.ndarray, mstyle: np.ndarray,
    sur1: np.ndarray, sur2: np.ndarray, sstyle: np.ndarray, suffix: np.ndarray,
    accents: np.ndarray, title: np.ndarray,
) -> dict[str, pa.Array]:
    """first_name, middle_name, last_name, second_last_name columns.

    mstyle: 0 no middle, 1 middle name, 2 middle initial, 3 compound first name
    ("JOSE LUIS"). sstyle: 0 first surname only, 1 "A B", 2 "A-B", 3 "B A",
    4 second surname only, 5 first in last_name and second in second_last_name.
    """
    acc = pa.array(accents)
    g = t.given
    first = pc.if_else(acc, _opt_take(g.accented, given), _opt_take(g.ascii, given))
    mid = pc.if_else(acc, _opt_take(g.accented, middle), _opt_take(g.ascii, middle))
    first = pc.if_else(pa.array(mstyle == 3), pc.binary_join_element_wise(first, mid, " "), first)
    initial = pc.utf8_slice_codeunits(mid, 0, 1)
    mid_col = pc.if_else(pa.array(mstyle == 1), mid, initial)
    mid_col = _null_where(mid_col, (mstyle != 1) & (mstyle != 2))
    s = t.surnames
    s1 = pc.if_else(acc, _opt_take(s.accented, sur1), _opt_take(s.ascii, sur1))
    s2 = pc.if_else(acc, _opt_take(s.accented, sur2), _opt_take(s.ascii, sur2))
    has2 = sur2 >= 0
    st = np.where(has2, sstyle, 0)
    last = s1
    for code, value in (
        (1, pc.binary_join_element_wise(s1, s2, " ")),
        (2, pc.binary_join_element_wise(s1, s2, "-")),
        (3, pc.binary_join_element_wise(s2, s1, " ")),
        (4, s2),
    ):
        if (st == code).any():
            last = pc.if_else(pa.array(st == code), value, last)
    last = pc.binary_join_element_wise(
        last, pa.array([SUFFIXES[i] for i in range(3)]).take(pa.array(suffix)), " ",
        null_handling="skip",
    )
    second = _null_where(s2, st != 5)
    return {
        "first_name": _title(first, title),
        "middle_name": _title(mid_col, title),
        "last_name": _title(last, title),
        "second_last_name": _title(second, title),
    }


def tin_text(tin: np.ndarray) -> pa.Array:
    """Nine-digit TIN strings; 0 means none (null)."""
    txt = pc.utf8_lpad(pc.cast(pa.array(tin), pa.string()), 9, padding="0")
    return _null_where(txt, tin <= 0)


def date_text(days: np.ndarray, missing: np.ndarray | None = None) -> pa.Array:
    """YYYY-MM-DD strings from days since 1970-01-01."""
    txt = pc.cast(pa.array(days.astype(np.int32), pa.date32()), pa.string())
    return txt if missing is None else _null_where(txt, missing)
