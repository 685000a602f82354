"""The public tables the near-miss set is built from, and nothing else.

None of them is taxgate's: neither :mod:`taxgate.synth` nor ``taxgate/data`` (the
product's own Publication 28 and name tables) is read here. Sources and licences:

- USPS Publication 28 street suffixes (C1), directionals (C2 region) and secondary unit
  designators (C2): ``scourgify.address_constants`` of usaddress-scourgify 0.7.1
  (MIT licence, Green Building Registry).
- Given names by sex with frequency, and surnames with frequency: the 1990 U.S. Census
  name files (public domain) as shipped by names 0.3.0 (MIT licence, Trey Hunner).
- Equivalent names (nicknames and hypocorisms, flagged by country) and Spanish given
  names with their accents: Jörg Michael's ``nam_dict.txt`` (GNU Free Documentation
  Licence 1.2) as shipped by gender-guesser 0.4.0; only the data file is read.
- Ordinal words (FIFTH for 5TH): inflect 7.6.0 (MIT licence).
- ZIP codes with their city and state: zipcodes 3.0.0 (MIT licence).
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from functools import cache
from importlib import resources

STATES = frozenset((
    "AL", "AK", "AZ", "AR", "CA", "CO", "CT", "DE", "DC", "FL", "GA", "HI", "ID", "IL", "IN",
    "IA", "KS", "KY", "LA", "ME", "MD", "MA", "MI", "MN", "MS", "MO", "MT", "NE", "NV", "NH",
    "NJ", "NM", "NY", "NC", "ND", "OH", "OK", "OR", "PA", "RI", "SC", "SD", "TN", "TX", "UT",
    "VT", "VA", "WA", "WV", "WI", "WY",
))
# the secondary unit designators that take a number (Pub 28 C2), long form -> abbreviation
NUMBERED_UNITS = ("APARTMENT", "SUITE", "UNIT", "ROOM", "TRAILER", "SPACE", "LOT",
                  "BUILDING", "FLOOR", "DEPARTMENT", "HANGER", "PIER", "SLIP", "STOP")
_NAM_COUNTRY = {"GB": 0, "IE": 1, "US": 2, "ES": 6}


def fold(text: str) -> str:
    """Upper case without accents (how the census tables spell names)."""
    nfd = unicodedata.normalize("NFD", text)
    return "".join(c for c in nfd if not unicodedata.combining(c)).upper()


@dataclass(frozen=True)
class Tables:
    male: tuple[tuple[str, float], ...]          # census given names, most frequent first
    female: tuple[tuple[str, float], ...]
    surnames: tuple[tuple[str, float], ...]
    suffixes: dict[str, tuple[str, ...]]         # Pub 28 abbreviation -> every spelling
    suffix_long: dict[str, str]                  # abbreviation -> long form
    directionals: dict[str, str]                 # abbreviation -> long form
    units: dict[str, str]                        # long form -> abbreviation (numbered ones)
    equivalents: tuple[tuple[str, str], ...]     # (short, long) used in the U.S./U.K./Ireland
    related: frozenset[tuple[str, str]]          # every equivalent pair, any country, both ways
    accented: tuple[tuple[str, str], ...]        # (accented Spanish given name, sex M/F)
    spanish_given: frozenset[str]                # census given names also common in Spain
    zips: tuple[tuple[str, str, str], ...]       # (zip5, city, state)


def _census(path: str, limit: int) -> tuple[tuple[str, float], ...]:
    text = resources.files("names").joinpath(path).read_text(encoding="ascii")
    rows = [line.split() for line in text.splitlines() if line.strip()]
    return tuple((r[0], float(r[1])) for r in rows[:limit])


def _nam_dict() -> list[str]:
    text = resources.files("gender_guesser").joinpath("data/nam_dict.txt").read_text(
        encoding="utf-8")
    # column 30 '+' marks the duplicate lines with expanded umlauts
    return [ln for ln in text.splitlines()
            if ln and not ln.startswith("#") and (len(ln) <= 29 or ln[29] != "+")]


def _flag(line: str, country: str) -> int:
    ch = line[30 + _NAM_COUNTRY[country]:31 + _NAM_COUNTRY[country]].strip()
    return int(ch, 16) if ch else 0


def _equivalents(lines: list[str], given: set[str]) -> tuple[
        tuple[tuple[str, str], ...], frozenset[tuple[str, str]]]:
    out, related = set(), set()
    for ln in lines:
        parts = ln[3:29].split()
        if not ln.startswith("=") or len(parts) != 2:
            continue
        short, long_ = fold(parts[0]), fold(parts[1])
        related |= {(short, long_), (long_, short)}
        if (any(_flag(ln, c) for c in ("US", "GB", "IE")) and short != long_
                and short in given and long_ in given):
            out.add((short, long_))
    return tuple(sorted(out)), frozenset(related)


def _spanish(lines: list[str], given: set[str]) -> tuple[tuple[tuple[str, str], ...],
                                                         frozenset[str]]:
    accented, plain = set(), set()
    for ln in lines:
        if ln.startswith("=") or len(ln) < 37 or _flag(ln, "ES") < 3:
            continue
        sex, name = ln[:2].strip(), ln[3:29].strip()
        if " " in name or "-" in name or fold(name) not in given:
            continue
        plain.add(fold(name))
        if fold(name) != name.upper() and sex in ("M", "F"):
            accented.add((name.upper(), sex))
    return tuple(sorted(accented)), frozenset(plain)


def _zips() -> tuple[tuple[str, str, str], ...]:
    import zipcodes

    rows = zipcodes.filter_by(zip_code_type="STANDARD", active=True)
    return tuple(sorted((r["zip_code"], r["city"].upper(), r["state"]) for r in rows
                        if r["state"] in STATES and r["city"].replace(" ", "").isalpha()))


@cache
def load() -> Tables:
    """Read every table once."""
    from scourgify import address_constants as ac

    male = _census("dist.male.first", 1219)
    female = _census("dist.female.first", 4275)
    surnames = _census("dist.all.last", 20000)
    given = {n for n, _ in male} | {n for n, _ in female}
    suffixes: dict[str, list[str]] = {}
    for spelling, abbr in ac.STREET_TYPE_ABBREVIATIONS.items():
        if spelling.isalpha() and abbr in ac.LONGHAND_STREET_TYPES:
            suffixes.setdefault(abbr, []).append(spelling)
    for abbr, long_ in ac.LONGHAND_STREET_TYPES.items():
        if abbr in suffixes and long_ not in suffixes[abbr]:
            suffixes[abbr].append(long_)
    lines = _nam_dict()
    accented, spanish = _spanish(lines, given)
    equivalents, related = _equivalents(lines, given)
    return Tables(
        male=male, female=female, surnames=surnames,
        suffixes={k: tuple(sorted(v)) for k, v in sorted(suffixes.items())},
        suffix_long={k: v for k, v in ac.LONGHAND_STREET_TYPES.items() if k in suffixes},
        directionals=dict(ac.LONGHAND_DIRECTIONALS),
        units={u: ac.OCCUPANCY_TYPE_ABBREVIATIONS[u] for u in NUMBERED_UNITS},
        equivalents=equivalents, related=related,
        accented=accented, spanish_given=spanish, zips=_zips(),
    )


@cache
def _inflect():  # type: ignore[no-untyped-def]
    import inflect

    return inflect.engine()


def ordinal_words(n: int) -> str:
    """5 -> FIFTH, 21 -> TWENTY-FIRST (inflect)."""
    eng = _inflect()
    return str(eng.ordinal(eng.number_to_words(n))).upper()


def ordinal_digits(n: int) -> str:
    """5 -> 5TH (inflect)."""
    return str(_inflect().ordinal(n)).upper()
