"""The review desk's queue as an officer works it: filters, sort, count and "next".

:class:`QueueFilter` narrows the REVIEW records of :func:`taxgate.gateway.review.queue`
by agency, request, age (held at least so many days), why held (a review reason code)
and state, and sorts them; :func:`next_for` picks the record an officer should open
next: for a reviewer the next OPEN one, for a releaser the next proposal by someone
else. Ids and codes only: nothing here reads taxpayer data.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from taxgate.gateway.accounts import Principal
from taxgate.gateway.review import QueueEntry

SORTS = {
    "oldest": lambda e: (e.captured_at, e.request_id, e.row_number),
    "request": lambda e: (e.request_id, e.row_number),
    "agency": lambda e: (e.agency, e.captured_at, e.request_id, e.row_number),
    "state": lambda e: (e.state, e.captured_at, e.request_id, e.row_number),
}
STATES = ("OPEN", "PROPOSED", "RELEASED")


@dataclass(frozen=True)
class QueueFilter:
    """What the desk shows: every field optional; ``sort`` one of :data:`SORTS`, or
    ``newest``."""

    agency: str | None = None
    request_id: str | None = None
    min_age_days: int | None = None
    held_why: str | None = None
    state: str | None = None
    sort: str = "oldest"

    def keeps(self, e: QueueEntry, now: dt.datetime) -> bool:
        if self.agency and e.agency != self.agency:
            return False
        if self.request_id and e.request_id != self.request_id:
            return False
        if self.held_why and self.held_why not in e.held_why:
            return False
        if self.state and e.state != self.state:
            return False
        return not self.min_age_days or age_days(e, now) >= self.min_age_days

    def apply(self, entries: list[QueueEntry], now: dt.datetime | None = None
              ) -> list[QueueEntry]:
        """The entries kept, sorted (unknown sorts: oldest first)."""
        when = now or dt.datetime.now(dt.UTC)
        kept = [e for e in entries if self.keeps(e, when)]
        if self.sort == "newest":
            return sorted(kept, key=SORTS["oldest"], reverse=True)
        return sorted(kept, key=SORTS.get(self.sort, SORTS["oldest"]))


def age_days(e: QueueEntry, now: dt.datetime) -> int:
    """Whole days since the record was held."""
    held = dt.datetime.fromisoformat(e.captured_at.replace("Z", "+00:00"))
    if held.tzinfo is None:
        held = held.replace(tzinfo=dt.UTC)
    return max((now - held).days, 0)


def actionable(principal: Principal, e: QueueEntry) -> bool:
    """Whether ``principal`` can act on the record now (propose, or release/send back)."""
    if principal.role == "reviewer":
        return e.state == "OPEN"
    return (principal.role == "releaser" and e.state == "PROPOSED"
            and e.proposed_by != principal.name)


def next_for(principal: Principal, entries: list[QueueEntry],
             after: tuple[str, int] | None = None) -> QueueEntry | None:
    """The first record ``principal`` can act on, in the queue's order, after the one
    ``after`` (request_id, row) when given, wrapping around to the start."""
    keys = [(e.request_id, e.row_number) for e in entries]
    start = keys.index(after) + 1 if after in keys else 0
    for e in entries[start:] + entries[:start]:
        if actionable(principal, e) and (e.request_id, e.row_number) != after:
            return e
    return None
