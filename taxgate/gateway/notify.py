"""The taxpayers affected by a selection of disclosures (R31), so each can be notified
under 26 U.S.C. 7431(e) and a breach scoped.

A selection names requests (one, or a batch), a policy (rule-set) version, a model
version, or a user: the official who signed, the officer a record names, or the
disclosure officer who proposed or released a confirmation; the criteria given must
all hold. The disclosures are the ledger's (every DISCLOSURE, the machine's and the
released ones); each taxpayer is found from the decisions the store keeps sealed (the
ledger holds only keyed digests of TINs), with the name and last known address of the
most recently processed filing (contract §1). Listing them is an export of taxpayer
data and is logged (AFFECTED_LISTED).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from taxgate.errors import BadInput
from taxgate.integrity import guard
from taxgate.ledger_events import Disclosure as DisclosureEvent
from taxgate.ledger_events import ReviewDecided
from taxgate.store.base import Store

_NAME_ADDRESS = ("first_name", "middle_name", "last_name", "street_address", "unit", "city",
                 "state", "zip")


@dataclass(frozen=True)
class Selection:
    """Which disclosures: every criterion given must hold; at least one is needed."""

    request_ids: tuple[str, ...] = ()
    policy_version: str | None = None
    model_version: str | None = None
    user: str | None = None

    def payload(self) -> dict[str, Any]:
        """The selection as the ledger records it (ids and versions only)."""
        return {"request_ids": list(self.request_ids), "policy_version": self.policy_version,
                "model_version": self.model_version, "user": self.user}

    def check(self) -> None:
        if not (self.request_ids or self.policy_version or self.model_version or self.user):
            raise BadInput("name requests, a policy version, a model version or a user")


@dataclass(frozen=True)
class Disclosed:
    """One disclosure about an affected taxpayer, as a letter names it."""

    request_id: str
    record_id: str
    agency: str
    disclosed_at: str
    legal_authority: str
    purpose: str


@dataclass
class Affected:
    """A taxpayer affected, with the name and last known address to write to."""

    tin: str
    tin_digest: str
    name: str = ""
    address: list[str] = field(default_factory=list)
    disclosures: list[Disclosed] = field(default_factory=list)


def affected(store: Store, selection: Selection) -> list[Affected]:
    """Every taxpayer the selected disclosures were about, by TIN."""
    selection.check()
    guard(store)  # never account from a ledger that failed its last check
    chosen = _disclosures(store, selection)
    tins = _tins(store, {p["request_id"] for p in chosen})
    found: dict[str, Affected] = {}
    for p in chosen:
        digest = p.get("tin_digest") or ""
        tin = tins.get(digest)
        if tin is None:
            continue  # no decision row names it (cannot happen for a kept request)
        entry = found.setdefault(tin, Affected(tin, digest))
        entry.disclosures.append(Disclosed(
            str(p["request_id"]), str(p["record_id"]), str(p["requesting_agency"]),
            str(p["disclosed_at"]), str(p["legal_authority"]), str(p["purpose"])))
    result = [found[t] for t in sorted(found)]
    _name_and_address(store, result)
    return result


def _disclosures(store: Store, sel: Selection) -> list[dict[str, Any]]:
    """The payloads of the DISCLOSURE entries the selection takes."""
    people: defaultdict[tuple[str, str], set[str]] = defaultdict(set)
    chosen = []
    for e in store.ledger_entries():
        p = e.payload
        if e.event_type == ReviewDecided.TYPE:
            people[(str(p["request_id"]), str(p["record_id"]))] |= {
                str(p["proposed_by"]), str(p["released_by"])}
        if e.event_type == DisclosureEvent.TYPE and _takes(sel, p):
            chosen.append(p)
    if sel.user is None:
        return chosen
    return [p for p in chosen if sel.user in {
        p.get("signing_official"), p.get("officer_id"),
        *people[(str(p["request_id"]), str(p["record_id"]))]}]


def _takes(sel: Selection, p: dict[str, Any]) -> bool:
    return ((not sel.request_ids or p.get("request_id") in sel.request_ids)
            and (sel.policy_version is None or p.get("policy_version") == sel.policy_version)
            and (sel.model_version is None or p.get("model_version") == sel.model_version))


def _tins(store: Store, request_ids: set[str]) -> dict[str, str]:
    """The keyed digest of every TIN the requests' decisions name -> that TIN."""
    found: dict[str, str] = {}
    for rid in sorted(request_ids):
        for tin in store.decisions(rid).column("tin").unique().to_pylist():
            if tin:
                found[store.tin_digest(tin)] = tin
    return found


def _name_and_address(store: Store, people: list[Affected]) -> None:
    """The name and last known address of each taxpayer: the most recently processed
    filing (a change of address before a return processed the same day)."""
    if not people:
        return
    con = store.matching_connection()
    cols = ", ".join(_NAME_ADDRESS)
    for person in people:
        row = con.execute(
            f"SELECT {cols} FROM filings WHERE tin = ? ORDER BY processed_date DESC, "
            "CASE source WHEN 'F8822' THEN 2 ELSE 1 END DESC, filing_id DESC LIMIT 1",
            [person.tin]).fetchone()
        if row is None:
            continue
        v = {c: (str(x).strip() if x is not None else "") for c, x in zip(_NAME_ADDRESS, row,
                                                                         strict=True)}
        person.name = " ".join(x for x in (v["first_name"], v["middle_name"], v["last_name"])
                               if x)
        street = " ".join(x for x in (v["street_address"], v["unit"]) if x)
        person.address = [street, f"{v['city']}, {v['state']} {v['zip']}".strip()]
