"""Tiny helpers that write SQL text: literals, lists, CASE maps, regex alternations."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping


def lit(value: str) -> str:
    """A SQL string literal."""
    return "'" + value.replace("'", "''") + "'"


def sql_list(values: Iterable[str]) -> str:
    """A SQL list literal of strings: ``['A', 'B']``."""
    return "[" + ", ".join(lit(v) for v in values) + "]::VARCHAR[]"


def sql_case(expr: str, table: Mapping[str, str], default: str) -> str:
    """``CASE expr WHEN k THEN v ... ELSE default END`` for a small mapping."""
    whens = " ".join(f"WHEN {lit(k)} THEN {lit(v)}" for k, v in table.items())
    return f"(CASE {expr} {whens} ELSE {default} END)"


def alternation(values: Iterable[str]) -> str:
    """A regex alternation, longest first so a longer word wins (``APARTMENT`` before ``APT``)."""
    words = sorted(set(values), key=lambda v: (-len(v), v))
    return "(?:" + "|".join(re.escape(w).replace("\\ ", " ") for w in words) + ")"


def sql_lookup(expr: str, table: Mapping[str, str]) -> str:
    """Look ``expr`` up in a small constant mapping (NULL when absent), evaluating it once."""
    keys = sql_list(table.keys())
    values = sql_list(table.values())
    return f"({values})[list_position({keys}, {expr})]"
