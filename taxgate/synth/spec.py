"""Record specs: the numeric description of request records before they are text.

A spec is a dict of equal-length numpy arrays (SPEC_FIELDS). Category builders make
specs, noise edits them, :func:`render_spec` turns them into the contract's name,
address, DOB and TIN columns.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from taxgate.synth.places import Addresses
from taxgate.synth.population import Population
from taxgate.synth.render import ZIP4_DASH, ZIP4_PLAIN, date_text, render_address, render_names
from taxgate.synth.render import tin_text as tin_text
from taxgate.synth.tables import VARIANT_KINDS, Tables

Spec = dict[str, np.ndarray]
NAME_FIELDS = ("given", "middle", "mstyle", "sur1", "sur2", "sstyle", "suffix", "accents", "title")
ADDRESS_FIELDS = ("zip_idx", "number", "street", "predir", "stype", "postdir", "unit", "zip4")
STYLE_FIELDS = ("style", "udesig", "unit_in_street", "zip4_mode", "unit_shown")
OTHER_FIELDS = ("person", "addr_key", "dob", "dob_missing", "dob_swap", "tin", "variant",
                "typo", "swap_gf", "true_tin", "noise")


def concat(specs: list[Spec]) -> Spec:
    specs = [s for s in specs if len(s["person"])]
    return {k: np.concatenate([s[k] for s in specs]) for k in specs[0]}


def take(spec: Spec, idx: np.ndarray) -> Spec:
    return {k: v[idx] for k, v in spec.items()}


def set_address(spec: Spec, a: Addresses) -> None:
    for k in ADDRESS_FIELDS:
        spec[k] = getattr(a, k).copy()
    spec["addr_key"] = a.key()


def random_style(rng: np.random.Generator, spec: Spec) -> None:
    """How a requester writes an address it typed itself: mostly Pub 28 upper case."""
    n = len(spec["person"])
    spec["style"] = rng.choice(4, n, p=[0.7, 0.15, 0.1, 0.05]).astype(np.int8)
    spec["udesig"] = rng.choice(4, n, p=[0.6, 0.25, 0.1, 0.05]).astype(np.int8)
    spec["unit_in_street"] = rng.random(n) < 0.1
    spec["zip4_mode"] = np.where(rng.random(n) < 0.1, ZIP4_PLAIN, 0).astype(np.int8)
    spec["unit_shown"] = np.ones(n, bool)


def filed_surname_style(pop: Population, filing: np.ndarray) -> np.ndarray:
    """The surname style shown on each filing (a few filings swap one/both surnames)."""
    own = pop.people.sstyle[pop.filings.person[filing]]
    return np.where(pop.filings.alt_surname[filing], np.where(own == 0, 1, 0), own)


def from_person(
    rng: np.random.Generator, pop: Population, person: np.ndarray, filing: np.ndarray
) -> Spec:
    """Records for ``person`` written exactly as on ``filing``: name, address, style."""
    p, f = pop.people, pop.filings
    n = len(person)
    sstyle = filed_surname_style(pop, filing)
    spec: Spec = {
        "person": person.astype(np.int64),
        "given": p.given[person], "middle": p.middle[person], "mstyle": p.mstyle[person].copy(),
        "sur1": p.sur1[person], "sur2": p.sur2[person], "sstyle": sstyle.astype(np.int8),
        "suffix": p.suffix[person].copy(), "accents": p.accents[person].copy(),
        "title": f.title[filing].copy(),
        "style": f.style[filing].copy(), "udesig": f.udesig[filing].copy(),
        "unit_in_street": f.unit_in_street[filing].copy(),
        "zip4_mode": np.where(f.zip4_mode[filing] == ZIP4_DASH, ZIP4_PLAIN, 0).astype(np.int8),
        "unit_shown": np.ones(n, bool),
        "dob": p.dob[person].copy(), "dob_missing": rng.random(n) < 0.15,
        "dob_swap": np.zeros(n, bool),
        "tin": np.where(rng.random(n) < 0.25, pop.current_tin()[person], 0),
        "variant": np.full(n, -1, np.int64), "typo": np.zeros(n, np.int8),
        "swap_gf": np.zeros(n, bool), "true_tin": pop.current_tin()[person],
        "noise": np.zeros(n, np.int64),
    }
    set_address(spec, pop.history.addresses.take(f.slot[filing]))
    return spec


def variant_pool(t: Tables) -> tuple[pa.Array, dict[str, np.ndarray]]:
    """All variant strings in one array, and per kind the offset of each name's list."""
    arrays, offsets, base = [], {}, 0
    for kind in VARIANT_KINDS:
        v = t.variants[kind]
        arrays.append(v.strings)
        offsets[kind] = v.offsets + base
        base += len(v.strings)
    return pa.concat_arrays(arrays), offsets


def _typo(word: str, r: float) -> str:
    """One keyboard slip: a doubled, dropped, swapped or replaced letter after the first."""
    if len(word) < 4:
        return word
    i = 1 + int(r * 7919) % (len(word) - 2)
    op = int(r * 4)
    if op == 0:
        return word[:i] + word[i] + word[i:]
    if op == 1:
        return word[:i] + word[i + 1:]
    if op == 2:
        return word[:i] + word[i + 1] + word[i] + word[i + 2:]
    return word[:i] + ("E" if word[i] != "E" else "A") + word[i + 1:]


def _put(arr: pa.Array, idx: np.ndarray, values: list | pa.Array) -> pa.Array:
    if len(idx) == 0:
        return arr
    mask = np.zeros(len(arr), bool)
    mask[idx] = True
    order = np.argsort(idx, kind="stable")
    vals = pa.array(values, pa.string()) if isinstance(values, list) else values
    return pc.replace_with_mask(arr, pa.array(mask), vals.take(pa.array(order)))


def render_spec(t: Tables, spec: Spec, rng: np.random.Generator) -> dict[str, pa.Array]:
    """Name, address, DOB and TIN columns of the request records."""
    mstyle = np.where((spec["variant"] >= 0) & (spec["mstyle"] == 3), 1, spec["mstyle"])
    cols = render_names(t, **{k: spec[k] for k in NAME_FIELDS if k != "mstyle"}, mstyle=mstyle)
    pool, _ = variant_pool(t)
    vi = np.flatnonzero(spec["variant"] >= 0)
    if len(vi):
        v = pool.take(pa.array(spec["variant"][vi]))
        v = pc.if_else(pa.array(spec["title"][vi]), pc.utf8_title(v), v)
        cols["first_name"] = _put(cols["first_name"], vi, v)
    for code, col in ((1, "first_name"), (2, "last_name")):
        ti = np.flatnonzero(spec["typo"] == code)
        words = cols[col].take(pa.array(ti)).to_pylist()
        r = rng.random(len(ti))
        cols[col] = _put(cols[col], ti, [_typo(w, x) for w, x in zip(words, r, strict=True)])
    si = np.flatnonzero(spec["swap_gf"])
    if len(si):
        first, last = cols["first_name"].take(pa.array(si)), cols["last_name"].take(pa.array(si))
        cols["first_name"] = _put(cols["first_name"], si, last)
        cols["last_name"] = _put(cols["last_name"], si, first)
    unit = np.where(spec["unit_shown"], spec["unit"], 0)
    cols.update(render_address(
        t, **{k: spec[k] for k in ADDRESS_FIELDS if k != "unit"}, unit=unit,
        **{k: spec[k] for k in STYLE_FIELDS if k != "unit_shown"},
    ))
    dob = date_text(spec["dob"], spec["dob_missing"])
    swap = np.flatnonzero(spec["dob_swap"] & ~spec["dob_missing"])
    if len(swap):
        d = dob.take(pa.array(swap))
        swapped = pc.binary_join_element_wise(
            pc.utf8_slice_codeunits(d, 0, 5), pc.utf8_slice_codeunits(d, 8, 10),
            pc.utf8_slice_codeunits(d, 4, 5), pc.utf8_slice_codeunits(d, 5, 7), "",
        )
        dob = _put(dob, swap, swapped)
    cols["date_of_birth"] = dob
    cols["tin"] = tin_text(spec["tin"])
    return cols
