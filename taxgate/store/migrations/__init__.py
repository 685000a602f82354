"""Versioned schema migrations, one folder of numbered SQL files per dialect.

``duckdb/0001_initial.sql`` and ``postgres/0001_initial.sql`` describe the same
tables in each engine's SQL. A store applies, in order and each in its own
transaction, every file whose number is not yet in ``schema_migrations``.
Never edit a released file: add the next number.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources

DIALECTS = ("duckdb", "postgres")
_NAME = re.compile(r"(\d{4})_([a-z0-9_]+)\.sql")


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str


def migrations(dialect: str) -> list[Migration]:
    """Every migration of ``dialect``, in version order."""
    if dialect not in DIALECTS:
        raise ValueError(f"unknown dialect {dialect!r}")
    found = []
    for item in resources.files(__package__).joinpath(dialect).iterdir():
        m = _NAME.fullmatch(item.name)
        if m:
            found.append(Migration(int(m.group(1)), m.group(2), item.read_text(encoding="utf-8")))
    found.sort(key=lambda mg: mg.version)
    if [mg.version for mg in found] != list(range(1, len(found) + 1)):
        raise RuntimeError(f"{dialect} migrations are not numbered 1..n without gaps")
    return found


def applied_through(applied: set[int]) -> int:
    """The highest N such that migrations 1..N are all applied: a store missing one in
    the middle is out of date, and that one is applied next, whatever came after it."""
    n = 0
    while n + 1 in applied:
        n += 1
    return n


def latest(dialect: str) -> int:
    return len(migrations(dialect))


def statements(sql: str) -> list[str]:
    """Split a migration into statements (no ';' inside literals in our files)."""
    lines = [ln for ln in sql.splitlines() if not ln.lstrip().startswith("--")]
    return [s.strip() for s in "\n".join(lines).split(";") if s.strip()]
