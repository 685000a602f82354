"""Near misses: requests that name another delivery point or another person and must
never be CONFIRMED (R23, R24). For half of the address near misses the near address
exists among the filings (another filer lives there); for the other half it does not."""

from __future__ import annotations

from dataclasses import replace

from bench.nearmiss import names
from bench.nearmiss.kinds import IDS, NEAR_MISS_EXPECTED, VARIANTS, Kind, Row, req
from bench.nearmiss.world import COMMON_SUFFIXES, Address, World

OPPOSITE = {"N": "S", "S": "N", "E": "W", "W": "E", "NE": "SW", "SW": "NE", "NW": "SE",
            "SE": "NW"}


def _exists(w: World, i: int, near: Address) -> str:
    if i % 2 == 0:
        w.neighbour_at(near)
        return "near address filed"
    return "near address not filed"


def other_directional(w: World, n: int) -> list[Row]:
    out = []
    dirs = list(w.t.directionals)
    for i in range(n):
        d = dirs[i % len(dirs)]
        other = OPPOSITE[d] if i % 3 else dirs[(dirs.index(d) + 1 + i % 7) % len(dirs)]
        other = other if other != d else OPPOSITE[d]
        post = i % 5 == 4
        p = w.person()
        a = w.address(predir="" if post else d, postdir=d if post else "")
        w.file(p, a)
        near = replace(a, predir="" if post else other, postdir=other if post else "")
        note = _exists(w, i, near)
        asked = w.t.directionals[other] if i % 4 == 3 else other
        street = near.street(predir="" if post else asked, postdir=asked if post else "")
        out.append(req(p, a, IDS[i % 4], street=street, detail=f"{d}->{other}, {note}"))
    return out


def other_suffix(w: World, n: int) -> list[Row]:
    out = []
    for i in range(n):
        s = COMMON_SUFFIXES[i % len(COMMON_SUFFIXES)]
        other = COMMON_SUFFIXES[(i % len(COMMON_SUFFIXES) + 1 + (i // 16) % 15)
                                % len(COMMON_SUFFIXES)]
        p, a = w.person(), w.address(suffix=s)
        w.file(p, a)
        near = replace(a, suffix=other)
        note = _exists(w, i, near)
        asked = w.t.suffix_long[other] if i % 4 == 3 else other
        out.append(req(p, a, IDS[i % 4], street=near.street(suffix=asked),
                       detail=f"{s}->{other}, {note}"))
    return out


def _transposable(w: World) -> tuple[str, str]:
    while True:
        num = str(int(w.rng.integers(10, 9990)))
        k = int(w.rng.integers(len(num) - 1))
        swapped = num[:k] + num[k + 1] + num[k] + num[k + 2:]
        if swapped != num and swapped[0] != "0":
            return num, swapped


def transposed_number(w: World, n: int) -> list[Row]:
    out = []
    for i in range(n):
        num, swapped = _transposable(w)
        p, a = w.person(), w.address(number=num)
        w.file(p, a)
        near = replace(a, number=swapped)
        note = _exists(w, i, near)
        out.append(req(p, a, IDS[i % 4], street=near.street(), detail=f"{num}->{swapped}, {note}"))
    return out


def other_unit(w: World, n: int) -> list[Row]:
    out = []
    for i in range(n):
        des = ("APT", "STE", "UNIT", "#")[i % 4]
        p, a = w.person(), w.address(unit=True, unit_des=des)
        w.file(p, a)
        num = int(a.unit_num)
        other = str(num + 1 if i % 3 or num == 1 else num - 1)
        near = replace(a, unit_num=other)
        note = _exists(w, i, near)
        out.append(req(p, a, IDS[i % 4], unit=near.unit(),
                       detail=f"{a.unit()}->{near.unit()}, {note}"))
    return out


def one_letter_given_name(w: World, n: int) -> list[Row]:
    """JUAN files at the address; the request asks for JUANA (no DOB, no TIN)."""
    pairs = names.cross_sex_pairs()
    out = []
    for i in range(n):
        man, woman, _ = pairs[(i // 2) % len(pairs)]
        filed, asked, sex = (man, woman, "M") if i % 2 == 0 else (woman, man, "F")
        p = w.person(sex=sex, first=filed)
        a = w.address()
        w.file(p, a)
        out.append(req(p, a, "none", first=asked, middle=False, detail=f"{filed}->{asked}"))
    return out


def father_and_son(w: World, n: int) -> list[Row]:
    """Two filers of one name at one address, born a generation apart; the request gives
    the name alone. Half the sons file with JR after the surname."""
    out = []
    for i in range(n):
        father = w.person(sex="M", dob=w.dob(1945, 1968))
        son = w.person(sex="M", first=father.first, middle=father.middle, last=father.last,
                       dob=w.dob(1980, 2002))
        a = w.address()
        w.file(father, a)
        jr = i % 2 == 1
        w.file(son, a, last=f"{son.last} JR" if jr else None)
        out.append(req(father, a, "none", detail="son files with JR" if jr else "no suffix"))
    return out


def _contradicting(w: World, n: int, ids: tuple[str, ...]) -> list[Row]:
    out = []
    for i in range(n):
        p, a = w.person(), w.address()
        w.file(p, a)
        other = names.unrelated_given(w.rng, [p.first, p.middle, p.last.split()[0]], p.sex)
        out.append(req(p, a, ids[i % len(ids)], first=other, middle=False,
                       detail=f"{p.first}->{other}"))
    return out


def contradicting_given_with_id(w: World, n: int) -> list[Row]:
    """ROBERT HARRIS files; the request asks for WILLIAM HARRIS with his TIN and/or DOB."""
    return _contradicting(w, n, ("dob", "tin", "both"))


def contradicting_given_no_id(w: World, n: int) -> list[Row]:
    """ROBERT HARRIS files; the request asks for WILLIAM HARRIS at his address, nothing else:
    a surname and an address alone."""
    return _contradicting(w, n, ("none",))


NEAR_MISSES = (
    Kind("nm_other_directional", "near miss", NEAR_MISS_EXPECTED, other_directional,
         "another directional (123 N CENTRAL AVE asked as 123 S CENTRAL AVE)"),
    Kind("nm_other_suffix", "near miss", NEAR_MISS_EXPECTED, other_suffix,
         "another street type (WALNUT ST asked as WALNUT CT)"),
    Kind("nm_transposed_number", "near miss", NEAR_MISS_EXPECTED, transposed_number,
         "two adjacent digits of the house number swapped (12 / 21)"),
    Kind("nm_other_unit", "near miss", NEAR_MISS_EXPECTED, other_unit,
         "another unit at the same street address (APT 4 / APT 5)"),
    Kind("nm_one_letter_given_name", "near miss", NEAR_MISS_EXPECTED, one_letter_given_name,
         "a given name of the other sex one letter away (JUAN / JUANA), no DOB or TIN"),
    Kind("nm_father_and_son", "near miss", NEAR_MISS_EXPECTED, father_and_son,
         "father and son of one name at one address, no DOB or TIN"),
    Kind("nm_contradicting_given_with_id", "near miss", NEAR_MISS_EXPECTED,
         contradicting_given_with_id,
         "an unrelated given name with the filer's TIN and/or DOB"),
    Kind("nm_contradicting_given_no_id", "near miss", NEAR_MISS_EXPECTED,
         contradicting_given_no_id,
         "an unrelated given name, surname + address alone"),
)
KINDS = VARIANTS + NEAR_MISSES
