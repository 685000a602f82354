"""Taxpayers and their filings for the near-miss set, drawn from the public tables only.

People get census given names by sex and census surnames by frequency; a share are
Hispanic (census surnames ending in -EZ, given names also common in Spain, two
surnames, more often an ITIN). Addresses are composed from census surnames as street
names, Publication 28 suffixes and directionals, and real ZIP codes with their city.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from bench.nearmiss.sources import Tables

COMMON_SUFFIXES = ("ST", "AVE", "RD", "DR", "LN", "CT", "PL", "BLVD", "WAY", "CIR", "TER",
                   "TRL", "PKWY", "LOOP", "PATH", "SQ")
FILING_COLUMNS = ("tin", "first_name", "middle_name", "last_name", "date_of_birth",
                  "street_address", "unit", "city", "state", "zip", "tax_year", "source",
                  "processed_date", "disclosure_hold")


@dataclass(frozen=True)
class Address:
    number: str
    name: str
    suffix: str                     # Pub 28 abbreviation, or '' for a numbered street word
    zip5: str
    city: str
    state: str
    predir: str = ""
    postdir: str = ""
    unit_des: str = ""
    unit_num: str = ""

    def key(self) -> tuple[str, ...]:
        return (self.zip5, self.number, self.predir, self.name, self.suffix, self.postdir,
                self.unit_num)

    def street(self, *, predir: str | None = None, suffix: str | None = None,
               postdir: str | None = None, number: str | None = None) -> str:
        """The street line, with any part spelled as given."""
        parts = [number or self.number, self.predir if predir is None else predir, self.name,
                 self.suffix if suffix is None else suffix,
                 self.postdir if postdir is None else postdir]
        return " ".join(p for p in parts if p)

    def unit(self, designator: str | None = None) -> str:
        if not self.unit_num:
            return ""
        des = self.unit_des if designator is None else designator
        return f"{des}{self.unit_num}" if des == "#" else f"{des} {self.unit_num}".strip()


@dataclass(frozen=True)
class Person:
    tin: str
    first: str
    middle: str
    last: str
    dob: str
    sex: str


class World:
    """A growing set of filers; every address used once unless asked otherwise."""

    def __init__(self, tables: Tables, seed: int, n_zips: int = 60) -> None:
        self.t = tables
        self.rng = np.random.default_rng([seed, 28])
        reserved = ({s for v in tables.suffixes.values() for s in v}
                    | set(tables.directionals) | set(tables.directionals.values())
                    | set(tables.units) | set(tables.units.values()))
        self.street_names = [n for n, _ in tables.surnames[:3000]
                             if len(n) >= 4 and n not in reserved]
        pick = self.rng.choice(len(tables.zips), n_zips, replace=False)
        self.zips = [tables.zips[i] for i in sorted(pick)]
        self.filings: list[dict[str, str]] = []
        self.used: set[tuple[str, ...]] = set()
        self.tins: set[str] = set()
        self._male = self._weights(tables.male)
        self._female = self._weights(tables.female)
        self._surname = self._weights(tables.surnames)
        self._hisp_surnames = [n for n, _ in tables.surnames[:8000] if n.endswith("EZ")]
        self._hisp_male = [n for n, _ in tables.male if n in tables.spanish_given]
        self._hisp_female = [n for n, _ in tables.female if n in tables.spanish_given]

    @staticmethod
    def _weights(rows: tuple[tuple[str, float], ...]) -> tuple[list[str], np.ndarray]:
        cum = np.cumsum(np.array([f for _, f in rows]) + 1e-4)
        return [n for n, _ in rows], cum / cum[-1]

    def _draw(self, table: tuple[list[str], np.ndarray]) -> str:
        names, cum = table
        return names[min(int(np.searchsorted(cum, self.rng.random(), side="right")),
                         len(names) - 1)]

    def given(self, sex: str, hispanic: bool = False) -> str:
        if hispanic and self.rng.random() < 0.8:
            pool = self._hisp_male if sex == "M" else self._hisp_female
            return pool[int(self.rng.integers(len(pool)))]
        return self._draw(self._male if sex == "M" else self._female)

    def surname(self, hispanic: bool = False) -> str:
        if hispanic:
            return self._hisp_surnames[int(self.rng.integers(len(self._hisp_surnames)))]
        return self._draw(self._surname)

    def tin(self, itin: bool) -> str:
        while True:
            if itin:
                t = f"9{self.rng.integers(0, 100):02d}{self.rng.integers(70, 89)}" \
                    f"{self.rng.integers(0, 10000):04d}"
            else:
                area = int(self.rng.integers(1, 900))
                if area == 666:
                    continue
                t = f"{area:03d}{self.rng.integers(1, 100):02d}{self.rng.integers(1, 10000):04d}"
            if t not in self.tins:
                self.tins.add(t)
                return t

    def dob(self, lo: int = 1945, hi: int = 2004) -> str:
        y = int(self.rng.integers(lo, hi + 1))
        return f"{y}-{self.rng.integers(1, 13):02d}-{self.rng.integers(1, 29):02d}"

    def person(self, *, sex: str | None = None, hispanic: bool | None = None,
               first: str | None = None, last: str | None = None, middle: str | None = None,
               dob: str | None = None) -> Person:
        sex = sex or ("M" if self.rng.random() < 0.5 else "F")
        hisp = bool(self.rng.random() < 0.3) if hispanic is None else hispanic
        if last is None:
            last = self.surname(hisp)
            if hisp and self.rng.random() < 0.5:
                last = f"{last} {self.surname(True)}"
        if middle is None:
            middle = "" if self.rng.random() < 0.4 else (
                self.given(sex, hisp) if self.rng.random() < 0.6 else self.given(sex, hisp)[0])
        return Person(self.tin(hisp and self.rng.random() < 0.5), first or self.given(sex, hisp),
                      middle, last, dob or self.dob(), sex)

    def address(self, *, suffix: str | None = None, name: str | None = None,
                predir: str | None = None, postdir: str | None = None, unit: bool = False,
                number: str | None = None, zip_row: tuple[str, str, str] | None = None,
                unit_des: str = "APT") -> Address:
        """A fresh delivery point (never one already used)."""
        dirs = list(self.t.directionals)
        while True:
            z = zip_row or self.zips[int(self.rng.integers(len(self.zips)))]
            a = Address(
                number=number or str(int(self.rng.integers(10, 9990))),
                name=name or self.street_names[int(self.rng.integers(len(self.street_names)))],
                suffix=COMMON_SUFFIXES[int(self.rng.integers(len(COMMON_SUFFIXES)))]
                if suffix is None else suffix,
                zip5=z[0], city=z[1], state=z[2],
                predir=(dirs[int(self.rng.integers(4))] if self.rng.random() < 0.3 else "")
                if predir is None else predir,
                postdir="" if postdir is None else postdir,
                unit_des=unit_des if unit else "",
                unit_num=str(int(self.rng.integers(1, 40))) if unit else "",
            )
            if a.key() not in self.used:
                self.used.add(a.key())
                return a
            number = None

    def claim(self, a: Address) -> bool:
        """Mark a given delivery point used; False when it already was."""
        if a.key() in self.used:
            return False
        self.used.add(a.key())
        return True

    def file(self, p: Person, a: Address, *, suffix_form: str | None = None,
             last: str | None = None, street: str | None = None,
             unit: str | None = None) -> None:
        """The person's filings at the address (street line and unit as given, else as
        composed): a 2024 return, often a 2023 one, a W-7 for an ITIN filer."""
        row = {"tin": p.tin, "first_name": p.first, "middle_name": p.middle,
               "last_name": last or p.last, "date_of_birth": p.dob,
               "street_address": street or a.street(suffix=suffix_form),
               "unit": a.unit() if unit is None else unit,
               "city": a.city, "state": a.state, "zip": a.zip5, "disclosure_hold": ""}
        m, d = int(self.rng.integers(2, 6)), int(self.rng.integers(1, 29))
        self.filings.append({**row, "tax_year": "2024", "source": "RETURN",
                             "processed_date": f"2025-{m:02d}-{d:02d}"})
        if self.rng.random() < 0.5:
            self.filings.append({**row, "tax_year": "2023", "source": "RETURN",
                                 "processed_date": f"2024-{m:02d}-{d:02d}"})
        if p.tin.startswith("9"):
            self.filings.append({**row, "tax_year": "2023", "source": "W7",
                                 "processed_date": f"2023-{m:02d}-{d:02d}"})

    def background(self, n: int) -> None:
        """``n`` ordinary filers at addresses of their own (a quarter with a unit)."""
        for _ in range(n):
            self.file(self.person(), self.address(unit=self.rng.random() < 0.25))

    def neighbour_at(self, a: Address) -> None:
        """Another filer at exactly this delivery point (the near address exists)."""
        if self.claim(a):
            self.file(self.person(), a)


def with_unit(a: Address, des: str, num: str) -> Address:
    return replace(a, unit_des=des, unit_num=num)
