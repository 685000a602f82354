"""Name relations taken from the public tables: one-letter pairs across the sexes,
unrelated given names, particle surnames."""

from __future__ import annotations

from functools import cache

import numpy as np

from bench.nearmiss.sources import Tables, load

MIN_PERCENT = 0.003   # census frequency (percent of one sex) for a name to count as established
DOMINANCE = 20        # a name is of one sex when the other sex uses it 20 times less


def one_letter_apart(a: str, b: str) -> bool:
    """One substitution, insertion or deletion."""
    if a == b or abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        return sum(x != y for x, y in zip(a, b, strict=True)) == 1
    s, long_ = (a, b) if len(a) < len(b) else (b, a)
    return any(long_[:i] + long_[i + 1:] == s for i in range(len(long_)))


def levenshtein(a: str, b: str) -> int:
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


@cache
def cross_sex_pairs() -> tuple[tuple[str, str, float], ...]:
    """(male name, female name, weight): established names of opposite sexes one letter
    apart (JOHN/JOAN, PAUL/PAULA, MARIO/MARIA), most frequent first."""
    t = load()
    m, f = dict(t.male), dict(t.female)
    men = [n for n, x in t.male if x >= MIN_PERCENT and f.get(n, 0) < x / DOMINANCE]
    women = [n for n, x in t.female if x >= MIN_PERCENT and m.get(n, 0) < x / DOMINANCE]
    index: dict[str, set[str]] = {}   # every one-edit key of a woman's name -> names
    for b in women:
        for key in _edit_keys(b):
            index.setdefault(key, set()).add(b)
    pairs = {(a, b, min(m[a], f[b])) for a in men for key in _edit_keys(a)
             for b in index.get(key, ()) if one_letter_apart(a, b)}
    return tuple(sorted(pairs, key=lambda p: (-p[2], p[0], p[1])))


def _edit_keys(name: str) -> set[str]:
    """Keys two names one edit apart share: the name, each letter deleted, each wildcard."""
    keys = {name}
    for i in range(len(name)):
        keys |= {name[:i] + name[i + 1:], name[:i] + "*" + name[i + 1:]}
    return keys


@cache
def _product_nicknames() -> frozenset[tuple[str, str]]:
    """The nicknames package's pairs, used only to *exclude* related names."""
    try:
        from importlib import resources
        text = resources.files("nicknames").joinpath("names.csv").read_text(encoding="utf-8")
    except (ModuleNotFoundError, FileNotFoundError):
        return frozenset()
    out = set()
    for line in text.splitlines()[1:]:
        a, _, b = line.upper().split(",")
        out |= {(a, b), (b, a)}
    return frozenset(out)


@cache
def _equivalents() -> dict[str, frozenset[str]]:
    """Every name's equivalents in either table (nam_dict.txt, the nicknames package)."""
    graph: dict[str, set[str]] = {}
    for a, b in load().related | _product_nicknames():
        graph.setdefault(a, set()).add(b)
    return {k: frozenset(v) for k, v in graph.items()}


def skeleton(name: str) -> str:
    """The consonants of a name as they sound, PH as F and a hard C as K, each once:
    PHILIP and FELIPE are both FLP, CARL and KARL both KRL."""
    s = name.replace("PH", "F").replace("CK", "K")
    s = "".join("K" if c == "C" and s[i + 1:i + 2] not in ("E", "I", "Y") else c
                for i, c in enumerate(s))
    out = ""
    for c in s:
        if c not in "AEIOUYHW" and not out.endswith(c):
            out += c
    return out


def related(a: str, b: str, t: Tables | None = None) -> bool:
    """Could ``b`` be the same person's given name as ``a`` by any table or spelling? The
    tables' equivalences count once removed too (BOB and ROBERTO are both ROB), and so
    do two spellings of one sound in two languages (PHILIP, FELIPE)."""
    t = t or load()
    eq = _equivalents()
    return (a[0] == b[0] or levenshtein(a, b) <= 2 or (a, b) in t.related
            or (a, b) in _product_nicknames()
            or bool(eq.get(a, frozenset()) & (eq.get(b, frozenset()) | {b}))
            or skeleton(a) == skeleton(b))


def unrelated_given(rng: np.random.Generator, avoid: list[str], sex: str | None = None,
                    top: int = 300) -> str:
    """A frequent census given name unrelated to every name in ``avoid``."""
    t = load()
    pool = [n for n, _ in (t.male[:top] if sex == "M" else t.female[:top] if sex == "F"
                           else t.male[:top] + t.female[:top])]
    avoid = [a for a in avoid if a]
    while True:
        cand = pool[int(rng.integers(len(pool)))]
        if all(not related(cand, a, t) for a in avoid):
            return cand


@cache
def particle_surnames() -> tuple[tuple[str, str], ...]:
    """(particle, rest) for census surnames that are a Spanish particle joined to another
    census surname (DELACRUZ -> DE LA + CRUZ); a bare DE only before a Spanish given name
    (DEJESUS), and DEL not before L or a vowel (not DELLINGER)."""
    t = load()
    known = {n for n, _ in t.surnames}
    out = []
    for s, _ in t.surnames:
        for joined, particle in (("DELOS", "DE LOS"), ("DELAS", "DE LAS"), ("DELA", "DE LA"),
                                 ("DEL", "DEL"), ("DE", "DE")):
            rest = s[len(joined):]
            if not s.startswith(joined) or rest not in known or len(rest) < 4:
                continue
            if (joined == "DEL" and rest[0] in "LAEIOU") or (
                    joined == "DE" and rest not in t.spanish_given):
                continue
            out.append((particle, rest))
            break
    return tuple(out)


def sex_of(name: str) -> str:
    t = load()
    return "M" if dict(t.male).get(name, 0) >= dict(t.female).get(name, 0) else "F"
