"""Typed validation of the settings dataclasses (:mod:`taxgate.settings`).

Each field is checked against its type hint, then against its own rule (a bound, a
choice); every bad value is found at once and reported in one line by
:class:`SettingsError`, each named with where it came from (an environment variable,
a key of the policy file, a command-line option), never with its value.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from taxgate.errors import SettingsError

Rule = Callable[[Any], str | None]  # a problem ("must be ...") or None

_WANT = {int: "a whole number", float: "a number", bool: "true or false", str: "text",
         Path: "a path"}


def at_least(low: int) -> Rule:
    return lambda v: None if v >= low else f"must be at least {low}"


def one_of(choices: tuple[str, ...]) -> Rule:
    return lambda v: None if v in choices else f"must be one of {', '.join(choices)}"


def _is(value: Any, hint: Any) -> bool:
    """Whether ``value`` has the type ``hint`` (the few kinds settings use)."""
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        return any(_is(value, h) for h in typing.get_args(hint))
    if hint is type(None):
        return value is None
    if typing.get_origin(hint) is tuple:
        return isinstance(value, tuple) and all(_is(v, typing.get_args(hint)[0]) for v in value)
    if hint in (int, float) and isinstance(value, bool):
        return False
    if hint is float:
        return isinstance(value, int | float)
    return isinstance(value, hint)


def _want(hint: Any) -> str:
    args = [h for h in typing.get_args(hint) if h is not type(None)]
    if typing.get_origin(hint) is tuple:
        return "a list of text"
    if args and len(args) < len(typing.get_args(hint)):
        return _want(args[0])
    return _WANT.get(hint, getattr(hint, "__name__", str(hint)))


_HINTS: dict[type, dict[str, Any]] = {}


def _hints(cls: type) -> dict[str, Any]:
    """The resolved field types of a settings class (resolved once per class)."""
    if cls not in _HINTS:
        _HINTS[cls] = typing.get_type_hints(cls)
    return _HINTS[cls]


def problems(obj: Any, rules: Mapping[str, Rule] | None = None) -> list[tuple[str, str]]:
    """(field, problem) for every field of the dataclass ``obj`` that is wrong."""
    hints = _hints(type(obj))
    found = []
    for f in dataclasses.fields(obj):
        value = getattr(obj, f.name)
        if not _is(value, hints[f.name]):
            found.append((f.name, f"must be {_want(hints[f.name])}"))
        elif rules and f.name in rules and (why := rules[f.name](value)):
            found.append((f.name, why))
    return found


def check(obj: Any, rules: Mapping[str, Rule] | None = None) -> None:
    """Raise SettingsError naming each bad field of ``obj`` (for ``__post_init__``)."""
    found = problems(obj, rules)
    if found:
        raise SettingsError(found)


def from_text(cls: type, name: str, raw: str) -> Any:
    """The text of an environment variable as the type of ``cls``'s field ``name``;
    ValueError (saying what is wanted) when it is not one."""
    hint = _hints(cls)[name]
    args = [h for h in typing.get_args(hint) if h is not type(None)]
    kind = args[0] if args and typing.get_origin(hint) is not tuple else hint
    try:
        if kind is bool:
            return {"1": True, "true": True, "yes": True,
                    "0": False, "false": False, "no": False}[raw.lower()]
        return kind(raw) if kind in (int, float, str, Path) else raw
    except (KeyError, ValueError):
        raise ValueError(f"must be {_want(hint)}") from None


def relabel(exc: SettingsError, sources: Mapping[str, str]) -> SettingsError:
    """The same problems, each field named with where its value came from."""
    return SettingsError([(f"{n} ({sources[n]})" if n in sources else n, why)
                          for n, why in exc.problems])
