"""Every event type taxgate writes to its ledger, declared once: the auditors' vocabulary.

Each event type is a frozen dataclass below: its ``TYPE`` (the ``event_type`` of the
entry), the requirements it serves, a one-line meaning (its docstring) and its payload
fields, typed, each with a one-line meaning. An event is made only by constructing one of
these (keyword arguments only, every field required, an unknown one a TypeError) and
calling :meth:`Event.to_event`; no other module builds a :class:`LedgerEvent`.
``docs/ledger-events.md`` is generated from this table (``python -m taxgate.ledger_events``)
and a test keeps the two identical. A leaf: the standard library only.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Any

from taxgate.domain import LedgerEvent
from taxgate.ledger_event_types import (  # the machinery, re-exported here
    EVENTS,
    Event,
    _f,
    declared,
    is_tin_field,
    logged_names,
    problem,
)
from taxgate.ledger_events_accountability import (  # evidence, notices, access
    AffectedListed,
    ApiAuthentication,
    EvidencePurged,
    EvidenceViewed,
    LetterIssued,
    MfaChanged,
    OperatorAction,
    RecheckRun,
    ResultsDelivery,
    ReturnCertified,
)

__all__ = [
    "EVENTS", "Event", "declared", "is_tin_field", "logged_names", "problem", "AffectedListed",
    "ApiAuthentication", "EvidencePurged", "EvidenceViewed", "LetterIssued", "MfaChanged",
    "OperatorAction", "RecheckRun", "ResultsDelivery", "ReturnCertified",
]

def logged_disclosure(payload: dict[str, Any], request_id: str) -> LedgerEvent:
    """A DISCLOSURE whose payload is already in its logged form (the TIN as its digest),
    for the pipeline's fast builder, which checks its fields once with :func:`problem`."""
    return LedgerEvent(Disclosure.TYPE, payload, request_id)


# --- a request and its answer (R27) -----------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class RequestReceived(Event):
    """A request passed intake and was answered; logged with its decisions."""
    TYPE = "REQUEST_RECEIVED"
    SERVES = "R3, R27, R28"
    request_id: str = _f("the manifest's request_id")
    package_sha256: str = _f("sha256 over the manifest bytes and the records bytes")
    manifest_sha256: str = _f("sha256 of manifest.json as received (the signed original)")
    received_at: str = _f("when the gateway received the package (UTC)")
    requesting_agency: str = _f("the agency that asked")
    signing_official: str = _f("the registered official whose signature verified")
    legal_authority: str = _f("the statute the request is made under")
    criminal_statute: str = _f("the non-tax criminal statute under investigation")
    taxable_periods: list[int] = _f("the tax years asked about")
    reason: str = _f("the manifest's reason why the information is relevant")
    created_at: str = _f("when the agency signed the request (as sent)")
    record_count: int = _f("records in the request")


@dataclass(frozen=True, kw_only=True)
class DecisionsRecorded(Event):
    """The answer to a request: its counts per outcome and the results file's digest."""
    TYPE = "DECISIONS_RECORDED"
    SERVES = "R27, R30"
    request_id: str = _f("the request answered")
    counts: dict[str, int] = _f("records per outcome (CONFIRMED, NOT_CONFIRMED, ...)")
    results_sha256: str = _f("sha256 of the results.csv sent")
    model_version: str | None = _f("the match model that scored the records")
    policy_version: str = _f("digest of the policy the rules ran under")
    completed_at: str = _f("when the answer was made (UTC)")


@dataclass(frozen=True, kw_only=True)
class Disclosure(Event):
    """One CONFIRMED record: one instance of disclosure about one taxpayer."""
    TYPE = "DISCLOSURE"
    SERVES = "R27, R29, R30, R31"
    request_id: str = _f("the request it answered")
    record_id: str = _f("the record confirmed")
    tin: str = _f("the taxpayer confirmed (logged as tin_digest, a keyed digest)")
    requesting_agency: str = _f("the recipient agency")
    signing_official: str = _f("the official who signed the request")
    officer_id: str | None = _f("the officer named on the record as engaged in the case")
    case_number: str | None = _f("the case the record names")
    legal_authority: str = _f("the statute of the request")
    criminal_statute: str = _f("the criminal statute of the request")
    purpose: str = _f("the request's reason")
    taxable_periods: list[int] = _f("the tax years of the request")
    disclosed_at: str = _f("when the answer was made (UTC)")
    data_elements: list[str] = _f("what was disclosed: only an address confirmation (R19)")
    match_probability: float | None = _f("the match score, rounded to 6 places")
    model_version: str | None = _f("the match model")
    policy_version: str = _f("digest of the policy the rules ran under")


@dataclass(frozen=True, kw_only=True)
class RequestRefused(Event):
    """A request refused as a whole; every record is answered REJECTED with the reason."""
    TYPE = "REQUEST_REFUSED"
    SERVES = "R1, R27, R33"
    request_id: str | None = _f("the manifest's request_id (null when not well formed)")
    package_sha256: str = _f("sha256 over the manifest bytes and the records bytes")
    reason: str = _f("the reason code of the refusal")
    received_at: str = _f("when the gateway received the package (UTC)")
    record_count: int = _f("records answered REJECTED")
    results_sha256: str = _f("sha256 of the results.csv sent")
    requesting_agency: str | None = _f("the agency as sent (not proven), cut to 200 characters")
    signing_official: str | None = _f("the signer as sent (not proven), cut to 200 characters")
    signer_verified: bool = _f("whether the signature proved agency and signer")


@dataclass(frozen=True, kw_only=True)
class RequestReplayed(Event):
    """A stored answer given again, byte for byte; it discloses nothing new."""
    TYPE = "REQUEST_REPLAYED"
    SERVES = "R27, R33"
    request_id: str = _f("the request answered again")
    package_sha256: str = _f("sha256 of the package submitted again")
    received_at: str = _f("when it was received again (UTC)")
    status: str = _f("the stored request's status (COMPLETE or REFUSED)")
    response_sha256: str = _f("sha256 of the stored response.json given again")
    requesting_agency: str | None = _f("the agency as sent, cut to 200 characters")
    signing_official: str | None = _f("the signer as sent, cut to 200 characters")
    signer_verified: bool = _f("whether the signature proved agency and signer")


# --- the review desk (R23, R36) ------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class FtiViewed(Event):
    """A disclosure officer was shown a held record and its candidate taxpayers."""
    TYPE = "FTI_VIEWED"
    SERVES = "R33, R34"
    viewer: str = _f("the user who viewed")
    role: str = _f("the viewer's role")
    request_id: str = _f("the request of the record")
    record_id: str = _f("the record viewed")
    row_number: int = _f("the record's row in the records file")
    tin: str | None = _f("the candidate shown (logged as tin_digest); null: none")
    what: str = _f("what was shown, in words")
    viewed_at: str = _f("when (UTC)")


@dataclass(frozen=True, kw_only=True)
class ReviewProposed(Event):
    """A reviewer proposed the final answer to a REVIEW record."""
    TYPE = "REVIEW_PROPOSED"
    SERVES = "R23, R33, R36"
    request_id: str = _f("the request of the record")
    record_id: str = _f("the record")
    row_number: int = _f("the record's row in the records file")
    outcome: str = _f("CONFIRMED or NOT_CONFIRMED")
    reason: str = _f("the reviewer's reason code (docs/review-reasons.md)")
    note: str | None = _f("the reviewer's note, screened of taxpayer values; null: none")
    proposed_by: str = _f("the reviewer")
    proposed_at: str = _f("when (UTC)")


@dataclass(frozen=True, kw_only=True)
class ReviewSentBack(Event):
    """A releaser sent the last proposal (REVIEW_PROPOSED) back instead of releasing it."""
    TYPE = "REVIEW_SENT_BACK"
    SERVES = "R23, R33, R36"
    request_id: str = _f("the request of the record")
    row_number: int = _f("the record's row in the records file")
    reason: str = _f("the releaser's reason code (docs/review-reasons.md)")
    note: str | None = _f("the releaser's note, screened of taxpayer values; null: none")
    sent_back_by: str = _f("the releaser")


@dataclass(frozen=True, kw_only=True)
class ReviewDecided(Event):
    """A second person released a proposal; the agency gets a follow-up response."""
    TYPE = "REVIEW_DECIDED"
    SERVES = "R23, R27, R30, R36"
    request_id: str = _f("the request of the record")
    record_id: str = _f("the record")
    row_number: int = _f("the record's row in the records file")
    outcome: str = _f("CONFIRMED or NOT_CONFIRMED")
    reason: str = _f("the reviewer's reason code (docs/review-reasons.md)")
    note: str | None = _f("the reviewer's note, screened of taxpayer values; null: none")
    proposed_by: str = _f("the reviewer")
    proposed_at: str = _f("when it was proposed (UTC)")
    released_by: str = _f("the releaser (never the reviewer)")
    released_at: str = _f("when it was released (UTC)")
    follow_up_seq: int = _f("the follow-up response that carries it")
    results_sha256: str = _f("sha256 of the follow-up's results.csv")


# --- the gateway's administration (R33) ------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class OfficialAdded(Event):
    """An official was registered as a signer for an agency."""
    TYPE = "OFFICIAL_ADDED"
    SERVES = "R2, R33"
    official_id: str = _f("the official")
    agency: str = _f("the agency they may sign for")
    title: str = _f("their title")
    valid_from: str = _f("first day valid (YYYY-MM-DD)")
    valid_to: str | None = _f("last day valid; null: open-ended")
    public_key_sha256: str = _f("sha256 of their normalized public key (PEM)")
    actor: str = _f("who registered them")


@dataclass(frozen=True, kw_only=True)
class SafeguardsChanged(Event):
    """An agency's 6103(p)(4) safeguards status was set."""
    TYPE = "SAFEGUARDS_CHANGED"
    SERVES = "R7, R33"
    agency: str = _f("the agency")
    current: bool = _f("true: current; false: lapsed (its requests are refused)")
    actor: str = _f("who set it")
    note: str = _f("why, in words")


@dataclass(frozen=True, kw_only=True)
class ModelTrained(Event):
    """A match model was trained and stored."""
    TYPE = "MODEL_TRAINED"
    SERVES = "R30, R33"
    version: str = _f("the model's version")
    model_sha256: str = _f("sha256 of its JSON")


@dataclass(frozen=True, kw_only=True)
class CredentialIssued(Event):
    """An agency was issued an API credential; its earlier ones are revoked."""
    TYPE = "CREDENTIAL_ISSUED"
    SERVES = "R33, R36"
    agency: str = _f("the agency")
    cred_id: str = _f("the credential's public id (never its secret)")
    actor: str = _f("who issued it")
    revokes_others: bool = _f("whether the agency's earlier credentials were revoked")


@dataclass(frozen=True, kw_only=True)
class UserAdded(Event):
    """A web account was created."""
    TYPE = "USER_ADDED"
    SERVES = "R33, R36"
    username: str = _f("the account")
    role: str = _f("its role")
    agency: str | None = _f("its agency (agency accounts only)")
    previous_role: str | None = _f("its role before (null for a new account)")
    actor: str = _f("who made the change")


@dataclass(frozen=True, kw_only=True)
class UserChanged(UserAdded):
    """An existing web account was set again: its role, agency or password."""
    TYPE = "USER_CHANGED"
    SERVES = "R33, R36"


@dataclass(frozen=True, kw_only=True)
class AccessChanged(Event):
    """A web account was disabled, enabled or given a new password, or an agency's API
    credential or an official's authority to sign was revoked."""
    TYPE = "ACCESS_CHANGED"
    SERVES = "R2, R33, R36"
    subject: str = _f("what changed: user, credential or official")
    target: str = _f("its user name, credential id, or agency/official id")
    action: str = _f("DISABLED, ENABLED, PASSWORD_RESET or REVOKED")
    actor: str = _f("who made the change")


@dataclass(frozen=True, kw_only=True)
class SignIn(Event):
    """A sign-in to the web pages, successful or not."""
    TYPE = "SIGN_IN"
    SERVES = "R33"
    username: str = _f("the user name tried, cut to 100 characters")
    outcome: str = _f("SUCCESS, FAILURE, SECOND_FACTOR_FAILURE or RATE_LIMITED")
    source: str = _f("the client's address")


@dataclass(frozen=True, kw_only=True)
class SignOut(Event):
    """A web session was ended by its user."""
    TYPE = "SIGN_OUT"
    SERVES = "R33"
    username: str = _f("the user")


@dataclass(frozen=True, kw_only=True)
class LedgerExported(Event):
    """An auditor exported the ledger (JSON Lines with its signed checkpoints)."""
    TYPE = "LEDGER_EXPORTED"
    SERVES = "R28, R33"
    actor: str = _f("who exported it")
    through_seq: int = _f("the last seq the export holds")


@dataclass(frozen=True, kw_only=True)
class OversightViewed(Event):
    """An auditor opened the oversight page (the ledger's review, R34)."""
    TYPE = "OVERSIGHT_VIEWED"
    SERVES = "R33, R34"
    viewer: str = _f("the auditor")


# --- the ledger's own integrity (R28, R34) -----------------------------------------------


@dataclass(frozen=True, kw_only=True)
class Checkpoint(Event):
    """The gateway's signature over the entry before it: every N-th seq and ending each commit."""
    TYPE = "CHECKPOINT"
    SERVES = "R28, R34"
    seq: int = _f("the seq of the entry signed")
    entry_hash: str = _f("that entry's hash")
    signature: str = _f("Ed25519 signature by the gateway key (docs/ledger.md)")


@dataclass(frozen=True, kw_only=True)
class IncidentRecorded(Event):
    """An operator recorded an incident after a failed integrity check; the anchor restarts."""
    TYPE = "INCIDENT_RECORDED"
    SERVES = "R34, R39"
    operator: str = _f("who recorded it")
    note: str = _f("what was found, screened of taxpayer values")
    failure: str | None = _f("the check that failed")
    anchor_seq: int | None = _f("seq of the anchor it supersedes")
    anchor_hash: str | None = _f("hash of the anchor it supersedes")
    head_seq: int = _f("seq of the ledger's head before it")
    head_hash: str = _f("hash of the ledger's head before it")


def render_markdown() -> str:
    """The ledger event reference page, as committed in docs/ledger-events.md."""
    lines = [
        "# Ledger events",
        "",
        "Generated from `taxgate/ledger_events.py` by `python -m taxgate.ledger_events`; a "
        "test keeps this page identical to the code.",
        "",
        "Every ledger entry's `event_type` is one of these, and its payload holds exactly the "
        "fields listed (docs/ledger.md describes the entry around it). A field `tin` or "
        "`*_tin` is logged as `<name>_digest`, a keyed digest, when not null (R34). An event "
        "with a `request_id` field is filed under that request (the entry's `request_id`); "
        "a refusal is filed so only when it was stored under it.",
        "",
        "| event | requirement | meaning |",
        "|---|---|---|",
    ]
    lines += [f"| `{c.TYPE}` | {c.SERVES} | {_meaning(c)} |" for c in EVENTS.values()]
    for c in EVENTS.values():
        names = [f.name for f in declared(c)]
        filed = "filed under its request" if "request_id" in names else "filed under no request"
        lines += ["", f"## {c.TYPE}", "", _meaning(c), "", f"Serves {c.SERVES}; {filed}.",
                  "", "| field | type | meaning |", "|---|---|---|"]
        lines += [f"| `{f.name}` | `{f.type}` | {f.metadata['meaning']} |" for f in declared(c)]
    return "\n".join(lines) + "\n"


def _meaning(cls: type[Event]) -> str:
    return " ".join((cls.__doc__ or "").split())


if __name__ == "__main__":  # pragma: no cover
    sys.stdout.write(render_markdown())
