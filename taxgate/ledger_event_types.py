"""The machinery of the ledger's event vocabulary (:mod:`taxgate.ledger_events`): the
base of every event type, the registry they join, and the checks made against it.

An event type is declared in :mod:`taxgate.ledger_events` alone (a test holds it so);
this module only gives it its shape. A leaf: the standard library and the domain only.
"""

from __future__ import annotations

from dataclasses import Field, field, fields
from typing import Any, ClassVar

from taxgate.domain import LedgerEvent

EVENTS: dict[str, type[Event]] = {}  # TYPE -> its class, in declaration order


def _f(meaning: str) -> Any:
    """A payload field (required, no default) and its one-line meaning."""
    return field(metadata={"meaning": meaning})


def is_tin_field(name: str) -> bool:
    """Fields the store logs as ``<name>_digest`` (a keyed digest, R34) when not null."""
    return name == "tin" or name.endswith("_tin")


class Event:
    """The base of every event type. A field named ``request_id`` also files the entry
    under that request (the entry's own ``request_id``)."""

    TYPE: ClassVar[str]
    SERVES: ClassVar[str]  # the requirements (R-numbers) the event is kept for

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.TYPE in EVENTS:
            raise TypeError(f"ledger event type {cls.TYPE} is declared twice")
        EVENTS[cls.TYPE] = cls

    def payload(self) -> dict[str, Any]:
        """The payload: every declared field, in declaration order."""
        return {f.name: getattr(self, f.name) for f in fields(self)}  # type: ignore[arg-type]

    def to_event(self, *, filed: bool = True) -> LedgerEvent:
        """The ledger event. ``filed=False``: not filed under its request (a refusal that
        was not stored under the request_id it names)."""
        rid = getattr(self, "request_id", None) if filed else None
        return LedgerEvent(self.TYPE, self.payload(), rid)


def declared(cls: type[Event]) -> tuple[Field[Any], ...]:
    """The payload fields of an event type, in order."""
    return fields(cls)  # type: ignore[arg-type]


def logged_names(cls: type[Event]) -> list[frozenset[str]]:
    """Per field, the names it may be logged under (``tin`` or ``tin_digest``)."""
    return [frozenset({f.name, f"{f.name}_digest"}) if is_tin_field(f.name)
            else frozenset({f.name}) for f in declared(cls)]


def problem(event_type: str, payload_names: list[str]) -> str | None:
    """Why an entry of ``event_type`` with these payload fields is not a declared event
    (None: it is): an unknown type, or fields other than the declared ones."""
    cls = EVENTS.get(event_type)
    if cls is None:
        return f"{event_type} is not a declared ledger event"
    names, alts = set(payload_names), logged_names(cls)
    if len(names) != len(alts) or not all(len(names & alt) == 1 for alt in alts):
        return f"{event_type} fields {sorted(names)} are not its declared fields"
    return None
