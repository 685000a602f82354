"""Counsel's view of one request (R3, R30): what was asked, who signed it, what rules and
model decided each record, and why, from the evidence the store kept.

The signed manifest and records file kept with the answer (:mod:`taxgate.pipeline.keep`)
are read back through intake and the signature is verified again against the registry
(as of the day of receipt); the policy values of every policy version and the model of
every model version named by the decisions are looked up; each record's decision comes
with its evidence (per-field levels and weights, scores, review reasons), never a
taxpayer value, unless ``reveal`` is asked for by an enabled ``auditor`` account: then the
record as submitted and the matched TIN are shown too. Every access is an
EVIDENCE_VIEWED ledger event (R33).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import duckdb

from taxgate import intake
from taxgate.canonical import sha256_hex
from taxgate.domain import ReviewDecision, StoredRequest
from taxgate.errors import NotAllowed, NotFound, RequestRefused
from taxgate.ledger_events import EvidencePurged, EvidenceViewed
from taxgate.pipeline.common import now
from taxgate.pipeline.keep import kept_package
from taxgate.records import REQUEST_COLUMNS
from taxgate.store.base import Store
from taxgate.store.common import key_fingerprint

REVEAL_ROLE = "auditor"  # the web role whose account may see taxpayer values here
OPERATOR = "operator"  # the role of a viewer who names no web account


@dataclass(frozen=True)
class Signature:
    """The kept manifest's signature, verified again (R1, R3)."""

    official: str | None
    agency: str | None
    verified: bool
    problem: str | None  # the reason code when it does not verify now
    key_sha256: str | None  # the registered key of the official it names


@dataclass(frozen=True)
class RecordEvidence:
    """One record's decision and why; ``tin`` and ``submitted`` only when revealed."""

    row_number: int
    record_id: str
    outcome: str
    reasons: str
    match_probability: float | None
    evidence: dict[str, Any] | None
    model_version: str | None
    policy_version: str | None
    tin: str | None = None
    submitted: dict[str, str | None] | None = None


@dataclass(frozen=True)
class Evidence:
    """Everything kept about one request, as counsel reads it."""

    request: StoredRequest
    manifest: dict[str, Any] | None  # the signed manifest as kept (None: not kept)
    package_sha256_kept: str | None  # the kept files' digest, to match the one recorded
    signature: Signature
    policies: dict[str, dict[str, Any] | None]  # version -> its values (None: not kept)
    models: dict[str, str | None]  # version -> sha256 of its JSON (None: not kept)
    records: list[RecordEvidence]
    reviews: list[ReviewDecision]
    revealed: bool

    @property
    def package_matches(self) -> bool:
        return self.package_sha256_kept == self.request.package_sha256


def evidence(store: Store, request_id: str, *, viewer: str, reveal: bool = False) -> Evidence:
    """The evidence of ``request_id`` for ``viewer``; logged (EVIDENCE_VIEWED).
    ``reveal``: also the records as submitted and the matched TINs, for an enabled
    account of role ``auditor`` only (NotAllowed otherwise)."""
    stored = store.find_request(request_id)
    if stored is None:
        raise NotFound(f"no request {request_id} is stored")
    role = _role(store, viewer, reveal)
    submitted: dict[int, dict[str, str | None]] = {}
    with kept_package(store, request_id) as pkg:
        signature = _signature(store, pkg, stored)
        manifest = pkg.manifest.raw if pkg is not None and pkg.manifest is not None else None
        kept_digest = pkg.package_sha256 if pkg is not None else None
        if reveal and pkg is not None and pkg.records_path is not None:
            submitted = _submitted(pkg)
    rows = store.decisions(request_id).sort_by("row_number").to_pylist()
    found = Evidence(
        request=stored, manifest=manifest, package_sha256_kept=kept_digest,
        signature=signature,
        policies={v: _policy(store, v) for v in _distinct(rows, "policy_version")},
        models={v: _model_digest(store, v) for v in _distinct(rows, "model_version")},
        records=[_record(r, submitted.get(int(r["row_number"])), reveal) for r in rows],
        reviews=store.review_decisions(request_id), revealed=reveal)
    store.append_events([EvidenceViewed(
        request_id=request_id, viewer=viewer, role=role, revealed=reveal,
        signature_verified=signature.verified).to_event()])
    return found


def _role(store: Store, viewer: str, reveal: bool) -> str:
    """The viewer's role: a web account's, or ``operator``; revealing needs an auditor."""
    user = store.user(viewer)
    if not reveal:
        return user.role if user is not None and user.disabled_at is None else OPERATOR
    if user is None or user.disabled_at is not None or user.role != REVEAL_ROLE:
        raise NotAllowed(f"--reveal needs the name of an enabled {REVEAL_ROLE} account")
    return user.role


def _signature(store: Store, pkg: intake.Package | None, stored: StoredRequest) -> Signature:
    """The kept manifest's signature verified again, as of the day of receipt."""
    if pkg is None or pkg.manifest is None:
        return Signature(None, stored.agency, False, "NOT_KEPT", None)
    raw = pkg.manifest.raw
    officials = store.officials(raw["requesting_agency"])
    named = [o for o in officials if o.official_id == raw["signing_official"]]
    try:
        intake.check_signature(pkg.manifest, officials,
                               intake.parse_created_at(stored.received_at).date())
        problem = None
    except RequestRefused as exc:
        problem = exc.reason
    return Signature(raw["signing_official"], raw["requesting_agency"], problem is None,
                     problem, key_fingerprint(named[0].public_key_pem) if named else None)


def _submitted(pkg: intake.Package) -> dict[int, dict[str, str | None]]:
    """The records as submitted, by row number (read in a private in-memory database)."""
    assert pkg.records_path is not None
    con = duckdb.connect()
    try:
        intake.load_records(con, pkg.records_path, "_kept_records", any_columns=True)
        cols = [c for c in REQUEST_COLUMNS
                if c in {d[0] for d in con.execute("DESCRIBE _kept_records").fetchall()}]
        rows = con.execute(f"SELECT row_number, {', '.join(cols)} FROM _kept_records"
                           ).fetchall()
    finally:
        con.close()
    return {int(r[0]): dict(zip(cols, r[1:], strict=True)) for r in rows}


def _distinct(rows: list[dict[str, Any]], column: str) -> list[str]:
    return sorted({r[column] for r in rows if r[column]})


def _policy(store: Store, version: str) -> dict[str, Any] | None:
    kept = store.kept("policy", version)
    return json.loads(kept) if kept is not None else None


def _model_digest(store: Store, version: str) -> str | None:
    model = store.model_json(version)
    return sha256_hex(model.encode("utf-8")) if model is not None else None


def _record(row: dict[str, Any], submitted: dict[str, str | None] | None,
            reveal: bool) -> RecordEvidence:
    ev = json.loads(row["evidence"]) if row["evidence"] else None
    return RecordEvidence(
        row_number=int(row["row_number"]), record_id=row["record_id"] or "",
        outcome=row["outcome"], reasons=row["reasons"] or "",
        match_probability=row["match_probability"], evidence=ev,
        model_version=row["model_version"], policy_version=row["policy_version"],
        tin=row["tin"] if reveal else None, submitted=submitted if reveal else None)


def purge(store: Store, actor: str) -> list[str]:
    """Delete the kept packages past the policy's retention (their expiry was set when
    each was kept); logged (EVIDENCE_PURGED). The requests whose packages went."""
    return store.purge_evidence(now(), lambda refs: [
        EvidencePurged(request_ids=refs, actor=actor).to_event()])
