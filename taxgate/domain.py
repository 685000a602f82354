"""The gateway's domain records: what the stages hand over and the store keeps.

Officials, stored requests, ledger events and entries, a processed request's outcome and
the decisions table's columns, agency credentials, web accounts, jobs, REVIEW records and
their decisions, follow-up responses. Plain frozen dataclasses with no behaviour beyond
their own fields, so any layer may hold them; :mod:`taxgate.store.base` re-exports them
beside the :class:`~taxgate.store.base.Store` interface that persists them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pyarrow as pa


@dataclass(frozen=True)
class Official:
    """An entry of the authorized-signer registry (R1, R2)."""

    official_id: str
    agency: str
    title: str
    public_key_pem: str
    valid_from: dt.date
    valid_to: dt.date | None = None

    def valid_on(self, day: dt.date) -> bool:
        return self.valid_from <= day and (self.valid_to is None or day <= self.valid_to)


@dataclass(frozen=True)
class StoredRequest:
    """What the store remembers of a request it has seen."""

    request_id: str
    package_sha256: str  # sha256 over the manifest bytes and the records bytes
    status: str  # "COMPLETE" or "REFUSED"
    received_at: str
    completed_at: str | None
    response_json: str | None  # the signed response.json, byte for byte
    agency: str | None = None  # the (authenticated) agency that sent it; None: stored before


@dataclass(frozen=True)
class LedgerEvent:
    """Something to be appended to the ledger; the ledger adds seq, time and hashes.
    Made by :meth:`taxgate.ledger_events.Event.to_event` (the stores copy one to replace
    a TIN by its digest)."""

    event_type: str
    payload: dict[str, Any]
    request_id: str | None = None


@dataclass(frozen=True)
class PayloadBatch:
    """Many ledger events of one type and request whose payloads are already in the form
    the ledger logs: canonical JSON bytes, a TIN as its keyed digest (a request's
    DISCLOSUREs, made by :class:`taxgate.pipeline.disclosures.DisclosureTemplate`).
    ``fields``: the payloads' field names, the same in each, checked once by the store."""

    event_type: str
    request_id: str | None
    fields: tuple[str, ...]
    payloads: Sequence[bytes]


LedgerItem = LedgerEvent | PayloadBatch  # what a store's ledger takes, in order


@dataclass(frozen=True)
class LedgerEntry:
    """One stored, hash-chained ledger entry."""

    seq: int
    recorded_at: str
    event_type: str
    request_id: str | None
    payload: dict[str, Any]
    prev_hash: str
    entry_hash: str


@dataclass
class RequestOutcome:
    """A processed request, ready to be committed in one transaction."""

    request_id: str
    package_sha256: str
    received_at: str
    completed_at: str
    response_json: str
    decisions: pa.Table  # columns: see DECISION_COLUMNS
    events: Iterable[LedgerItem] = field(default_factory=list)  # may be lazy: read once
    agency: str | None = None  # the requesting agency, authenticated by the signature
    evidence: Iterable[EvidencePart] = ()  # kept with it, sealed (R3, R30); may be lazy


@dataclass(frozen=True)
class EvidencePart:
    """A part of what is kept as evidence (R3, R30): the signed manifest or a slice of the
    records file of a request (``ref``: its request_id), or the values of a policy version
    (``ref``: the version). The store seals ``data`` under the at-rest key; ``expires_at``:
    when it may be purged (None: kept for good)."""

    kind: str  # "manifest", "records" or "policy"
    ref: str
    part: int
    data: bytes
    expires_at: str | None = None


# Columns of the decisions table (one row per submitted record).
DECISION_COLUMNS = (
    "request_id",  # VARCHAR
    "row_number",  # BIGINT, 1-based position in the records file
    "record_id",  # VARCHAR
    "outcome",  # VARCHAR: CONFIRMED / NOT_CONFIRMED / REJECTED / REVIEW
    "reasons",  # VARCHAR, ';'-separated
    "tin",  # VARCHAR, the matched taxpayer (NULL unless one was found): never leaves
    "match_probability",  # DOUBLE, NULL when not matched
    "evidence",  # VARCHAR (JSON): per-field levels and weights, for reviewers/auditors
    "model_version",  # VARCHAR
    "policy_version",  # VARCHAR
)


@dataclass(frozen=True)
class ApiCredential:
    """An agency's API credential: only a salted hash of the secret is kept."""

    cred_id: str
    agency: str
    salt: str
    hash: str
    created_at: str
    revoked_at: str | None = None
    holder: str | None = None  # the person it was issued to (R4); None: the agency's own


@dataclass(frozen=True)
class UserAccount:
    """A person who signs in to the web pages (role: reviewer, releaser, auditor, agency)."""

    username: str
    role: str
    agency: str | None
    salt: str
    hash: str
    created_at: str
    disabled_at: str | None = None


@dataclass(frozen=True)
class UserMfa:
    """A web account's second factor (R36): its TOTP secret, sealed under the at-rest key,
    and the salted hashes of its unused recovery codes (JSON)."""

    username: str
    sealed: bytes
    recovery_json: str
    enrolled_at: str


@dataclass(frozen=True)
class JobRow:
    """A request package submitted over HTTP, and where its processing stands."""

    job_id: str
    agency: str
    request_id: str | None
    state: str  # QUEUED, RUNNING, DONE, FAILED
    submitted_at: str
    updated_at: str
    exit_code: int | None = None
    message: str | None = None
    counts_json: str | None = None
    expires_at: str | None = None
    recipients: str | None = None  # JSON list: who may download its response (R4)


@dataclass(frozen=True)
class ReviewItem:
    """A REVIEW record held for disclosure officers; ``sealed`` is the request record
    and the request's accounting fields, encrypted under the at-rest key."""

    request_id: str
    row_number: int
    record_id: str
    agency: str
    captured_at: str
    sealed: bytes


@dataclass(frozen=True)
class ReviewDecision:
    """A proposed (and, once released, final) outcome of a REVIEW record (R23, R36)."""

    request_id: str
    row_number: int
    outcome: str
    reason: str
    proposed_by: str
    proposed_at: str
    released_by: str | None = None
    released_at: str | None = None
    follow_up_seq: int | None = None
    note: str | None = None  # the officer's screened note beside the reason code


@dataclass(frozen=True)
class ReviewStep:
    """One step in a REVIEW record's history: PROPOSED, SENT_BACK or RELEASED, by whom,
    when, and the outcome, reason code and screened note it carried."""

    request_id: str
    row_number: int
    step: int
    action: str
    actor: str
    acted_at: str
    outcome: str | None
    reason: str | None
    note: str | None


@dataclass(frozen=True)
class FollowUp:
    """A follow-up response: the final outcomes of released REVIEW records."""

    request_id: str
    seq: int
    created_at: str
    response_json: str
    results_csv: str


@dataclass(frozen=True)
class LoadRow:
    """One load of taxpayer filings: when, how many, and the file it came from (its
    sha256 and name; None for loads stored before they were remembered)."""

    load_id: str
    loaded_at: str
    row_count: int
    min_filing_id: int
    max_filing_id: int
    sha256: str | None = None
    source: str | None = None


@dataclass(frozen=True)
class ModelRow:
    """One stored version of the person-match model: when it was trained, on how many
    filings (None for models stored before that was remembered), whether it is current."""

    version: str
    trained_at: str
    filing_count: int | None
    current: bool


@dataclass(frozen=True)
class SafeguardsStatus:
    """An agency's 6103(p)(4) safeguards status as last set (R7)."""

    agency: str
    current: bool
    changed_at: str
    changed_by: str
    note: str


@dataclass(frozen=True)
class LoadOrigin:
    """Where a load's filings come from: the file's sha256 and name; ``force`` loads it
    even when a load of the same digest is stored."""

    sha256: str
    source: str
    force: bool = False
