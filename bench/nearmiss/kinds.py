"""The labeled kinds of request records: variants that must match, near misses that must not.

Each builder makes its own target taxpayers (filings added to the world) and returns
request rows with a ``detail`` (what was varied, and which of date of birth / TIN the
request carries: ``none``, ``dob``, ``tin`` or ``both``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from bench.nearmiss import names
from bench.nearmiss.sources import fold, ordinal_digits, ordinal_words
from bench.nearmiss.world import Address, Person, World

Row = dict[str, str]
IDS = ("none", "dob", "tin", "both")
NEAR_MISS_EXPECTED = "NOT_CONFIRMED|REVIEW"


def req(p: Person, a: Address, ids: str, *, first: str | None = None, last: str | None = None,
        second: str = "", street: str | None = None, unit: str | None = None,
        detail: str = "", middle: bool = True) -> Row:
    """A request row naming ``p`` at ``a`` (any field overridden), with ``ids`` evidence."""
    return {
        "first_name": first or p.first, "middle_name": p.middle if middle else "",
        "last_name": last or p.last, "second_last_name": second,
        "date_of_birth": p.dob if ids in ("dob", "both") else "",
        "tin": p.tin if ids in ("tin", "both") else "",
        "street_address": street or a.street(), "unit": a.unit() if unit is None else unit,
        "city": a.city, "state": a.state, "zip": a.zip5,
        "true_tin": p.tin, "detail": f"{ids}:{detail}" if detail else ids,
    }


def _pick(w: World, combos: Sequence[Any], n: int) -> list[Any]:
    """``n`` items: whole cycles through ``combos``, the remainder a seeded sample."""
    full, rest = divmod(n, len(combos))
    order = [int(i) for i in w.rng.permutation(len(combos))[:rest]]
    return list(combos) * full + [combos[i] for i in sorted(order)]


# --- address variants (must match) ------------------------------------------------------


def suffix_spelling(w: World, n: int) -> list[Row]:
    combos = [(abbr, s) for abbr, sp in w.t.suffixes.items() for s in sp]
    out = []
    for i, (abbr, spelling) in enumerate(_pick(w, combos, n)):
        filed = w.t.suffix_long[abbr] if spelling == abbr else abbr
        p, a = w.person(), w.address(suffix=abbr)
        w.file(p, a, suffix_form=filed)
        out.append(req(p, a, IDS[i % 4], street=a.street(suffix=spelling),
                       detail=f"{filed}->{spelling}"))
    return out


def _dir_forms(w: World, d: str) -> list[str]:
    long_ = w.t.directionals[d]
    forms = [d, long_, ".".join(d) + "."]
    if len(d) == 2:
        forms.append(f"{w.t.directionals[d[0]]}-{w.t.directionals[d[1]]}")
    return forms


def directional(w: World, n: int) -> list[Row]:
    combos = [(d, pos, f, r) for d in w.t.directionals for pos in ("pre", "post")
              for f in _dir_forms(w, d)[:2] for r in _dir_forms(w, d) if r != f]
    out = []
    for i, (d, pos, filed, asked) in enumerate(_pick(w, combos, n)):
        p = w.person()
        a = w.address(predir=d if pos == "pre" else "", postdir=d if pos == "post" else "")
        key = "predir" if pos == "pre" else "postdir"
        w.file(p, a, street=a.street(**{key: filed}))
        out.append(req(p, a, IDS[i % 4], street=a.street(**{key: asked}),
                       detail=f"{pos} {filed}->{asked}"))
    return out


def _unit_target(w: World, des: str) -> tuple[Person, Address]:
    p, a = w.person(), w.address(unit=True, unit_des=des)
    w.file(p, a)
    return p, a


def unit_designator(w: World, n: int) -> list[Row]:
    combos = []
    for long_, abbr in w.t.units.items():
        if long_ != abbr:
            combos += [(abbr, long_), (long_, abbr)]
        combos += [(abbr, "#"), (abbr, "# ")]
    out = []
    for i, (filed, asked) in enumerate(_pick(w, combos, n)):
        p, a = _unit_target(w, filed)
        unit = f"{asked}{a.unit_num}" if asked.startswith("#") else f"{asked} {a.unit_num}"
        out.append(req(p, a, IDS[i % 4], unit=unit, detail=f"{filed}->{asked.strip()}"))
    return out


def unit_in_street_line(w: World, n: int) -> list[Row]:
    combos = [(d, way) for d in ("APT", "STE", "UNIT", "#") for way in ("to_line", "to_column")]
    out = []
    for i, (des, way) in enumerate(_pick(w, combos, n)):
        p, a = w.person(), w.address(unit=True, unit_des=des)
        line = f"{a.street()} {a.unit()}"
        if way == "to_line":
            w.file(p, a)
            out.append(req(p, a, IDS[i % 4], street=line, unit="", detail=f"{des} {way}"))
        else:
            w.file(p, a, street=line, unit="")
            out.append(req(p, a, IDS[i % 4], detail=f"{des} {way}"))
    return out


def unit_designator_swap(w: World, n: int) -> list[Row]:
    combos = [("APT", "UNIT"), ("UNIT", "APT"), ("STE", "UNIT"), ("UNIT", "STE")]
    out = []
    for i, (filed, asked) in enumerate(_pick(w, combos, n)):
        p, a = _unit_target(w, filed)
        out.append(req(p, a, IDS[i % 4], unit=f"{asked} {a.unit_num}",
                       detail=f"{filed}->{asked}"))
    return out


def ordinal(w: World, n: int) -> list[Row]:
    combos = [(k, way) for k in range(1, 100) for way in ("digits->words", "words->digits")]
    out = []
    for i, (k, way) in enumerate(_pick(w, combos, n)):
        digits, words = ordinal_digits(k), ordinal_words(k)
        filed, asked = (digits, words) if way == "digits->words" else (words, digits)
        p = w.person()
        a = w.address(name=filed, suffix=("ST", "AVE")[i % 2])
        w.file(p, a)
        out.append(req(p, a, IDS[i % 4], street=replace(a, name=asked).street(),
                       detail=f"{filed}->{asked}"))
    return out


# --- name variants (must match) ---------------------------------------------------------


def nickname(w: World, n: int) -> list[Row]:
    combos = [(s, lg, d) for s, lg in w.t.equivalents for d in ("long->short", "short->long")]
    out = []
    for i, (short, long_, way) in enumerate(_pick(w, combos, n)):
        filed, asked = (long_, short) if way == "long->short" else (short, long_)
        p = w.person(sex=names.sex_of(long_), first=filed)
        a = w.address()
        w.file(p, a)
        out.append(req(p, a, IDS[i % 4], first=asked, detail=f"{filed}->{asked}"))
    return out


def particle(w: World, n: int) -> list[Row]:
    combos = [(pa, rest, way) for pa, rest in names.particle_surnames()
              for way in ("spaced->dropped", "spaced->joined", "joined->spaced",
                          "joined->dropped")]
    out = []
    for i, (pa, rest, way) in enumerate(_pick(w, combos, n)):
        form = {"spaced": f"{pa} {rest}", "joined": pa.replace(" ", "") + rest,
                "dropped": rest}
        filed, asked = (form[x] for x in way.split("->"))
        p = w.person(hispanic=True, last=filed)
        a = w.address()
        w.file(p, a)
        out.append(req(p, a, IDS[i % 4], last=asked, detail=f"{filed}->{asked}"))
    return out


def _compound(w: World, n: int, ask: Callable[[str, str], tuple[str, str]],
              label: str) -> list[Row]:
    out = []
    for i in range(n):
        first, second = w.surname(True), w.surname(True)
        while second == first:
            second = w.surname(True)
        p = w.person(hispanic=True, last=f"{first} {second}")
        a = w.address()
        w.file(p, a)
        last, second_col = ask(first, second)
        out.append(req(p, a, IDS[i % 4], last=last, second=second_col, detail=label))
    return out


def compound_first_only(w: World, n: int) -> list[Row]:
    return _compound(w, n, lambda a, b: (a, ""), "A B->A")


def compound_second_only(w: World, n: int) -> list[Row]:
    return _compound(w, n, lambda a, b: (b, ""), "A B->B")


def compound_swapped(w: World, n: int) -> list[Row]:
    return _compound(w, n, lambda a, b: (f"{b} {a}", ""), "A B->B A")


def compound_hyphenated(w: World, n: int) -> list[Row]:
    return _compound(w, n, lambda a, b: (f"{a}-{b}", ""), "A B->A-B")


def compound_split_columns(w: World, n: int) -> list[Row]:
    return _compound(w, n, lambda a, b: (a, b), "A B->last A, second_last B")


def accent(w: World, n: int) -> list[Row]:
    combos = [(nm, sex, way) for nm, sex in w.t.accented
              for way in ("plain->accented", "accented->plain")]
    out = []
    for i, (nm, sex, way) in enumerate(_pick(w, combos, n)):
        filed, asked = (fold(nm), nm) if way == "plain->accented" else (nm, fold(nm))
        p = w.person(sex=sex, hispanic=True, first=filed)
        a = w.address()
        w.file(p, a)
        out.append(req(p, a, IDS[i % 4], first=asked, detail=f"{way}"))
    return out


@dataclass(frozen=True)
class Kind:
    name: str
    group: str            # "variant" (must CONFIRM) or "near miss" (must not)
    expected: str
    build: Callable[[World, int], list[Row]]
    what: str


VARIANTS = (
    Kind("addr_suffix_spelling", "variant", "CONFIRMED", suffix_spelling,
         "every Pub 28 spelling of every street suffix (STREET/STR/STRT/ST)"),
    Kind("addr_directional", "variant", "CONFIRMED", directional,
         "pre/post directional spelled N / NORTH / N. (NW / NORTHWEST / N.W. / NORTH-WEST)"),
    Kind("addr_unit_designator", "variant", "CONFIRMED", unit_designator,
         "Pub 28 unit designators long/short and # (APT 4 / APARTMENT 4 / #4 / # 4)"),
    Kind("addr_unit_in_street_line", "variant", "CONFIRMED", unit_in_street_line,
         "the unit in the street line on one side, in the unit column on the other"),
    Kind("addr_unit_designator_swap", "variant", "CONFIRMED", unit_designator_swap,
         "same unit number under another designator (APT 4 / UNIT 4, STE 4 / UNIT 4)"),
    Kind("addr_ordinal", "variant", "CONFIRMED", ordinal,
         "numbered streets in digits and in words (5TH / FIFTH, 21ST / TWENTY-FIRST)"),
    Kind("name_nickname", "variant", "CONFIRMED", nickname,
         "nicknames and hypocorisms of nam_dict.txt used in the U.S./U.K./Ireland"),
    Kind("name_particle", "variant", "CONFIRMED", particle,
         "particle surnames spaced, joined or dropped (DE LA CRUZ / DELACRUZ / CRUZ)"),
    Kind("name_compound_first_only", "variant", "CONFIRMED", compound_first_only,
         "filed GARCIA LOPEZ, asked GARCIA"),
    Kind("name_compound_second_only", "variant", "CONFIRMED", compound_second_only,
         "filed GARCIA LOPEZ, asked LOPEZ"),
    Kind("name_compound_swapped", "variant", "CONFIRMED", compound_swapped,
         "filed GARCIA LOPEZ, asked LOPEZ GARCIA"),
    Kind("name_compound_hyphenated", "variant", "CONFIRMED", compound_hyphenated,
         "filed GARCIA LOPEZ, asked GARCIA-LOPEZ"),
    Kind("name_compound_split_columns", "variant", "CONFIRMED", compound_split_columns,
         "filed GARCIA LOPEZ, asked last_name GARCIA + second_last_name LOPEZ"),
    Kind("name_accent", "variant", "CONFIRMED", accent,
         "Spanish given names with and without accents (JOSE / JOSÉ)"),
)
