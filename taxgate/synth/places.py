"""Addresses: a ZIP universe, unique delivery points, and each household's moves.

An address is numeric components (ZIP, house number, street, directionals, street
type, unit, ZIP+4); its integer *key* identifies the delivery point exactly, so
"same address" in the truth labels is key equality, whatever the spelling.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from taxgate.synth.render import DIRECTION_WEIGHTS, STREET_TYPES
from taxgate.synth.tables import Tables, weighted

MOVE_COUNTS = np.array([1, 2, 3, 4])
MOVE_SHARE = np.array([0.45, 0.32, 0.16, 0.07])
FIRST_MOVE_DAY = int(np.datetime64("2019-03-01", "D").astype(np.int64))
APARTMENT_SHARE = 0.30


@dataclass
class Addresses:
    zip_idx: np.ndarray
    number: np.ndarray
    street: np.ndarray
    predir: np.ndarray
    stype: np.ndarray
    postdir: np.ndarray
    unit: np.ndarray
    zip4: np.ndarray

    def take(self, idx: np.ndarray) -> Addresses:
        return Addresses(*(getattr(self, f.name)[idx] for f in fields(self)))

    def key(self) -> np.ndarray:
        return address_key(self)

    def __len__(self) -> int:
        return len(self.zip_idx)

    @staticmethod
    def concat(parts: list[Addresses]) -> Addresses:
        cols = (np.concatenate([getattr(p, f.name) for p in parts]) for f in fields(Addresses))
        return Addresses(*cols)


def address_key(a: Addresses) -> np.ndarray:
    """Exact delivery-point id: building bits, then 9 bits of unit."""
    k = a.zip_idx.astype(np.int64) * 32768 + a.number
    k = ((k * 1024 + a.street) * 16 + a.predir) * 32 + a.stype
    return (k * 16 + a.postdir) * 512 + a.unit


def member(sorted_values: np.ndarray, query: np.ndarray) -> np.ndarray:
    """``np.isin`` for a sorted array, by binary search (much faster on big sets)."""
    if len(sorted_values) == 0:
        return np.zeros(len(query), bool)
    pos = np.minimum(np.searchsorted(sorted_values, query), len(sorted_values) - 1)
    return sorted_values[pos] == query


def building(key: np.ndarray) -> np.ndarray:
    """The key without its unit: the street address of a building."""
    return key >> 9


class Universe:
    """The ZIP codes a population lives in, dense ones more likely."""

    def __init__(self, rng: np.random.Generator, t: Tables, n_people: int) -> None:
        n_zip = int(np.clip(n_people // 150, 40, len(t.zip_int)))
        p = t.zip_weight / t.zip_weight.sum()
        chosen = np.sort(rng.choice(len(p), n_zip, replace=False, p=p))
        order = np.lexsort((chosen, t.state_id[chosen]))
        self.zips = chosen[order]
        self.state = t.state_id[self.zips]
        self.cum = np.cumsum(t.zip_weight[self.zips])
        self.state_lo = np.searchsorted(self.state, np.arange(self.state.max() + 2), "left")

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return self.zips[np.searchsorted(self.cum, rng.random(n) * self.cum[-1], side="right")]

    def sample_in_state(self, rng: np.random.Generator, state: np.ndarray) -> np.ndarray:
        """A ZIP of the universe in each given state."""
        lo, hi = self.state_lo[state], self.state_lo[state + 1]
        base = np.where(lo > 0, self.cum[np.maximum(lo - 1, 0)], 0.0)
        u = base + rng.random(len(state)) * (self.cum[hi - 1] - base)
        pos = np.clip(np.searchsorted(self.cum, u, side="right"), lo, hi - 1)
        return self.zips[pos]


def random_addresses(rng: np.random.Generator, t: Tables, zip_idx: np.ndarray) -> Addresses:
    n = len(zip_idx)
    pre = np.where(rng.random(n) < 0.22, weighted(rng, DIRECTION_WEIGHTS, n), 0)
    post = np.where((pre == 0) & (rng.random(n) < 0.03), weighted(rng, DIRECTION_WEIGHTS, n), 0)
    apt = rng.random(n) < APARTMENT_SHARE
    unit = np.where(rng.random(n) < 0.6, rng.integers(1, 41, n), rng.integers(100, 420, n))
    return Addresses(
        zip_idx=zip_idx.astype(np.int64),
        number=np.clip(np.exp(rng.normal(6.3, 1.2, n)), 1, 29999).astype(np.int64),
        street=weighted(rng, t.street_weight, n),
        predir=pre.astype(np.int64),
        stype=weighted(rng, np.array([w for _, _, w in STREET_TYPES], dtype=float), n),
        postdir=post.astype(np.int64),
        unit=np.where(apt, unit, 0).astype(np.int64),
        zip4=rng.integers(1, 10000, n),
    )


def fresh_addresses(
    rng: np.random.Generator, t: Tables, zip_idx: np.ndarray, taken: np.ndarray
) -> Addresses:
    """Made-up addresses in the given ZIPs whose buildings are not in sorted ``taken``."""
    a = random_addresses(rng, t, zip_idx)
    for _ in range(50):
        k = building(a.key())
        order = np.argsort(k, kind="stable")
        ks = k[order]
        same = np.r_[False, ks[1:] == ks[:-1]]
        dup = member(taken, k)
        dup[order[same]] = True
        if not dup.any():
            return a
        a.number[dup] = rng.integers(1, 29999, int(dup.sum()))
    raise RuntimeError("could not make unique addresses")


@dataclass
class History:
    """Each household's addresses in time order: slot -> (household, start day, address)."""

    addresses: Addresses
    hh: np.ndarray
    start: np.ndarray

    def at(self, hh: np.ndarray, day: np.ndarray) -> np.ndarray:
        """The address index (slot) each household lived at on each day."""
        big = np.int64(1) << 20
        slots = self.hh.astype(np.int64) * big + self.start
        return np.searchsorted(slots, hh.astype(np.int64) * big + day, side="right") - 1


def make_history(
    rng: np.random.Generator, t: Tables, uni: Universe, n_households: int, as_of: int
) -> History:
    """Address slots for every household: a first address and 0-3 moves after 2019-03."""
    count = rng.choice(MOVE_COUNTS, n_households, p=MOVE_SHARE)
    hh = np.repeat(np.arange(n_households), count)
    rank = np.arange(len(hh)) - np.r_[0, np.cumsum(count)[:-1]][hh]
    start = np.where(rank == 0, 0, rng.integers(FIRST_MOVE_DAY, as_of, len(hh)))
    order = np.argsort(hh.astype(np.int64) << 24 | start, kind="stable")
    hh, start = hh[order], start[order]
    zip_idx = np.zeros(len(hh), dtype=np.int64)
    first = rank == 0
    zip_idx[first] = uni.sample(rng, int(first.sum()))
    for r in range(1, int(count.max())):
        cur = np.flatnonzero(rank == r)
        prev = zip_idx[cur - 1]
        u = rng.random(len(cur))
        moved = np.where(u < 0.55, prev, uni.sample_in_state(rng, t.state_id[prev]))
        zip_idx[cur] = np.where(u > 0.85, uni.sample(rng, len(cur)), moved)
    addrs = fresh_addresses(rng, t, zip_idx, np.zeros(0, dtype=np.int64))
    return History(addresses=addrs, hh=hh, start=start)
