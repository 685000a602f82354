"""Noise for true matches: the ways a requester writes the same person and place.

Kinds are grouped; a noisy record gets 1-3 groups and one applicable kind in each,
so two kinds never undo each other. Every kind leaves the person and the delivery
point the same under contract §3 (names agree allowing for spelling, order,
accents and real variants; same house number, street, unit where both give one,
place), so the expected outcome stays CONFIRMED.
"""

from __future__ import annotations

import numpy as np

from taxgate.synth.context import Context
from taxgate.synth.render import STYLE_SPELLED, ZIP4_PLAIN
from taxgate.synth.spec import Spec, variant_pool

# group -> ((kind, weight), ...)
NOISE_GROUPS: dict[str, tuple[tuple[str, float], ...]] = {
    "given": (("hypocorism", 3), ("anglicized", 3), ("nickname", 2)),
    "surname": (("first_surname_only", 3), ("surnames_swapped", 2), ("hyphenated", 2),
                ("second_in_column", 2), ("second_surname_only", 1)),
    "accent": (("accent_dropped", 3),),
    "typo": (("name_typo", 3),),
    "order": (("given_family_swapped", 1),),
    "middle": (("middle_initial", 1), ("middle_dropped", 1)),
    "street": (("street_style", 4),),
    "unit": (("unit_designator", 2), ("unit_missing", 2), ("unit_in_street", 1)),
    "zip": (("zip_plus4", 2),),
    "case": (("title_case", 1),),
    "dob": (("dob_day_month_swapped", 2), ("dob_missing", 2)),
    "tin": (("tin_present", 2), ("tin_old_itin", 1)),
}
NOISE_KINDS: tuple[str, ...] = tuple(k for g in NOISE_GROUPS.values() for k, _ in g)
GROUP_COUNT_SHARE = np.array([0.5, 0.35, 0.15])  # 1, 2 or 3 groups per record


def _applicable(ctx: Context, s: Spec) -> dict[str, np.ndarray]:
    t, p = ctx.pop.tables, ctx.pop.people
    g, n = s["given"], len(s["given"])
    yes = np.ones(n, bool)
    two = s["sur2"] >= 0
    acc = (t.given.has_accent[g] | t.surnames.has_accent[s["sur1"]]
           | (two & t.surnames.has_accent[np.maximum(s["sur2"], 0)]))
    dob = s["dob"].astype("datetime64[D]")
    month_start = dob.astype("datetime64[M]")
    day = (dob - month_start.astype("datetime64[D]")).astype(int) + 1
    month = (month_start - dob.astype("datetime64[Y]")).astype(int) + 1
    unit = s["unit"] > 0
    person = s["person"]
    return {
        "hypocorism": t.variants["hypocorism"].count(g) > 0,
        "anglicized": t.variants["anglicized"].count(g) > 0,
        "nickname": t.variants["nickname"].count(g) > 0,
        "first_surname_only": two & (s["sstyle"] != 0),
        "surnames_swapped": two, "hyphenated": two & (s["sstyle"] != 2),
        "second_in_column": two, "second_surname_only": two,
        "accent_dropped": s["accents"] & acc,
        "name_typo": yes, "given_family_swapped": yes,
        "middle_initial": np.isin(s["mstyle"], (1, 3)), "middle_dropped": s["mstyle"] > 0,
        "street_style": yes, "unit_designator": unit, "unit_missing": unit,
        "unit_in_street": unit, "zip_plus4": yes, "title_case": yes,
        "dob_day_month_swapped": (day <= 12) & (day != month), "dob_missing": yes,
        "tin_present": yes,
        "tin_old_itin": ctx.itin_filed[person] & (ctx.tin_now[person] != p.itin[person]),
    }


def _choose(rng: np.random.Generator, ctx: Context, s: Spec) -> np.ndarray:
    """A boolean matrix records x NOISE_KINDS of the kinds applied."""
    ok = _applicable(ctx, s)
    n = len(s["person"])
    kind_w = np.stack([ok[k] * w for g in NOISE_GROUPS.values() for k, w in g], axis=1)
    groups = list(NOISE_GROUPS.values())
    bounds = np.cumsum([0] + [len(g) for g in groups])
    spans = list(zip(bounds[:-1], bounds[1:], strict=True))
    group_w = np.stack([kind_w[:, a:b].sum(1) for a, b in spans], 1)
    with np.errstate(divide="ignore"):
        gkey = -np.log(rng.random(group_w.shape)) / group_w
    k = rng.choice(3, n, p=GROUP_COUNT_SHARE) + 1
    rank = np.argsort(np.argsort(gkey, axis=1), axis=1)
    pick_group = (rank < k[:, None]) & (group_w > 0)
    chosen = np.zeros_like(kind_w, bool)
    for gi, (a, b) in enumerate(spans):
        w = kind_w[:, a:b]
        with np.errstate(divide="ignore", invalid="ignore"):
            kk = np.argmin(-np.log(rng.random(w.shape)) / w, axis=1)
        rows = np.flatnonzero(pick_group[:, gi])
        chosen[rows, a + kk[rows]] = True
    return chosen


def apply_noise(rng: np.random.Generator, ctx: Context, s: Spec) -> None:
    """Pick and apply noise in place; ``s['noise']`` records the kinds as a bit mask."""
    chosen = _choose(rng, ctx, s)
    on = {k: chosen[:, i] for i, k in enumerate(NOISE_KINDS)}
    s["noise"] = (chosen * (np.int64(1) << np.arange(len(NOISE_KINDS), dtype=np.int64))).sum(1)
    t = ctx.pop.tables
    _, offsets = variant_pool(t)
    for kind in ("hypocorism", "anglicized", "nickname"):
        rows = np.flatnonzero(on[kind])
        cnt = t.variants[kind].count(s["given"][rows])
        pick = (rng.random(len(rows)) * cnt).astype(int)
        s["variant"][rows] = offsets[kind][s["given"][rows]] + pick
    for kind, style in (("first_surname_only", 0), ("surnames_swapped", 3), ("hyphenated", 2),
                        ("second_in_column", 5), ("second_surname_only", 4)):
        s["sstyle"][on[kind]] = style
    s["accents"][on["accent_dropped"]] = False
    typo = np.flatnonzero(on["name_typo"])
    s["typo"][typo] = np.where(rng.random(len(typo)) < 0.5, 1, 2)
    s["swap_gf"] |= on["given_family_swapped"]
    s["mstyle"][on["middle_initial"]] = 2
    s["mstyle"][on["middle_dropped"]] = 0
    st = on["street_style"]
    s["style"][st] = np.where(STYLE_SPELLED[s["style"][st]], 0, 1)
    ud = on["unit_designator"]
    s["udesig"][ud] = (s["udesig"][ud] + rng.integers(1, 4, int(ud.sum()))) % 4
    s["unit_shown"][on["unit_missing"]] = False
    s["unit_in_street"][on["unit_in_street"]] ^= True
    z = on["zip_plus4"]
    s["zip4_mode"][z] = np.where(s["zip4_mode"][z] == 0, ZIP4_PLAIN, 0)
    tc = on["title_case"]
    s["style"][tc] = np.where(STYLE_SPELLED[s["style"][tc]], 3, 2)
    s["title"][tc] = True
    s["dob_swap"] |= on["dob_day_month_swapped"]
    s["dob_missing"][on["dob_day_month_swapped"]] = False
    s["dob_missing"] |= on["dob_missing"]
    s["tin"][on["tin_present"]] = ctx.tin_now[s["person"][on["tin_present"]]]
    s["tin"][on["tin_old_itin"]] = ctx.pop.people.itin[s["person"][on["tin_old_itin"]]]


def noise_names(mask: np.ndarray) -> list[str]:
    """'+'-joined noise kinds of each bit mask (for truth.csv's detail column)."""
    uniq, inv = np.unique(mask, return_inverse=True)
    text = ["+".join(k for i, k in enumerate(NOISE_KINDS) if m >> i & 1) for m in uniq.tolist()]
    return np.array(text, dtype=object)[inv].tolist()
