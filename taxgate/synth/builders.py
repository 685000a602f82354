"""One builder per category that is not a deficiency: specs with known truth.

Each takes the context and a count and returns a spec of at most that many
records (fewer only when the population has too few candidates of that kind).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from taxgate.synth.context import Context
from taxgate.synth.noise import apply_noise
from taxgate.synth.people import ORIGIN_SHARE, REF_DAY, _draw_given, _draw_surname
from taxgate.synth.places import building, fresh_addresses
from taxgate.synth.spec import (
    Spec,
    filed_surname_style,
    from_person,
    random_style,
    set_address,
    take,
)

Builder = Callable[[Context, int], Spec]
MAX_ROUNDS = 6


def _filtered(ctx: Context, n: int, make: Callable[[int], tuple[Spec, np.ndarray]]) -> Spec:
    """Call ``make`` with oversampling until ``n`` records pass its keep-mask."""
    parts: list[Spec] = []
    have = 0
    for _ in range(MAX_ROUNDS):
        if have >= n:
            break
        spec, keep = make(int((n - have) * 1.3) + 8)
        spec = take(spec, np.flatnonzero(keep)[: n - have])
        parts.append(spec)
        have += len(spec["person"])
    return _concat_or_empty(ctx, parts)


def _concat_or_empty(ctx: Context, parts: list[Spec]) -> Spec:
    from taxgate.synth.spec import concat

    nonempty = [p for p in parts if len(p["person"])]
    if nonempty:
        return concat(nonempty)
    return take(from_person(ctx.rng, ctx.pop, np.zeros(1, np.int64), np.zeros(1, np.int64)),
                np.zeros(0, np.int64))


def clean_match(ctx: Context, n: int) -> Spec:
    who = ctx.confirm.take(n)
    return from_person(ctx.rng, ctx.pop, who, ctx.aor[who])


def noisy_match(ctx: Context, n: int) -> Spec:
    s = clean_match(ctx, n)
    apply_noise(ctx.rng, ctx, s)
    return s


def disclosure_hold(ctx: Context, n: int) -> Spec:
    who = ctx.held.take(n)
    return from_person(ctx.rng, ctx.pop, who, ctx.aor[who])


def _household(ctx: Context, n: int, with_dob: bool) -> Spec:
    jr = (ctx.pairs_dob if with_dob else ctx.pairs).take(n)
    father = ctx.pop.people.father[jr]
    who = np.where(ctx.rng.random(len(jr)) < 0.5, jr, father)
    s = from_person(ctx.rng, ctx.pop, who, ctx.aor[who])
    s["suffix"][:] = 0
    s["tin"][:] = 0
    s["dob_missing"][:] = not with_dob
    return s


def household_namesake_dob(ctx: Context, n: int) -> Spec:
    return _household(ctx, n, True)


def ambiguous_household(ctx: Context, n: int) -> Spec:
    return _household(ctx, n, False)


def _from_filings(ctx: Context, n: int, filing_of: np.ndarray) -> Spec:
    """Persons with a usable filing (``filing_of`` >= 0), written from that filing."""
    pool = np.flatnonzero(filing_of >= 0)

    def make(k: int) -> tuple[Spec, np.ndarray]:
        who = pool[ctx.rng.integers(0, len(pool), k)] if len(pool) else pool
        s = from_person(ctx.rng, ctx.pop, who, filing_of[who])
        return s, ~ctx.occupied(building(s["addr_key"]), who)

    return _filtered(ctx, n, make)


def old_address(ctx: Context, n: int) -> Spec:
    f = ctx.pop.filings
    bld = ctx.pop.building_key(np.arange(ctx.pop.n_filings))
    ok = (ctx.aor[f.person] >= 0) & (bld != building(ctx.aor_key[f.person]))
    ok &= ~ctx.pop.people.hold[f.person] & (ctx.crowd[f.person] == 1)
    cand = ctx.rng.permutation(np.flatnonzero(ok))
    person, first = np.unique(f.person[cand], return_index=True)
    filing_of = np.full(ctx.pop.n_people, -1, np.int64)
    filing_of[person] = cand[first]
    return _from_filings(ctx, n, filing_of)


def lka_outside_periods(ctx: Context, n: int) -> Spec:
    has = (ctx.aor >= 0) & (ctx.lka >= 0)
    lka_bld = np.full(ctx.pop.n_people, -1, np.int64)
    lka_bld[has] = ctx.pop.building_key(ctx.lka[has])
    ok = has & (lka_bld != building(ctx.aor_key)) & ~ctx.pop.people.hold
    return _from_filings(ctx, n, np.where(ok, ctx.lka, -1))


def no_filing_in_periods(ctx: Context, n: int) -> Spec:
    ok = (ctx.aor < 0) & (ctx.lka >= 0) & ~ctx.pop.people.hold
    return _from_filings(ctx, n, np.where(ok, ctx.lka, -1))


def wrong_address(ctx: Context, n: int) -> Spec:
    pop, rng = ctx.pop, ctx.rng
    residents = np.flatnonzero(ctx.aor >= 0)
    zip_of = pop.history.addresses.zip_idx[pop.filings.slot[ctx.aor[residents]]]
    order = np.argsort(zip_of, kind="stable")
    residents, zip_of = residents[order], zip_of[order]

    def make(k: int) -> tuple[Spec, np.ndarray]:
        s = clean_match(ctx, k)
        lo = np.searchsorted(zip_of, s["zip_idx"], "left")
        hi = np.searchsorted(zip_of, s["zip_idx"], "right")
        pick = np.minimum(lo + (rng.random(k) * (hi - lo)).astype(int), len(residents) - 1)
        other = residents[pick]
        made = fresh_addresses(rng, pop.tables, s["zip_idx"], _all_buildings(ctx))
        use_other = (rng.random(k) < 0.7) & (other != s["person"])
        a = pop.history.addresses.take(pop.filings.slot[ctx.aor[other]])
        for f in ("zip_idx", "number", "street", "predir", "stype", "postdir", "unit", "zip4"):
            getattr(made, f)[use_other] = getattr(a, f)[use_other]
        set_address(s, made)
        random_style(rng, s)
        keep = ~ctx.occupied(building(s["addr_key"]), s["person"])
        return s, keep & (building(s["addr_key"]) != building(ctx.aor_key[s["person"]]))

    return _filtered(ctx, n, make)


def _all_buildings(ctx: Context) -> np.ndarray:
    return ctx.all_buildings


def _template(ctx: Context, k: int) -> Spec:
    """Specs of random taxpayers at their address of record, without using up a pool."""
    who = np.flatnonzero(ctx.aor >= 0)
    who = who[ctx.rng.integers(0, len(who), k)]
    return from_person(ctx.rng, ctx.pop, who, ctx.aor[who])


def wrong_unit(ctx: Context, n: int) -> Spec:
    pop = ctx.pop
    unit = np.zeros(pop.n_people, np.int64)
    has = ctx.aor >= 0
    unit[has] = pop.history.addresses.unit[pop.filings.slot[ctx.aor[has]]]
    pool = np.flatnonzero((unit > 0) & (ctx.crowd == 1) & ~pop.people.hold)

    def make(k: int) -> tuple[Spec, np.ndarray]:
        who = pool[ctx.rng.integers(0, len(pool), k if len(pool) else 0)]
        s = from_person(ctx.rng, pop, who, ctx.aor[who])
        k = len(who)
        step = ctx.rng.choice(np.array([-2, -1, 1, 2]), k)
        s["unit"] = np.where(s["unit"] + step >= 1, s["unit"] + step, s["unit"] + 3)
        s["addr_key"] = (s["addr_key"] >> 9 << 9) + s["unit"]
        s["unit_shown"][:] = True
        return s, np.ones(k, bool)

    return _filtered(ctx, n, make)


def _fictional(ctx: Context, n: int) -> Spec:
    """People who never filed, at made-up addresses in the population's ZIPs."""
    pop, rng, t = ctx.pop, ctx.rng, ctx.pop.tables
    s = _template(ctx, n)
    k = len(s["person"])
    origin = rng.choice(3, k, p=ORIGIN_SHARE).astype(np.int8)
    male = rng.random(k) < 0.6
    s["given"], s["middle"] = _draw_given(rng, t, origin, male), np.full(k, -1)
    s["mstyle"][:] = 0
    s["sur1"] = _draw_surname(rng, t, origin)
    s["sur2"] = np.where(origin == 0, _draw_surname(rng, t, origin), -1)
    s["sstyle"] = rng.choice(3, k, p=[0.5, 0.42, 0.08]).astype(np.int8)
    s["suffix"][:] = 0
    s["accents"][:] = False
    s["dob"] = REF_DAY - rng.integers(19 * 365, 70 * 365, k)
    s["tin"][:] = 0
    s["true_tin"][:] = 0
    s["person"][:] = -1
    set_address(s, fresh_addresses(rng, t, pop.universe.sample(rng, k), _all_buildings(ctx)))
    random_style(rng, s)
    return s


def not_in_records(ctx: Context, n: int) -> Spec:
    return _fictional(ctx, n)


def lookalike_not_in_records(ctx: Context, n: int) -> Spec:
    """A non-filer named exactly like a taxpayer, elsewhere in the same ZIP, other DOB."""
    pop, rng = ctx.pop, ctx.rng
    s = _fictional(ctx, n)
    k = len(s["person"])
    q = np.flatnonzero(ctx.aor >= 0)[rng.integers(0, int((ctx.aor >= 0).sum()), k)]
    p = pop.people
    for f in ("given", "middle", "mstyle", "sur1", "sur2", "accents"):
        s[f] = getattr(p, f)[q].copy()
    s["sstyle"] = filed_surname_style(pop, ctx.aor[q]).astype(np.int8)
    zip_idx = pop.history.addresses.zip_idx[pop.filings.slot[ctx.aor[q]]]
    set_address(s, fresh_addresses(rng, pop.tables, zip_idx, _all_buildings(ctx)))
    years = rng.integers(2, 20, k) * np.where(rng.random(k) < 0.5, -1, 1)
    dob = p.dob[q] + years * 365 + rng.integers(1, 300, k)
    s["dob"] = np.where(dob > REF_DAY - 19 * 365, p.dob[q] - years * 365, dob)
    s["dob_missing"][:] = False
    return s


BUILDERS: dict[str, Builder] = {
    "clean_match": clean_match, "noisy_match": noisy_match,
    "household_namesake_dob": household_namesake_dob, "ambiguous_household": ambiguous_household,
    "old_address": old_address, "lka_outside_periods": lka_outside_periods,
    "no_filing_in_periods": no_filing_in_periods, "wrong_address": wrong_address,
    "wrong_unit": wrong_unit, "not_in_records": not_in_records,
    "lookalike_not_in_records": lookalike_not_in_records, "disclosure_hold": disclosure_hold,
    "single_word_name": not_in_records,
}
