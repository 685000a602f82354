"""The review desk: REVIEW records, what officers see of them, two-person decisions.

- :func:`taxgate.pipeline.capture.capture`, as a request is answered, holds its REVIEW
  records for officers: the request record and the request's accounting fields, sealed
  under the at-rest key.
- :func:`queue` lists them with their state (no taxpayer data).
- :func:`view_item` shows one record beside its candidate taxpayers, field by field,
  and why it was held in words (:mod:`taxgate.review_reasons`);
  a person viewing taxpayer data is itself logged (FTI_VIEWED, one per candidate, R33).
- :func:`propose` (role ``reviewer``) and :func:`release` (role ``releaser``, another
  person, R23/R36) decide it; a CONFIRMED is released only when it passes the checks
  an automatic one does (:mod:`taxgate.confirm`). A release names the proposal it
  approves by its :func:`proposal_digest` (outcome, reason, proposer, time, as the page
  showed them); a proposal changed since is refused (Conflict), checked again inside
  the release's transaction. The release logs REVIEW_DECIDED and, when CONFIRMED, the
  same DISCLOSURE event ``process`` writes, and produces a signed follow-up response
  (``follow_up_of`` the request, ``follow_up_seq`` n) holding only the decided record.
Nothing an officer sees ever enters a response: the follow-up is built from the
record id and the outcome alone.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from taxgate import integrity, review_reasons
from taxgate.canonical import canonical_json, sha256_hex
from taxgate.domain import FollowUp, LedgerEvent, ReviewDecision, ReviewItem, ReviewStep
from taxgate.errors import BadInput, Conflict, NotAllowed, NotFound
from taxgate.gateway import desk_view
from taxgate.gateway.accounts import Principal
from taxgate.gateway.desk_view import Candidate, EvidenceChart
from taxgate.ledger_events import FtiViewed, ReviewDecided, ReviewProposed, ReviewSentBack
from taxgate.pipeline import disclosure_event
from taxgate.pipeline.capture import review_label
from taxgate.pipeline.publish import Commit, Files, Publication, ResponseFields, Signed, publish
from taxgate.settings import Settings
from taxgate.store.base import Store
from taxgate.store.common import iso_now

FINAL = ("CONFIRMED", "NOT_CONFIRMED")
_CHANGED = ("the proposal changed after this page was loaded; nothing was released: "
            "reload the record and review the new proposal")


@dataclass(frozen=True)
class QueueEntry:
    """One REVIEW record on the desk: ids and state only."""

    request_id: str
    row_number: int
    record_id: str
    agency: str
    captured_at: str
    state: str  # OPEN, PROPOSED, RELEASED
    outcome: str | None
    proposed_by: str | None
    released_by: str | None
    reason: str | None = None  # the proposal's reason code, shown to the releaser
    proposed_at: str | None = None
    proposal_digest: str | None = None  # what a release must name (see release)
    note: str | None = None  # the proposal's screened note
    held_why: tuple[str, ...] = ()  # the review reason codes (taxgate.review_reasons)


def proposal_digest(d: ReviewDecision) -> str:
    """The version of a proposal a release binds: a digest of the record it is for, its
    outcome, reason, proposer and time. A new proposal for the record gets another."""
    return sha256_hex(canonical_json({
        "request_id": d.request_id, "row_number": d.row_number, "outcome": d.outcome,
        "reason": d.reason, "note": d.note, "proposed_by": d.proposed_by,
        "proposed_at": d.proposed_at}))


HeldCache = dict[str, dict[int, tuple[str, ...]]]


def held_why(store: Store, request_id: str, cache: HeldCache | None = None
             ) -> dict[int, tuple[str, ...]]:
    """Per REVIEW row of a request, the codes of why it was held (read once per request
    when a ``cache`` is given: they never change once the request is answered)."""
    if cache is not None and request_id in cache:
        return cache[request_id]
    rows = store.decisions(request_id).select(["row_number", "outcome", "evidence"])
    found = {}
    for r in rows.to_pylist():
        if r["outcome"] == "REVIEW":
            ev = json.loads(r["evidence"]) if r["evidence"] else {}
            found[int(r["row_number"])] = tuple(ev.get("review_reasons") or ())
    if cache is not None:
        cache[request_id] = found
    return found


def queue(store: Store, *, include_released: bool = False, cache: HeldCache | None = None
          ) -> list[QueueEntry]:
    """Every REVIEW record with its state, proposal and why it was held, oldest first."""
    decided = {(d.request_id, d.row_number): d for d in store.review_decisions()}
    out = []
    for it in store.review_items():
        d = decided.get((it.request_id, it.row_number))
        state = "OPEN" if d is None else ("RELEASED" if d.released_by else "PROPOSED")
        if state == "RELEASED" and not include_released:
            continue
        why = held_why(store, it.request_id, cache).get(it.row_number, ())
        out.append(QueueEntry(it.request_id, it.row_number, it.record_id, it.agency,
                              it.captured_at, state, d.outcome if d else None,
                              d.proposed_by if d else None, d.released_by if d else None,
                              d.reason if d else None, d.proposed_at if d else None,
                              proposal_digest(d) if d else None, d.note if d else None, why))
    return out


def _item(store: Store, request_id: str, row_number: int) -> tuple[ReviewItem, dict[str, Any]]:
    for it in store.review_items(request_id):
        if it.row_number == row_number:
            label = review_label(request_id, row_number)
            return it, json.loads(store.unseal_bytes(label, it.sealed))
    raise NotFound("no such REVIEW record")


def _decision_row(store: Store, request_id: str, row_number: int) -> dict[str, Any]:
    for r in store.decisions(request_id).to_pylist():
        if r["row_number"] == row_number:
            return r
    raise NotFound("no such REVIEW record")


def _require(principal: Principal, *roles: str) -> None:
    if principal.role not in roles:
        raise NotAllowed(f"this needs the role {' or '.join(roles)}")


# --- what an officer sees ---------------------------------------------------------------

@dataclass(frozen=True)
class ItemView:
    entry: QueueEntry
    record: dict[str, Any]  # the request record as the agency sent it
    standardized: dict[str, str]
    candidates: list[Candidate]
    chart: EvidenceChart  # the model's per-field levels and weights, in words
    match_probability: float | None
    reasons: str
    held_because: list[tuple[str, str]]  # (code, words) of taxgate.review_reasons
    history: list[ReviewStep]


def _viewed(principal: Principal, item: ReviewItem, tin: str | None, what: str
            ) -> LedgerEvent:
    return FtiViewed(viewer=principal.name, role=principal.role, request_id=item.request_id,
                     record_id=item.record_id, row_number=item.row_number, tin=tin,
                     what=what, viewed_at=iso_now()).to_event()


def view_item(store: Store, principal: Principal, request_id: str, row_number: int
              ) -> ItemView:
    """The record beside its candidates; logs FTI_VIEWED for each candidate shown."""
    from taxgate.standardize.one_row import standardize_rows

    _require(principal, "reviewer", "releaser")
    item, sealed = _item(store, request_id, row_number)
    decision = _decision_row(store, request_id, row_number)
    record = sealed["record"]
    std = standardize_rows([record], side="request")[0]
    found = desk_view.candidates(store.matching_connection(), decision["tin"], std.get("a_key"))
    shown = [desk_view.candidate(label, std, f) for label, f in found]
    events = [_viewed(principal, item, f["tin"],
                      "standardized name and address of a candidate taxpayer")
              for _, f in found]
    if not events:  # the request record alone was shown: still a view of the case
        events.append(_viewed(principal, item, None, "request record, no candidate"))
    store.append_events(events)
    entry = next(q for q in queue(store, include_released=True)
                 if q.request_id == request_id and q.row_number == row_number)
    evidence = json.loads(decision["evidence"]) if decision["evidence"] else {}
    held_because = review_reasons.words(list(evidence.pop("review_reasons", None) or []))
    model = store.current_model()
    chart = desk_view.evidence_chart(
        evidence, model[1] if model and model[0] == decision["model_version"] else None)
    return ItemView(entry, record, desk_view.shown(std), shown, chart,
                    decision["match_probability"], decision["reasons"] or "", held_because,
                    store.review_history(request_id, row_number))


# --- deciding ------------------------------------------------------------------------------


def screen(store: Store, request_id: str, row_number: int, applies_to: str, reason: str,
           note: str | None) -> str | None:
    """The reason code checked against the documented list for ``applies_to`` (an outcome
    or SEND_BACK) and the note put through the one screen of every review path
    (:func:`taxgate.review_reasons.note_problem`), with the names and addresses of the
    record and its candidates; returns the note to store (None: none). BadInput names
    what is wrong, never the note's text."""
    allowed = [r.code for r in review_reasons.decision_reasons(applies_to)]
    if reason not in allowed:
        raise BadInput(f"choose a reason code for {applies_to}: {', '.join(allowed)}")
    text = " ".join((note or "").split())
    if not text:
        return None
    _, sealed = _item(store, request_id, row_number)
    decision = _decision_row(store, request_id, row_number)
    std_key = None
    if sealed["record"].get("street_address"):
        from taxgate.standardize.one_row import standardize_rows

        std_key = standardize_rows([sealed["record"]], side="request")[0].get("a_key")
    found = desk_view.candidates(store.matching_connection(), decision["tin"], std_key)
    problem = review_reasons.note_problem(
        text, desk_view.taxpayer_values(sealed["record"], [f for _, f in found]))
    if problem:
        raise BadInput(f"{problem}; nothing was recorded")
    return text


def propose(store: Store, principal: Principal, request_id: str, row_number: int,
            outcome: str, reason: str, note: str | None = None) -> ReviewDecision:
    """Propose ``outcome`` for a REVIEW record with a documented reason code and an
    optional screened note (role reviewer)."""
    _require(principal, "reviewer")
    if outcome not in FINAL:
        raise BadInput("outcome must be CONFIRMED or NOT_CONFIRMED")
    item, _ = _item(store, request_id, row_number)
    kept = screen(store, request_id, row_number, outcome, reason, note)
    decision = ReviewDecision(request_id, row_number, outcome, reason, principal.name,
                              iso_now(), note=kept)
    event = ReviewProposed(
        request_id=request_id, record_id=item.record_id, row_number=row_number,
        outcome=outcome, reason=reason, note=kept, proposed_by=principal.name,
        proposed_at=decision.proposed_at).to_event()
    try:
        store.propose_decision(decision, [event])
    except Exception as exc:
        if "already released" in str(exc):
            raise Conflict("this REVIEW record was already released") from None
        raise
    return decision


def release(store: Store, settings: Settings, principal: Principal, request_id: str,
            row_number: int, proposal: str | None = None) -> FollowUp:
    """Approve a proposal (another person than its proposer) and answer the agency.

    ``proposal``: the :func:`proposal_digest` of the proposal the releaser was shown; the
    web form always sends it. When the record's proposal is no longer that one, nothing
    is released (Conflict)."""
    _require(principal, "releaser")
    integrity.guard(store)  # nothing is disclosed on a ledger that failed its last check
    item, sealed = _item(store, request_id, row_number)
    shown = _proposal(store, principal, request_id, row_number, proposal)
    decision = _decision_row(store, request_id, row_number)
    if shown.outcome == "CONFIRMED":
        _check_confirmable(store, settings, decision, sealed)
    stored = store.find_request(request_id)
    if stored is None:
        raise NotFound("no such request")
    seq = len(store.follow_ups(request_id)) + 1
    policy_version = settings.policy.version()
    manifest, record = sealed["manifest"], sealed["record"]

    def events(signed: Signed) -> list[LedgerEvent]:
        made = [ReviewDecided(
            request_id=request_id, record_id=item.record_id, row_number=row_number,
            outcome=shown.outcome, reason=shown.reason, note=shown.note,
            proposed_by=shown.proposed_by, proposed_at=shown.proposed_at,
            released_by=principal.name, released_at=signed.completed_at, follow_up_seq=seq,
            results_sha256=signed.digest).to_event()]
        if shown.outcome == "CONFIRMED":
            made.append(disclosure_event(
                manifest, record_id=item.record_id, tin=decision["tin"],
                officer_id=record.get("officer_id"), case_number=record.get("case_number"),
                disclosed_at=signed.completed_at, match_probability=decision["match_probability"],
                model_version=decision["model_version"], policy_version=policy_version))
        return made

    def commit(signed: Signed, made: Iterable[LedgerEvent]) -> FollowUp | None:
        fu = FollowUp(request_id, seq, signed.completed_at, signed.response_json,
                      signed.results_text())
        return fu if store.commit_follow_up(fu, [row_number], principal.name, list(made),
                                            shown) else None

    fu = publish(Publication(
        results=[(item.record_id, shown.outcome, "")],
        response=ResponseFields(
            request_id, stored.received_at, {shown.outcome: 1}, policy_version,
            decision["model_version"], store.signing_key(), follow_up_of=request_id,
            follow_up_seq=seq, clock=iso_now),
        commit=Commit(events, commit),
    ))
    if fu is None:
        raise Conflict("this REVIEW record was released or proposed again meanwhile; "
                       "reload it")
    return fu


def _proposal(store: Store, principal: Principal, request_id: str, row_number: int,
              proposal: str | None) -> ReviewDecision:
    """The proposal a releaser acts on: still open, the one the page showed (its
    ``proposal`` digest, when given), and not their own (two-person rule)."""
    shown = next((d for d in store.review_decisions(request_id)
                  if d.row_number == row_number), None)
    if shown is None:
        raise Conflict("nothing has been proposed for this record yet")
    if shown.released_by:
        raise Conflict("this REVIEW record was already released")
    if proposal is not None and not hmac.compare_digest(proposal, proposal_digest(shown)):
        raise Conflict(_CHANGED)
    if shown.proposed_by == principal.name:
        raise Conflict("two-person rule: the proposer may not release their own decision")
    return shown


def send_back(store: Store, principal: Principal, request_id: str, row_number: int,
              proposal: str | None, reason: str, note: str | None = None) -> ReviewStep:
    """Send a proposal back instead of releasing it (role releaser, another person): the
    proposal is withdrawn, the record is OPEN again, and REVIEW_SENT_BACK is logged with
    the releaser's reason code and screened note. Nothing reaches the agency."""
    _require(principal, "releaser")
    _item(store, request_id, row_number)  # NotFound when there is none
    shown = _proposal(store, principal, request_id, row_number, proposal)
    kept = screen(store, request_id, row_number, review_reasons.SEND_BACK, reason, note)
    at = iso_now()
    event = ReviewSentBack(request_id=request_id, row_number=row_number, reason=reason,
                           note=kept, sent_back_by=principal.name).to_event()
    if not store.send_back(shown, principal.name, at, reason, kept, [event]):
        raise Conflict(_CHANGED)
    return store.review_history(request_id, row_number)[-1]


def _check_confirmable(store: Store, settings: Settings, decision: dict[str, Any],
                       sealed: dict[str, Any]) -> None:
    """A released CONFIRMED passes exactly the checks an automatic one does
    (:func:`taxgate.confirm.confirmable`): address of record within the request's taxable
    periods, no hold on any linked TIN (R6), the agency's safeguards current (R7)."""
    from taxgate.confirm import release_problems

    if not decision["tin"]:
        raise Conflict("no candidate taxpayer: the record cannot be CONFIRMED")
    manifest = sealed["manifest"]
    problems = release_problems(
        store.matching_connection(), record=sealed["record"], tin=decision["tin"],
        periods=[int(p) for p in manifest["taxable_periods"]],
        safeguards_current=store.safeguards_current(str(manifest["requesting_agency"])),
        policy=settings.policy)
    if problems:
        raise Conflict("the record cannot be CONFIRMED: " + "; ".join(problems))


def follow_ups(store: Store, request_id: str, agency: str | None = None) -> list[FollowUp]:
    """The follow-up responses of a request (only the requesting agency's, when given)."""
    items = store.review_items(request_id)
    if not items or (agency is not None and items[0].agency != agency):
        raise NotFound("no follow-up responses for this request")
    return store.follow_ups(request_id)


def write_follow_up(fu: FollowUp, out_dir: Path) -> None:
    publish(Publication(results=fu.results_csv, response=json.loads(fu.response_json),
                        files=Files(out_dir)))
