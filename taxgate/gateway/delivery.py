"""Results go to the named recipients only, and each delivery is logged (R4, R33).

R4: a request names the officers and employees personally and directly engaged in the
investigation, and its results are released only to them. A manifest may name them in
the optional field ``recipients`` (a list of ids, as credentials' holders are named;
signed with the rest of the manifest). When it names none, the safe reading is the one
contract §2 already gives: each record names "the officer personally and directly
engaged in that investigation" (``officer_id``), so the recipients are the officers the
records name. A ``recipients`` field that is not a list of non-empty strings names
nobody: no one can download that answer (fail closed).

A response is downloaded with an API credential issued to one person (``agencies
credential AGENCY --holder ID``); it is delivered when that person is a named recipient
(ids compared in their canonical form, :mod:`taxgate.identifiers`), else refused. An
agency-wide credential submits and polls, but downloads no results. A request refused as
a whole is the exception: its answer (every record REJECTED, no taxpayer data consulted)
holds no return information and goes to any credential of the agency. Every delivery
and every refusal is a RESULTS_DELIVERY ledger event (who, which file, its sha256).
"""

from __future__ import annotations

import csv
import hashlib
import json
from pathlib import Path
from typing import TYPE_CHECKING

from taxgate.errors import NotAllowed
from taxgate.identifiers import canonical_key
from taxgate.ledger_events import ResultsDelivery

if TYPE_CHECKING:
    from taxgate.domain import JobRow
    from taxgate.gateway.accounts import ApiCaller
    from taxgate.store.base import Store

MAX_RECIPIENTS = 10_000


def named_recipients(pkg: Path) -> list[str]:
    """The people a spooled request package names as its recipients (see above); []
    when it names none readably."""
    try:
        manifest = json.loads((pkg / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    if not isinstance(manifest, dict):
        return []
    if "recipients" in manifest:
        named = manifest["recipients"]
        ok = isinstance(named, list) and 0 < len(named) <= MAX_RECIPIENTS and all(
            isinstance(r, str) and r.strip() for r in named)
        return sorted({r.strip() for r in named}) if ok else []
    return _officers(pkg / str(manifest.get("records_file", "")))


def _officers(records: Path) -> list[str]:
    """The distinct officer ids the records file names."""
    if not records.is_file() or records.is_symlink():
        return []
    found: set[str] = set()
    try:
        with records.open(encoding="utf-8-sig", newline="") as f:
            for row in csv.DictReader(f):
                officer = (row.get("officer_id") or "").strip()
                if officer:
                    found.add(officer)
                if len(found) > MAX_RECIPIENTS:
                    return []
    except (OSError, UnicodeDecodeError, csv.Error):
        return []
    return sorted(found)


def may_receive(caller: ApiCaller, job: JobRow | None, recipients: list[str] | None) -> bool:
    """Whether ``caller`` may download the answer: a refusal to any credential of the
    agency, any other answer only to a named recipient."""
    if job is not None and job.exit_code not in (0, None):
        return True
    if caller.holder is None or not recipients:
        return False
    key = canonical_key(caller.holder)
    return key is not None and key in {canonical_key(r) for r in recipients}


def deliver(store: Store, caller: ApiCaller, data: bytes, *, file: str,
            request_id: str | None, job: JobRow | None = None, follow_up_seq: int | None = None,
            recipients: list[str] | None = None) -> bytes:
    """``data`` when ``caller`` may receive it (NotAllowed otherwise); either way logged."""
    if job is not None and recipients is None:
        recipients = json.loads(job.recipients) if job.recipients else []
    allowed = may_receive(caller, job, recipients)
    store.append_events([ResultsDelivery(
        request_id=request_id, job_id=job.job_id if job else None,
        follow_up_seq=follow_up_seq, file=file, recipient=caller.holder,
        cred_id=caller.cred_id, outcome="DELIVERED" if allowed else "NOT_A_NAMED_RECIPIENT",
        sha256=hashlib.sha256(data).hexdigest() if allowed else None).to_event()])
    if not allowed:
        raise NotAllowed("results are delivered only to a person the request names as "
                         "engaged in the investigation (R4); use a credential issued to "
                         "that person (--holder)")
    return data


def request_recipients(jobs: list[JobRow], request_id: str, agency: str) -> list[str]:
    """The recipients of a request answered over HTTP: those of its jobs that passed
    intake (a refused upload reusing the id names no one)."""
    found: set[str] = set()
    for j in jobs:
        if j.request_id == request_id and j.agency == agency and j.exit_code == 0 \
                and j.recipients:
            found.update(json.loads(j.recipients))
    return sorted(found)
