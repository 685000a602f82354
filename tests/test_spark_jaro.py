"""The Spark engine's Jaro-Winkler equals DuckDB's ``jaro_winkler_similarity`` (issue 5)."""

from __future__ import annotations

import random
import string

import duckdb

from taxgate.matching.jaro import jaro_winkler

NAMES = ["JOHNSON", "JOHSON", "GARCIA", "GARCIA LOPEZ", "HERNANDEZ", "MUÑOZ", "NGUYEN",
         "RODRIGUEZ", "MARIA", "MA", "JOSE LUIS", "GUADALUPE", "A", "B", "", "WILLIAM",
         "VICTOR", "VICOTR", "DE LA CRUZ", "SÁNCHEZ JR"]


def _variants(rng: random.Random, name: str) -> str:
    chars = list(name)
    for _ in range(rng.randint(1, 3)):
        k = rng.randrange(len(chars) + 1)
        op = rng.randint(0, 2)
        if op == 0:
            chars.insert(k, rng.choice(string.ascii_uppercase))
        elif op == 1 and chars:
            chars.pop(min(k, len(chars) - 1))
        elif k < len(chars) - 1:
            chars[k], chars[k + 1] = chars[k + 1], chars[k]
    return "".join(chars)


def test_jaro_winkler_equals_duckdb() -> None:
    rng = random.Random(5)
    pairs = [(a, b) for a in NAMES for b in NAMES]
    pairs += [(a, _variants(rng, a)) for a in NAMES for _ in range(200)]
    con = duckdb.connect()
    con.execute("CREATE TABLE p (a VARCHAR, b VARCHAR)")
    con.executemany("INSERT INTO p VALUES (?, ?)", pairs)
    rows = con.execute("SELECT a, b, jaro_winkler_similarity(a, b) FROM p").fetchall()
    bad = [(a, b, x, jaro_winkler(a, b)) for a, b, x in rows
           if abs(x - (jaro_winkler(a, b) or 0.0)) > 1e-12]
    assert not bad, bad[:5]
    assert jaro_winkler(None, "A") is None
