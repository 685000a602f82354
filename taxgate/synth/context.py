"""What the request generator knows about the population: pools and collision checks.

Truth labels must be unarguable, so a record is only used for a category when no
*other* taxpayer could make the answer different: no one else with the same
given-name class and a shared surname has their address of record in the same
building ("crowded" addresses are left to the household categories).
"""

from __future__ import annotations

from functools import cached_property

import numpy as np

from taxgate.synth.places import building, member
from taxgate.synth.population import Population

_C1 = np.uint64(0x9E3779B97F4A7C15)
_C2 = np.uint64(0xBF58476D1CE4E5B9)
_C3 = np.uint64(0x94D049BB133111EB)


def name_keys(bld: np.ndarray, gclass: np.ndarray, sur: np.ndarray) -> np.ndarray:
    """A 64-bit hash of (building, given-name class, surname); wraps on purpose."""
    with np.errstate(over="ignore"):
        h = bld.astype(np.uint64) * _C1 ^ gclass.astype(np.uint64) * _C2
        return h ^ (sur.astype(np.uint64) + np.uint64(1)) * _C3


class Pool:
    """Draws ids without replacement until exhausted, then starts a new shuffled round."""

    def __init__(self, rng: np.random.Generator, ids: np.ndarray) -> None:
        self.rng, self.ids, self.pos = rng, rng.permutation(ids), 0

    def take(self, n: int) -> np.ndarray:
        if len(self.ids) == 0:
            return np.zeros(0, np.int64)
        out = []
        while n > 0:
            if self.pos >= len(self.ids):
                self.ids, self.pos = self.rng.permutation(self.ids), 0
            k = min(n, len(self.ids) - self.pos)
            out.append(self.ids[self.pos:self.pos + k])
            self.pos, n = self.pos + k, n - k
        return np.concatenate(out) if out else np.zeros(0, np.int64)


class Context:
    """Address of record, last known address, residents' name keys and person pools."""

    def __init__(self, pop: Population, periods: list[int], rng: np.random.Generator) -> None:
        self.pop, self.rng, self.periods = pop, rng, periods
        p = pop.people
        self.gclass = pop.tables.given.gclass[p.given]
        self.tin_now = pop.current_tin()
        self.itin_filed = pop.filed_under_itin()
        self.aor = pop.address_of_record(periods)
        self.lka = pop.last_known()
        has = self.aor >= 0
        self.aor_key = np.full(pop.n_people, -1, np.int64)
        self.aor_key[has] = pop.filing_address_key(self.aor[has])
        bld = building(self.aor_key)
        residents = np.flatnonzero(has)
        k1 = name_keys(bld[residents], self.gclass[residents], p.sur1[residents])
        s2 = p.sur2[residents]
        two = residents[(s2 >= 0) & (s2 != p.sur1[residents])]  # one key per (person, name)
        k2 = name_keys(bld[two], self.gclass[two], p.sur2[two])
        self.keys, counts = np.unique(np.r_[k1, k2], return_counts=True)
        crowd = np.zeros(pop.n_people, np.int64)
        for who, k in ((residents, k1), (two, k2)):
            c = counts[np.searchsorted(self.keys, k)]
            crowd[who] = np.maximum(crowd[who], c)
        self.crowd = crowd
        ok = has & (crowd == 1)
        self.confirm = Pool(rng, np.flatnonzero(ok & ~p.hold))
        self.held = Pool(rng, np.flatnonzero(ok & p.hold))
        jr = np.flatnonzero(p.father >= 0)
        f = p.father[jr]
        pair_ok = ((self.aor[jr] >= 0) & (self.aor[f] >= 0) & (self.aor_key[jr] == self.aor_key[f])
                   & (crowd[jr] == 2) & (crowd[f] == 2) & ~p.hold[jr] & ~p.hold[f])
        self.pairs = Pool(rng, jr[pair_ok])
        both_dob = pair_ok & p.dob_shown[jr] & p.dob_shown[f]
        self.pairs_dob = Pool(rng, jr[both_dob])

    @cached_property
    def all_buildings(self) -> np.ndarray:
        """Sorted building keys of every address anyone ever filed from."""
        return np.sort(building(self.pop.history.addresses.key()))

    def occupied(self, bld: np.ndarray, person_like: np.ndarray) -> np.ndarray:
        """True where someone whose name overlaps ``person_like``'s lives in ``bld`` on record."""
        p = self.pop.people
        g = self.gclass[person_like]
        hit = member(self.keys, name_keys(bld, g, p.sur1[person_like]))
        s2 = p.sur2[person_like]
        return hit | ((s2 >= 0) & member(self.keys, name_keys(bld, g, s2)))

    def occupied_by_name(self, bld: np.ndarray, gclass: np.ndarray, sur1: np.ndarray,
                         sur2: np.ndarray) -> np.ndarray:
        hit = member(self.keys, name_keys(bld, gclass, sur1))
        return hit | ((sur2 >= 0) & member(self.keys, name_keys(bld, gclass, sur2)))
