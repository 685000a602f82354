"""Jaro-Winkler similarity exactly as DuckDB's ``jaro_winkler_similarity`` computes it.

The Spark engine needs it: Splink's Spark UDF (``jaro_winkler``, from its Scala jar)
counts transpositions differently, so ``JOHSON``/``JOHNSON`` scores 0.928 in DuckDB and
below 0.92 on Spark, and a record can land on another comparison level. This copy
follows DuckDB (rapidfuzz's algorithm): UTF-8 bytes, match window
``max(len) // 2 - 1``, transpositions halved and rounded down, the Winkler boost
(prefix up to 4, weight 0.1) only above 0.7, and 0.0 when either side is empty.
tests/test_spark.py checks it against DuckDB on many name pairs.

No imports: Spark ships this module to its Python workers by value.
"""


def jaro_winkler(a: str | None, b: str | None) -> float | None:
    if a is None or b is None:
        return None
    s1, s2 = a.encode("utf-8"), b.encode("utf-8")  # DuckDB compares bytes
    n1, n2 = len(s1), len(s2)
    if n1 == 0 or n2 == 0:
        return 0.0
    window = max(0, max(n1, n2) // 2 - 1)
    used = [False] * n2
    m1 = []
    for i, c in enumerate(s1):
        for j in range(max(0, i - window), min(n2, i + window + 1)):
            if not used[j] and s2[j] == c:
                used[j] = True
                m1.append(c)
                break
    m = len(m1)
    if m == 0:
        return 0.0
    m2 = [s2[j] for j in range(n2) if used[j]]
    t = sum(x != y for x, y in zip(m1, m2, strict=True)) // 2
    sim = (m / n1 + m / n2 + (m - t) / m) / 3
    if sim > 0.7:
        prefix = 0
        for x, y in zip(s1[:4], s2[:4], strict=False):
            if x != y:
                break
            prefix += 1
        sim += prefix * 0.1 * (1 - sim)
    return sim
