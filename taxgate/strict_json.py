"""Strict JSON for documents an outside party sends (manifest.json).

Python's ``json`` accepts more than a careful reader should: a repeated key keeps
its last value silently, ``NaN`` and ``Infinity`` pass, a 5,000-digit number fails
with a bare ValueError and deep nesting with a RecursionError. :func:`loads`
refuses each of these with :class:`JSONRefused`, whose message is one line and
names no value from the document.
"""

from __future__ import annotations

import json
from typing import Any

# A manifest is an object holding one list (taxable_periods); a little room to spare.
MAX_DEPTH = 8
# The longest number literal accepted: enough for any count, year or version.
MAX_NUMBER_CHARS = 20


class JSONRefused(ValueError):
    """A document that is not strict JSON within the bounds; the message says why."""


def _number(parse: type) -> Any:
    def hook(text: str) -> Any:
        if len(text) > MAX_NUMBER_CHARS:
            raise JSONRefused(f"holds a number longer than {MAX_NUMBER_CHARS} characters")
        return parse(text)

    return hook


def _no_constant(name: str) -> Any:
    raise JSONRefused(f"holds {name}, which is not JSON")


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        raise JSONRefused("repeats a key in one object")
    return obj


def _depth(value: Any) -> int:
    """Nesting depth of a parsed value (a scalar is 0), without recursion."""
    deepest, stack = 0, [(value, 0)]
    while stack:
        item, level = stack.pop()
        children = item.values() if isinstance(item, dict) else item if isinstance(
            item, list) else None
        if children is None:
            continue
        deepest = max(deepest, level + 1)
        stack.extend((child, level + 1) for child in children)
    return deepest


def loads(data: bytes, max_depth: int = MAX_DEPTH) -> Any:
    """Parse UTF-8 JSON strictly: unique keys, finite numbers of bounded length,
    nesting at most ``max_depth``. Raises JSONRefused."""
    try:  # a byte order mark before the text is ignored (RFC 8259 §8.1 allows it)
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise JSONRefused("is not UTF-8") from None
    try:
        value = json.loads(
            text,
            object_pairs_hook=_object,
            parse_int=_number(int),
            parse_float=_number(float),
            parse_constant=_no_constant,
        )
    except RecursionError:
        raise JSONRefused(f"is nested deeper than {max_depth} levels") from None
    except JSONRefused:
        raise
    except ValueError:  # json.JSONDecodeError and any other parse failure
        raise JSONRefused("is not well-formed JSON") from None
    if _depth(value) > max_depth:
        raise JSONRefused(f"is nested deeper than {max_depth} levels")
    return value
