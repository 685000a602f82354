"""Filing events: returns for tax years 2019-2025, W-7 applications, Form 8822 moves.

Each event takes the household's address on the day it was made, so an address
changes over a person's filings when the household moves. Events of a person are
sorted by processed_date, which is made unique per person so the address of
record is never a tie.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from taxgate.synth.people import People
from taxgate.synth.places import History
from taxgate.synth.render import ZIP4_DASH, ZIP4_NONE
from taxgate.synth.tables import weighted

YEARS = np.arange(2019, 2026)
RETURN, W7, F8822 = 0, 1, 2
FILE_PROPENSITY = (np.array([0.97, 0.75, 0.45]), np.array([0.7, 0.2, 0.1]))
ADDRESS_STYLE_SHARE = np.array([0.62, 0.18, 0.12, 0.08])
UNIT_DESIGNATOR_SHARE = np.array([0.60, 0.25, 0.10, 0.05])
F8822_SHARE = 0.30  # of household members who report a move on Form 8822


def year_start(year: np.ndarray) -> np.ndarray:
    years = (np.asarray(year) - 1970).astype("datetime64[Y]")
    return years.astype("datetime64[D]").astype(np.int64)


def year_of(day: np.ndarray) -> np.ndarray:
    return day.astype("datetime64[D]").astype("datetime64[Y]").astype(np.int64) + 1970


@dataclass
class Filings:
    person: np.ndarray
    tax_year: np.ndarray
    source: np.ndarray
    processed: np.ndarray
    slot: np.ndarray  # index into History.addresses
    tin: np.ndarray
    dob_shown: np.ndarray
    style: np.ndarray
    udesig: np.ndarray
    unit_in_street: np.ndarray
    zip4_mode: np.ndarray
    alt_surname: np.ndarray
    title: np.ndarray


def _returns(rng: np.random.Generator, p: People) -> tuple[np.ndarray, np.ndarray]:
    n = len(p.hh)
    itin = p.itin > 0
    first = np.where(
        itin, np.where(rng.random(n) < 0.45, 2019, rng.integers(2019, 2026, n)),
        np.where(rng.random(n) < 0.85, 2019, rng.integers(2020, 2026, n)),
    )
    adult = year_of(p.dob) + 18
    first = np.clip(np.maximum(first, adult), 2019, 2025)
    last = np.where(rng.random(n) < 0.9, 2025, first + (rng.random(n) * (2025 - first)).astype(int))
    q = FILE_PROPENSITY[0][
        rng.choice(3, n, p=FILE_PROPENSITY[1])
    ]
    grid = (first[:, None] <= YEARS) & (last[:, None] >= YEARS) & (rng.random((n, 7)) < q[:, None])
    grid[np.arange(n), first - 2019] = True
    person, col = np.nonzero(grid)
    return person, YEARS[col]


def _processed(rng: np.random.Generator, year: np.ndarray) -> np.ndarray:
    n = len(year)
    u = rng.random(n)
    offset = np.where(
        u < 0.85, 14 + rng.gamma(2.0, 22.0, n),
        np.where(u < 0.97, rng.integers(90, 300, n), rng.integers(300, 700, n)),
    ).astype(np.int64)
    return year_start(year + 1) + 31 + offset


def make_filings(rng: np.random.Generator, p: People, h: History, as_of: int) -> Filings:
    """Every filing event of every person, sorted by person and processed date."""
    n = len(p.hh)
    r_person, r_year = _returns(rng, p)
    r_proc = _processed(rng, r_year)

    first_year = np.full(n, 9999)
    np.minimum.at(first_year, r_person, r_year)
    new_itin = (p.itin > 0) & ((first_year > 2019) | (rng.random(n) < 0.15))
    w_person = np.flatnonzero(new_itin)
    w_proc = year_start(first_year[w_person] + 1) + 31 + rng.integers(0, 60, len(w_person))
    renew = np.flatnonzero((p.itin > 0) & (rng.random(n) < 0.08))
    lo = year_start(np.array(2020))
    w_person = np.r_[w_person, renew]
    w_proc = np.r_[w_proc, rng.integers(lo, as_of, len(renew))]
    keep = year_of(w_proc) < p.ssn_year[w_person]
    w_person, w_proc = w_person[keep], w_proc[keep]

    hh_first = np.searchsorted(p.hh, np.arange(p.hh.max() + 1))
    hh_size = np.diff(np.r_[hh_first, n])
    moves = np.flatnonzero(h.start > 0)
    rep = hh_size[h.hh[moves]]
    m_slot = np.repeat(moves, rep)
    within = np.arange(len(m_slot)) - np.repeat(np.cumsum(rep) - rep, rep)
    m_person = hh_first[h.hh[m_slot]] + within
    m_proc = h.start[m_slot] + rng.integers(10, 90, len(m_slot))
    keep = rng.random(len(m_slot)) < F8822_SHARE
    m_person, m_proc = m_person[keep], m_proc[keep]

    person = np.r_[r_person, w_person, m_person]
    source = np.r_[np.full(len(r_person), RETURN), np.full(len(w_person), W7),
                   np.full(len(m_person), F8822)].astype(np.int8)
    proc = np.r_[r_proc, w_proc, m_proc]
    tax_year = np.where(source == RETURN, np.r_[r_year, np.zeros(len(proc) - len(r_year), int)],
                        year_of(proc))
    keep = proc <= as_of
    person, source, proc, tax_year = person[keep], source[keep], proc[keep], tax_year[keep]
    order = np.argsort(person.astype(np.int64) << 24 | (proc - proc.min()), kind="stable")
    person, source, proc, tax_year = person[order], source[order], proc[order], tax_year[order]
    for _ in range(100):  # one filing per person per day: no ties in "most recent"
        tie = np.r_[False, (person[1:] == person[:-1]) & (proc[1:] <= proc[:-1])]
        if not tie.any():
            break
        proc[tie] = proc[np.flatnonzero(tie) - 1] + 1

    m = len(person)
    lag = np.where(source == RETURN, rng.integers(10, 40, m), np.where(source == W7, 30, 0))
    slot = h.at(p.hh[person], proc - lag)
    use_itin = (p.itin[person] > 0) & ((source == W7) | (tax_year < p.ssn_year[person]))
    return Filings(
        person=person, tax_year=tax_year, source=source, processed=proc, slot=slot,
        tin=np.where(use_itin, p.itin[person], p.ssn[person]),
        dob_shown=p.dob_shown[person] & ((rng.random(m) < 0.92) | (source == W7)),
        style=weighted(rng, ADDRESS_STYLE_SHARE, m).astype(np.int8),
        udesig=weighted(rng, UNIT_DESIGNATOR_SHARE, m).astype(np.int8),
        unit_in_street=rng.random(m) < 0.15,
        zip4_mode=np.where(rng.random(m) < 0.2, ZIP4_DASH, ZIP4_NONE).astype(np.int8),
        alt_surname=(p.sur2[person] >= 0) & (rng.random(m) < 0.06),
        title=rng.random(m) < 0.03,
    )
