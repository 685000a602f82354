"""Strict JSON for documents an outside party sends (manifest.json, an API upload).

Python's ``json`` accepts more than a careful reader should: a repeated key keeps
its last value silently, ``NaN`` and ``Infinity`` pass, a 5,000-digit number fails
with a bare ValueError and deep nesting with a RecursionError. :func:`loads`
refuses each of these with :class:`JSONRefused` (a repeated key with its subclass
:class:`DuplicateJsonKey`), whose message is one line and names no value from the
document. Intake reads a manifest within the bounds; the API's first look at an
upload passes ``None`` for both bounds and refuses only repeated keys and non-finite
numbers, leaving the rest to intake.
"""

from __future__ import annotations

import json
from typing import Any

from taxgate.errors import DuplicateJsonKey, JSONRefused

__all__ = ["MAX_DEPTH", "MAX_NUMBER_CHARS", "DuplicateJsonKey", "JSONRefused", "loads"]

# A manifest is an object holding one list (taxable_periods); a little room to spare.
MAX_DEPTH = 8
# The longest number literal accepted: enough for any count, year or version.
MAX_NUMBER_CHARS = 20


def _number(parse: type, max_chars: int | None) -> Any:
    if max_chars is None:
        return parse

    def hook(text: str) -> Any:
        if len(text) > max_chars:
            raise JSONRefused(f"holds a number longer than {max_chars} characters")
        return parse(text)

    return hook


def _no_constant(name: str) -> Any:
    raise JSONRefused(f"holds {name}, which is not JSON")


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        raise DuplicateJsonKey("repeats a key in one object")
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


def _too_deep(max_depth: int | None) -> JSONRefused:
    if max_depth is None:
        return JSONRefused("is nested too deeply")
    return JSONRefused(f"is nested deeper than {max_depth} levels")


def loads(data: bytes | str, max_depth: int | None = MAX_DEPTH,
          max_number_chars: int | None = MAX_NUMBER_CHARS) -> Any:
    """Parse JSON strictly: unique keys, finite numbers of at most ``max_number_chars``
    characters, nesting at most ``max_depth`` (None: no such bound). Bytes must be
    UTF-8. Raises JSONRefused (DuplicateJsonKey for a repeated key)."""
    if isinstance(data, bytes):
        try:  # a byte order mark before the text is ignored (RFC 8259 §8.1 allows it)
            data = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise JSONRefused("is not UTF-8") from None
    try:
        value = json.loads(
            data,
            object_pairs_hook=_object,
            parse_int=_number(int, max_number_chars),
            parse_float=_number(float, max_number_chars),
            parse_constant=_no_constant,
        )
    except RecursionError:
        raise _too_deep(max_depth) from None
    except JSONRefused:
        raise
    except ValueError:  # json.JSONDecodeError and any other parse failure
        raise JSONRefused("is not well-formed JSON") from None
    if max_depth is not None and _depth(value) > max_depth:
        raise _too_deep(max_depth)
    return value
