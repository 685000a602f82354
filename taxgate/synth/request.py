"""Request packages with known truth: :func:`generate_request`.

Records come from the category builders (builders.py) in the proportions of the
mix (mix.py), are rendered to text (spec.py), given removal-order, case and
officer fields, damaged where their category says so (deficient.py), shuffled and
numbered. The truth table travels beside the package, never inside it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from taxgate.records import REQUEST_COLUMNS
from taxgate.synth import builders
from taxgate.synth.context import Context
from taxgate.synth.deficient import FIXES, put
from taxgate.synth.mix import BY_NAME, CATEGORIES, OFFICER_OVER_CAP, allocate
from taxgate.synth.noise import noise_names
from taxgate.synth.population import Population, to_day
from taxgate.synth.render import date_text, tin_text
from taxgate.synth.spec import Spec, concat, render_spec

DEFAULT_REASON = (
    "Each listed person is subject to a final order of removal entered more than ninety days "
    "ago and is under criminal investigation for willful failure to depart under 8 U.S.C. "
    "1253(a)(1); a current address is needed to locate the person for that investigation."
)
OFFICER_CAP = 500
BULK_OFFICER_ID = "ERO999999"
TRUTH_COLUMNS = ("record_id", "category", "expected_outcome", "expected_reasons", "true_tin",
                 "detail")


@dataclass
class RequestPackage:
    """Manifest fields (unsigned), records, truth, and what the tests need to check them."""

    manifest: dict[str, Any]
    records: pa.Table
    truth: pa.Table
    signing_key: Any
    person: np.ndarray  # generator person id per record, -1 for none
    address_key: np.ndarray  # delivery-point key the record names (see places.address_key)


def _build(ctx: Context, counts: dict[str, int]) -> tuple[Spec, np.ndarray]:
    specs, cats = [], []
    for ci, c in enumerate(CATEGORIES):
        n = counts.get(c.name, 0)
        if n <= 0:
            continue
        make = builders.BUILDERS.get(c.name, builders.clean_match)
        s = make(ctx, n)
        if c.name == "deficient_tin_placeholder_address":
            s["tin"] = s["true_tin"].copy()
        if c.name == "deficient_dob_malformed":
            s["dob_missing"][:] = False
        specs.append(s)
        cats.append(np.full(len(s["person"]), ci))
        short = n - len(s["person"])
        if short > 0:  # too few candidates of this kind in a small population
            specs.append(builders.clean_match(ctx, short))
            cats.append(np.full(short, 0))
    return concat(specs), np.concatenate(cats)


def _record_fields(rng: np.random.Generator, n: int, created: int) -> dict[str, pa.Array]:
    back = rng.integers(91, 3651, n)
    back[rng.random(n) < 0.02] = 91
    order = created - back
    review = order + rng.integers(30, 701, n)
    has_review = (rng.random(n) < 0.15) & (review <= created - 91)
    a_num = pc.binary_join_element_wise(
        pa.array(["A"] * n), pc.cast(pa.array(rng.integers(10**8, 10**9, n)), pa.string()), "")
    case = pc.binary_join_element_wise(
        pa.array(["ERO"] * n), pc.cast(pa.array(order.astype("datetime64[D]").astype(
            "datetime64[Y]").astype(int) + 1970), pa.string()),
        pc.utf8_lpad(pc.cast(pa.array(rng.choice(10**7, n, replace=False)), pa.string()), 7, "0"),
        "-")
    n_officers = max(1, -(-n // 100))
    officer = pc.binary_join_element_wise(
        pa.array(["ERO"] * n),
        pc.cast(pa.array(100000 + rng.integers(0, n_officers, n)), pa.string()), "")
    return {
        "a_number": pc.if_else(pa.array(rng.random(n) < 0.75), a_num, pa.nulls(n, pa.string())),
        "removal_order_date": date_text(order),
        "judicial_review_date": date_text(review, ~has_review),
        "case_number": case,
        "officer_id": officer,
    }


def _single_word(cols: dict[str, pa.Array], idx: np.ndarray, rng: np.random.Generator) -> None:
    words = cols["last_name"].take(pa.array(idx)).to_pylist()
    firsts = cols["first_name"].take(pa.array(idx)).to_pylist()
    fnu = rng.random(len(idx)) < 0.5
    put(cols, "first_name", idx, ["FNU" if f else g.split()[0] for f, g in zip(fnu, firsts,
                                                                               strict=True)])
    put(cols, "last_name", idx, [w.split()[0] if f else "LNU" for f, w in zip(fnu, words,
                                                                              strict=True)])
    put(cols, "middle_name", idx, [None] * len(idx))
    put(cols, "second_last_name", idx, [None] * len(idx))


def _blank_null(arr: pa.Array) -> pa.Array:
    return pc.if_else(pc.equal(arr, ""), pa.nulls(len(arr), pa.string()), arr)


def generate_request(
    pop: Population, n_records: int, seed: int, *, created_at: str,
    taxable_periods: Sequence[int] = (2023, 2024, 2025), request_id: str = "ICE-2026-000123",
    official_id: str = "ice-director", signing_key: Any, mix: Mapping[str, float] | None = None,
    bulk_officer_records: int | None = None, reason: str = DEFAULT_REASON,
) -> RequestPackage:
    """A request of ``n_records`` records of every category, each with its truth.

    ``bulk_officer_records``: move that many records to one officer (more than the cap of
    500 makes them all REJECTED, OFFICER_CAPACITY). None: 600 when ``n_records`` >= 20,000.
    """
    rng = np.random.default_rng([seed, 2])
    periods = [int(y) for y in taxable_periods]
    ctx = Context(pop, periods, rng)
    spec, cat = _build(ctx, allocate(n_records, mix))
    n = len(cat)
    created = to_day(created_at)
    cols = render_spec(pop.tables, spec, rng)
    cols.update(_record_fields(rng, n, created))
    names = np.array([c.name for c in CATEGORIES])
    for ci, c in enumerate(CATEGORIES):
        idx = np.flatnonzero(cat == ci)
        if c.name in FIXES:
            FIXES[c.name](cols, idx, rng, created)
        elif c.name == "single_word_name":
            _single_word(cols, idx, rng)

    perm = rng.permutation(n)
    cols = {k: v.take(pa.array(perm)) for k, v in cols.items()}
    spec = {k: v[perm] for k, v in spec.items()}
    cat = cat[perm]
    ids = np.arange(1, n + 1)
    dup = np.flatnonzero(names[cat] == "duplicate_record_id")
    ids[dup[1::2]] = ids[dup[0::2][: len(dup[1::2])]]
    cols["record_id"] = pc.binary_join_element_wise(
        pa.array(["R"] * n, pa.string()), pc.utf8_lpad(pc.cast(pa.array(ids), pa.string()), 8, "0"),
        "")

    category = names[cat].astype(object)
    expected = np.array([c.expected for c in CATEGORIES], dtype=object)[cat]
    reasons = np.array([c.reasons for c in CATEGORIES], dtype=object)[cat]
    detail = np.array(noise_names(spec["noise"]), dtype=object)
    k = bulk_officer_records if bulk_officer_records is not None else (
        600 if n_records >= 20_000 else 0)
    if k > 0:
        free = np.flatnonzero(expected != "REJECTED")
        bulk = np.sort(rng.choice(free, min(k, len(free)), replace=False))
        put(cols, "officer_id", bulk, [BULK_OFFICER_ID] * len(bulk))
        if len(bulk) > OFFICER_CAP:
            detail[bulk] = category[bulk]
            category[bulk] = OFFICER_OVER_CAP.name
            expected[bulk] = OFFICER_OVER_CAP.expected
            reasons[bulk] = OFFICER_OVER_CAP.reasons
    records = pa.table({c: cols[c] for c in REQUEST_COLUMNS})
    truth = pa.table({
        "record_id": cols["record_id"], "category": pa.array(category, pa.string()),
        "expected_outcome": pa.array(expected, pa.string()),
        "expected_reasons": _blank_null(pa.array(reasons, pa.string())),
        "true_tin": tin_text(spec["true_tin"]),
        "detail": _blank_null(pa.array(detail, pa.string())),
    })
    manifest = {
        "contract_version": 1, "request_id": request_id, "requesting_agency": "DHS-ICE",
        "signing_official": official_id, "legal_authority": "26 U.S.C. 6103(i)(2)",
        "criminal_statute": "8 U.S.C. 1253(a)(1)", "taxable_periods": periods,
        "reason": reason, "created_at": created_at, "records_file": "records.csv",
    }
    assert set(BY_NAME) >= set(np.unique(names[cat]).tolist())
    return RequestPackage(manifest, records, truth, signing_key, spec["person"], spec["addr_key"])
