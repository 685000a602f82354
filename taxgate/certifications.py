"""Return/destroy certifications (R32, 26 U.S.C. 6103(p)(4)(F)), read from the ledger.

Every request that disclosed something (at least one DISCLOSURE entry) must be covered
by a certification from its agency that the disclosed data was returned or destroyed,
due ``certification_due_days`` after the request's last disclosure (a follow-up released
later moves the date). A certification is a RETURN_CERTIFIED ledger entry; it covers
the disclosures logged before it, so a disclosure released after it needs another.
Optionally (``block_overdue_certifications``, off by default) an agency with an overdue
certification has its new requests refused (CERTIFICATION_OVERDUE). Nothing here holds
a taxpayer value: request ids, agency names, dates and counts.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Protocol

from taxgate.domain import LedgerEntry, LedgerEvent
from taxgate.errors import BadInput, RequestRefused
from taxgate.ledger_events import Disclosure, ReturnCertified

DISPOSITIONS = ("RETURNED", "DESTROYED")
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9 ._@-]{0,99}")
_LONG_NUMBER = re.compile(r"\d{5,}")


class Ledger(Protocol):
    def ledger_entries(self, after_seq: int = 0) -> Iterator[LedgerEntry]: ...
    def append_events(self, events: list[LedgerEvent], *, rebase_anchor: bool = False
                      ) -> None: ...


@dataclass
class Due:
    """One request whose disclosed data must be returned or destroyed (R32)."""

    request_id: str
    agency: str
    instances: int
    last_disclosed_at: str
    due_on: dt.date
    disposition: str | None = None  # RETURNED or DESTROYED once certified
    certified_on: str | None = None
    certified_by: str | None = None
    _last_disclosure_seq: int = 0

    def overdue(self, today: dt.date) -> bool:
        """Not certified and past its due date."""
        return self.disposition is None and today > self.due_on


def dues(entries: Iterable[LedgerEntry], due_days: int) -> list[Due]:
    """Every request that disclosed something, oldest first, with its due date and the
    certification that covers its last disclosure, if any."""
    found: dict[str, Due] = {}
    for e in entries:
        p = e.payload
        if e.event_type == Disclosure.TYPE:
            rid, when = str(p.get("request_id") or e.request_id), str(p.get("disclosed_at"))
            d = found.get(rid)
            if d is None:
                d = found[rid] = Due(rid, str(p.get("requesting_agency", "")), 0, when,
                                     dt.date.min)
            d.instances += 1
            d.last_disclosed_at, d._last_disclosure_seq = max(d.last_disclosed_at, when), e.seq
            d.disposition = d.certified_on = d.certified_by = None  # a new disclosure
        elif e.event_type == ReturnCertified.TYPE:
            d = found.get(str(p.get("request_id")))
            if d is not None and e.seq > d._last_disclosure_seq:
                d.disposition, d.certified_on = p.get("disposition"), p.get("certified_on")
                d.certified_by = p.get("certified_by")
    for d in found.values():
        d.due_on = dt.date.fromisoformat(d.last_disclosed_at[:10]) + dt.timedelta(days=due_days)
    return sorted(found.values(), key=lambda d: (d.last_disclosed_at, d.request_id))


def overdue(entries: Iterable[LedgerEntry], due_days: int, today: dt.date,
            agency: str | None = None) -> list[Due]:
    """The certifications past due on ``today`` (only ``agency``'s, when given)."""
    return [d for d in dues(entries, due_days)
            if d.overdue(today) and (agency is None or d.agency == agency)]


def check_none_overdue(entries: Iterable[LedgerEntry], agency: str, due_days: int,
                       today: dt.date) -> None:
    """R32 (optional block): refuse a request from an agency with an overdue certification."""
    late = overdue(entries, due_days, today, agency)
    if late:
        raise RequestRefused(
            "CERTIFICATION_OVERDUE",
            f"{len(late)} return/destroy certification(s) of this agency are overdue "
            f"(the oldest was due {late[0].due_on.isoformat()})")


def record(store: Ledger, request_id: str, *, disposition: str, certified_by: str,
           certified_on: dt.date, recorded_by: str, today: dt.date, due_days: int) -> Due:
    """Record the agency's certification for one request (a RETURN_CERTIFIED entry);
    BadInput when the request disclosed nothing or a field is not acceptable."""
    disposition = disposition.upper()
    if disposition not in DISPOSITIONS:
        raise BadInput(f"disposition must be one of {', '.join(DISPOSITIONS)}")
    for label, name in (("certified-by", certified_by), ("operator", recorded_by)):
        if not _NAME.fullmatch(name) or _LONG_NUMBER.search(name):
            raise BadInput(f"{label} must be a user or official id: letters, digits, "
                           "' ._@-', at most 100 characters, no number of five or more digits")
    if certified_on > today:
        raise BadInput("the certification date lies in the future")
    due = next((d for d in dues(store.ledger_entries(), due_days)
                if d.request_id == request_id), None)
    if due is None:
        raise BadInput("no disclosure was made for that request: nothing to certify")
    if certified_on < dt.date.fromisoformat(due.last_disclosed_at[:10]):
        raise BadInput("the certification date lies before the request's last disclosure")
    store.append_events([ReturnCertified(
        request_id=request_id, agency=due.agency, disposition=disposition,
        certified_by=certified_by, certified_on=certified_on.isoformat(),
        recorded_by=recorded_by).to_event()])
    due.disposition, due.certified_on, due.certified_by = (
        disposition, certified_on.isoformat(), certified_by)
    return due
