"""Ledger events of accountability: the evidence kept and shown, re-checks, the taxpayers
affected and their notices (R3, R30, R31), return/destroy certifications (R32), and
every access (R4, R33, R36). Declared as
:mod:`taxgate.ledger_events` declares the others (re-exported there); see that module.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from taxgate.ledger_event_types import Event, _f

# --- evidence, re-checks and notices (R3, R30, R31) ------------------------------------


@dataclass(frozen=True, kw_only=True)
class EvidenceViewed(Event):
    """A request's kept evidence was shown (taxgate evidence)."""
    TYPE = "EVIDENCE_VIEWED"
    SERVES = "R3, R30, R33"
    request_id: str = _f("the request whose evidence was shown")
    viewer: str = _f("who asked for it")
    role: str = _f("the viewer's role (operator, or a web account's role)")
    revealed: bool = _f("whether taxpayer values were shown (an auditor's --reveal)")
    signature_verified: bool = _f("whether the kept signature verified again")


@dataclass(frozen=True, kw_only=True)
class RecheckRun(Event):
    """Past confirmations were re-decided under other rules; nothing else changed."""
    TYPE = "RECHECK_RUN"
    SERVES = "R30, R31, R33"
    actor: str = _f("who ran it")
    policy_version: str = _f("the version of the policy re-applied")
    policy_values: dict[str, Any] = _f("every value of that policy")
    selection: dict[str, str | None] = _f("the requests chosen: since, agency")
    requests: int = _f("requests re-decided")
    confirmed: int = _f("confirmed records re-decided")
    no_longer_confirmed: int = _f("of those, records the rules would not confirm now")
    per_reason: dict[str, int] = _f("those records per reason")


@dataclass(frozen=True, kw_only=True)
class AffectedListed(Event):
    """The taxpayers affected by a selection of disclosures were listed (an export)."""
    TYPE = "AFFECTED_LISTED"
    SERVES = "R31, R33"
    actor: str = _f("who listed them")
    selection: dict[str, Any] = _f("requests, policy or model version, user chosen")
    taxpayers: int = _f("taxpayers listed")
    disclosures: int = _f("disclosures about them")
    output_sha256: str | None = _f("sha256 of the file written; null: none")


@dataclass(frozen=True, kw_only=True)
class LetterIssued(Event):
    """A notification letter (26 U.S.C. 7431(e)) was issued to one taxpayer."""
    TYPE = "LETTER_ISSUED"
    SERVES = "R31, R33"
    letter_id: str = _f("the letter's id, printed on it")
    tin: str = _f("the taxpayer notified (logged as tin_digest)")
    disclosures: list[str] = _f("the disclosures it names, as request_id/record_id")
    html_sha256: str = _f("sha256 of the letter (HTML)")
    csv_sha256: str = _f("sha256 of its CSV")
    issued_by: str = _f("who issued it")


@dataclass(frozen=True, kw_only=True)
class EvidencePurged(Event):
    """Kept request packages past the policy's retention were deleted."""
    TYPE = "EVIDENCE_PURGED"
    SERVES = "R3, R40"
    request_ids: list[str] = _f("the requests whose kept package was deleted")
    actor: str = _f("who purged them")


@dataclass(frozen=True, kw_only=True)
class ReturnCertified(Event):
    """An agency certified that the data disclosed for a request was returned or destroyed."""
    TYPE = "RETURN_CERTIFIED"
    SERVES = "R32, R33"
    request_id: str = _f("the request whose disclosed data it covers")
    agency: str = _f("the agency that certified (the request's recipient)")
    disposition: str = _f("RETURNED or DESTROYED")
    certified_by: str = _f("the agency's official who signed the certification")
    certified_on: str = _f("the date on the certification (YYYY-MM-DD)")
    recorded_by: str = _f("who recorded it at the gateway")


# --- access (R4, R33, R36) ---------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class ApiAuthentication(Event):
    """An agency's API credential was checked: accepted or refused (never its secret)."""
    TYPE = "API_AUTHENTICATION"
    SERVES = "R33, R35"
    cred_id: str | None = _f("the credential's public id as presented; null: none")
    agency: str | None = _f("the credential's agency; null: unknown")
    outcome: str = _f("SUCCESS or FAILURE")
    source: str = _f("the client's address")
    client_certificate: str | None = _f("the mutual-TLS certificate's subject; null: none")


@dataclass(frozen=True, kw_only=True)
class ResultsDelivery(Event):
    """A response file was asked for: delivered to a named recipient, or refused (R4)."""
    TYPE = "RESULTS_DELIVERY"
    SERVES = "R4, R33"
    request_id: str | None = _f("the request answered (null: not known yet)")
    job_id: str | None = _f("the HTTP job; null for a follow-up response")
    follow_up_seq: int | None = _f("the follow-up response; null for the first response")
    file: str = _f("response.json or results.csv")
    recipient: str | None = _f("the person the credential was issued to; null: agency-wide")
    cred_id: str = _f("the credential's public id")
    outcome: str = _f("DELIVERED, or NOT_A_NAMED_RECIPIENT (refused)")
    sha256: str | None = _f("sha256 of the bytes delivered; null when refused")


@dataclass(frozen=True, kw_only=True)
class OperatorAction(Event):
    """An administrative command, run by a named operator (docs/cli.md, operator)."""
    TYPE = "OPERATOR_ACTION"
    SERVES = "R33, R36"
    operator: str = _f("who ran it: --operator / TAXGATE_OPERATOR, else os:<login>")
    command: str = _f("the command, e.g. `users add`")
    target: str | None = _f("what it acted on: ids, counts or digests only")
    outcome: str = _f("SUCCESS, or FAILURE (<error class>)")


@dataclass(frozen=True, kw_only=True)
class MfaChanged(Event):
    """A web account's second factor was enrolled, reset, or a recovery code was used."""
    TYPE = "MFA_CHANGED"
    SERVES = "R33, R36"
    username: str = _f("the account")
    change: str = _f("ENROLLED, RESET or RECOVERY_CODE_USED")
    actor: str = _f("who made the change")
