"""The generator's lookup tables: names, name variants, streets, ZIP codes.

Read once from ``taxgate/data/synth_*.csv`` on first use (never at import time)
and held as numpy / pyarrow arrays so that a column is built with one ``take``.
"""

from __future__ import annotations

import csv
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import pyarrow as pa

DATA = Path(__file__).resolve().parent.parent / "data"
ORIGINS = ("es", "en", "ot")  # Spanish-language, English, other
VARIANT_KINDS = ("hypocorism", "anglicized", "nickname")


def fold(text: str) -> str:
    """Upper case without accents: the ASCII form a name is often filed in."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).upper()


def _rows(name: str) -> list[dict[str, str]]:
    with (DATA / name).open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


@dataclass(frozen=True)
class NameTable:
    """Given names or surnames: plain and accented forms, origin, weight."""

    ascii: pa.Array
    accented: pa.Array
    has_accent: np.ndarray
    origin: np.ndarray
    weight: np.ndarray
    male: np.ndarray  # given names only; all False for surnames
    gclass: np.ndarray  # cross-language class id (JUAN and JOHN share one)


@dataclass(frozen=True)
class Variants:
    """Given-name variants of one kind as CSR lists: name index -> variant strings."""

    offsets: np.ndarray
    strings: pa.Array

    def count(self, idx: np.ndarray) -> np.ndarray:
        return self.offsets[idx + 1] - self.offsets[idx]


@dataclass(frozen=True)
class Tables:
    given: NameTable
    surnames: NameTable
    variants: dict[str, Variants]
    street_name: pa.Array
    street_spelled: pa.Array
    street_weight: np.ndarray
    zip5: pa.Array
    zip_int: np.ndarray
    city: pa.Array
    state: pa.Array
    state_id: np.ndarray
    zip_weight: np.ndarray


def _name_table(rows: list[dict[str, str]], gclass: np.ndarray | None = None) -> NameTable:
    asc = [r["name"] for r in rows]
    acc = [r["accented"] for r in rows]
    return NameTable(
        ascii=pa.array(asc),
        accented=pa.array(acc),
        has_accent=np.array([a != b for a, b in zip(asc, acc, strict=True)]),
        origin=np.array([ORIGINS.index(r["origin"]) for r in rows], dtype=np.int8),
        weight=np.array([float(r["weight"]) for r in rows]),
        male=np.array([r.get("sex") == "M" for r in rows]),
        gclass=gclass if gclass is not None else np.arange(len(rows), dtype=np.int32),
    )


def _classes(names: list[str], pairs: list[tuple[str, str]]) -> np.ndarray:
    """Union-find over cross-language pairs whose both sides are given names."""
    parent = {n: n for n in names}

    def find(x: str) -> str:
        while parent[x] != x:
            x = parent[x]
        return x

    for a, b in pairs:
        if a in parent and b in parent:
            parent[find(b)] = find(a)
    roots = sorted({find(n) for n in names})
    rid = {r: i for i, r in enumerate(roots)}
    return np.array([rid[find(n)] for n in names], dtype=np.int32)


@lru_cache(maxsize=1)
def load_tables() -> Tables:
    """Read every synth_* table (cached)."""
    grows = _rows("synth_given_names.csv")
    vrows = _rows("synth_name_variants.csv")
    names = [r["name"] for r in grows]
    pairs = [(r["name"], r["variant"]) for r in vrows if r["kind"] != "hypocorism"]
    given = _name_table(grows, _classes(names, pairs))
    variants: dict[str, Variants] = {}
    for kind in VARIANT_KINDS:
        lists: list[list[str]] = [[] for _ in names]
        for r in vrows:
            if r["kind"] == kind:
                for i, n in enumerate(names):
                    if n == r["name"]:
                        lists[i].append(r["variant"])
        offsets = np.zeros(len(names) + 1, dtype=np.int64)
        offsets[1:] = np.cumsum([len(v) for v in lists])
        variants[kind] = Variants(offsets, pa.array([v for vs in lists for v in vs], pa.string()))
    srows = _rows("synth_streets.csv")
    zrows = _rows("synth_zips.csv")
    states = sorted({r["state"] for r in zrows})
    return Tables(
        given=given,
        surnames=_name_table(_rows("synth_surnames.csv")),
        variants=variants,
        street_name=pa.array([r["name"] for r in srows]),
        street_spelled=pa.array([r["spelled"] for r in srows]),
        street_weight=np.array([float(r["weight"]) for r in srows]),
        zip5=pa.array([r["zip"] for r in zrows]),
        zip_int=np.array([int(r["zip"]) for r in zrows], dtype=np.int32),
        city=pa.array([r["city"] for r in zrows]),
        state=pa.array([r["state"] for r in zrows]),
        state_id=np.array([states.index(r["state"]) for r in zrows], dtype=np.int16),
        zip_weight=np.array([float(r["weight"]) for r in zrows]),
    )


def weighted(rng: np.random.Generator, weights: np.ndarray, size: int) -> np.ndarray:
    """Indices drawn with probability proportional to ``weights``."""
    cum = np.cumsum(weights, dtype=np.float64)
    return np.searchsorted(cum, rng.random(size) * cum[-1], side="right").astype(np.int64)
