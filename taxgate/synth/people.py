"""People and households: names, dates of birth, TINs, holds.

A household is the group of filers who share an address history. Its head is
rank 0, a spouse rank 1, adult children rank 2 and up. Some sons carry their
father's name exactly (the namesakes the gateway must not tell apart by address
alone), sometimes with JR / SR as filed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from taxgate.synth.tables import Tables, weighted

ORIGIN_SHARE = np.array([0.67, 0.25, 0.08])  # Spanish-language, English, other
HOUSEHOLD_SIZES = np.array([1, 2, 3, 4, 5])
HOUSEHOLD_SHARE = np.array([0.35, 0.30, 0.18, 0.12, 0.05])
# middle-name style shares per origin: none, middle name, initial, compound first name
MIDDLE_STYLE = np.array(
    [[0.25, 0.25, 0.10, 0.40], [0.30, 0.30, 0.40, 0.0], [0.70, 0.20, 0.10, 0.0]]
)
# surname style as filed (Spanish names with two surnames): first only, "A B", "A-B"
SURNAME_STYLE = np.array([0.50, 0.42, 0.08])
ITIN_SHARE = np.array([0.45, 0.0, 0.25])  # by origin
ITIN_THEN_SSN = 0.22  # share of ITIN holders who later got an SSN
JUNIOR_SHARE = 0.35  # of adult sons of a male head: named exactly like him
HOLD_SHARE = 0.004
REF_DAY = int(np.datetime64("2026-06-01", "D").astype(np.int64))


@dataclass
class People:
    hh: np.ndarray
    rank: np.ndarray
    origin: np.ndarray
    male: np.ndarray
    given: np.ndarray
    middle: np.ndarray
    mstyle: np.ndarray
    sur1: np.ndarray
    sur2: np.ndarray
    sstyle: np.ndarray
    suffix: np.ndarray
    accents: np.ndarray
    dob: np.ndarray
    dob_shown: np.ndarray  # False: the person never gives a DOB on a return
    ssn: np.ndarray
    itin: np.ndarray
    ssn_year: np.ndarray  # first tax year filed under the SSN (ITIN holders who got one)
    hold: np.ndarray
    father: np.ndarray  # the head a junior is named after, else -1


def _draw_given(rng: np.random.Generator, t: Tables, origin: np.ndarray, male: np.ndarray):
    out = np.zeros(len(origin), dtype=np.int64)
    for o in range(3):
        for m in (False, True):
            rows = np.flatnonzero((origin == o) & (male == m))
            pool = np.flatnonzero((t.given.origin == o) & (t.given.male == m))
            out[rows] = pool[weighted(rng, t.given.weight[pool], len(rows))]
    return out


def _draw_surname(rng: np.random.Generator, t: Tables, origin: np.ndarray) -> np.ndarray:
    out = np.zeros(len(origin), dtype=np.int64)
    for o in range(3):
        rows = np.flatnonzero(origin == o)
        pool = np.flatnonzero(t.surnames.origin == o)
        out[rows] = pool[weighted(rng, t.surnames.weight[pool], len(rows))]
    return out


def unique_tins(rng: np.random.Generator, n: int, itin: bool) -> np.ndarray:
    """``n`` distinct, valid-looking SSNs (area 001-899, not 666) or ITINs (9XX-7X-XXXX)."""
    out = np.zeros(0, dtype=np.int64)
    while len(out) < n:
        k = int((n - len(out)) * 1.1) + 16
        if itin:
            group = rng.choice(np.r_[50:66, 70:89, 90:93, 94:100], k)
            area = rng.integers(900, 1000, k)
        else:
            area = rng.integers(1, 900, k)
            area = np.where(area == 666, 667, area)
            group = rng.integers(1, 100, k)
        tin = area * 1_000_000 + group * 10_000 + rng.integers(1, 10_000, k)
        out = np.unique(np.r_[out, tin])
    return rng.permutation(out)[:n]


def make_people(rng: np.random.Generator, t: Tables, n: int) -> People:
    """``n`` filers grouped in households."""
    sizes = rng.choice(HOUSEHOLD_SIZES, n // 2 + 8, p=HOUSEHOLD_SHARE)
    hh = np.repeat(np.arange(len(sizes)), sizes)[:n]
    starts = np.r_[0, np.cumsum(sizes)[:-1]]
    rank = np.arange(n) - starts[hh]
    head = starts[hh]
    origin = rng.choice(3, len(sizes), p=ORIGIN_SHARE)[hh].astype(np.int8)
    head_male = rng.random(len(sizes)) < 0.75
    coin = rng.random(n) < 0.5
    male = np.where(rank == 0, head_male[hh], np.where(rank == 1, ~head_male[hh], coin))
    age = np.clip(rng.normal(44, 13, n), 21, 85)
    dob = REF_DAY - (age * 365.25).astype(np.int64)
    dob = np.where(rank == 1, dob[head] + rng.integers(-1800, 1800, n), dob)
    child_dob = dob[head] + rng.integers(20 * 365, 36 * 365, n)
    young = REF_DAY - rng.integers(19 * 365, 26 * 365, n)
    child_dob = np.where(child_dob > REF_DAY - 19 * 365, young, child_dob)
    dob = np.where(rank >= 2, child_dob, dob)

    given = _draw_given(rng, t, origin, male)
    middle = _draw_given(rng, t, origin, male)
    mstyle = np.zeros(n, dtype=np.int8)
    for o in range(3):
        rows = np.flatnonzero(origin == o)
        mstyle[rows] = rng.choice(4, len(rows), p=MIDDLE_STYLE[o])
    mstyle[t.given.ascii.take(middle).to_numpy(zero_copy_only=False)
           == t.given.ascii.take(given).to_numpy(zero_copy_only=False)] = 0
    middle = np.where(mstyle == 0, -1, middle)

    spanish = origin == 0
    sur1 = _draw_surname(rng, t, origin)
    sur2 = np.where(spanish, _draw_surname(rng, t, origin), -1)
    spouse_takes = ~spanish & (rank == 1) & (rng.random(n) < 0.8)
    sur1 = np.where(spouse_takes, sur1[head], sur1)
    has_spouse = sizes[hh] >= 2
    spouse_sur = np.where(has_spouse, sur1[np.minimum(head + 1, n - 1)], sur2)
    dad_sur = np.where(head_male[hh] | ~spanish, sur1[head], spouse_sur)
    mom_sur = np.where(head_male[hh], spouse_sur, sur1[head])
    child = rank >= 2
    sur2 = np.where(child & spanish, mom_sur, sur2)
    sur1 = np.where(child, dad_sur, sur1)
    sstyle = np.where(spanish, rng.choice(3, n, p=SURNAME_STYLE), 0).astype(np.int8)
    accents = spanish & (rng.random(n) < 0.25)

    father = np.where(child & male & head_male[hh] & (rng.random(n) < JUNIOR_SHARE), head, -1)
    jr = np.flatnonzero(father >= 0)
    f = father[jr]
    for arr in (given, middle, mstyle, sur1, sur2, sstyle, accents):
        arr[jr] = arr[f]
    suffix = np.zeros(n, dtype=np.int8)
    suffix[jr[rng.random(len(jr)) < 0.3]] = 1
    sr = f[suffix[jr] == 1]
    suffix[sr[rng.random(len(sr)) < 0.4]] = 2

    itin_holder = rng.random(n) < ITIN_SHARE[origin]
    later_ssn = itin_holder & (rng.random(n) < ITIN_THEN_SSN)
    ssn = np.zeros(n, dtype=np.int64)
    itin = np.zeros(n, dtype=np.int64)
    need_ssn = ~itin_holder | later_ssn
    ssn[need_ssn] = unique_tins(rng, int(need_ssn.sum()), itin=False)
    itin[itin_holder] = unique_tins(rng, int(itin_holder.sum()), itin=True)
    ssn_year = np.where(later_ssn, rng.integers(2021, 2026, n), np.where(itin_holder, 9999, 0))
    return People(
        hh=hh, rank=rank, origin=origin, male=male, given=given, middle=middle, mstyle=mstyle,
        sur1=sur1, sur2=sur2, sstyle=sstyle, suffix=suffix, accents=accents, dob=dob,
        dob_shown=rng.random(n) > 0.05, ssn=ssn, itin=itin, ssn_year=ssn_year,
        hold=rng.random(n) < HOLD_SHARE, father=father,
    )
