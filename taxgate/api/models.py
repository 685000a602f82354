"""The API's response models: ids, states, counts per outcome and reason codes only.

Every model forbids extra fields, and none has a field a taxpayer value could go in.
"""

from __future__ import annotations

import json
from typing import Literal

from pydantic import BaseModel, ConfigDict

from taxgate.gateway.jobs import JobView
from taxgate.records import Outcome


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ProblemDetails(_Strict):
    """An error, as RFC 9457 problem details (``application/problem+json``); ``code`` is
    one of :data:`taxgate.api.problems.PROBLEMS` (docs/problems.md)."""

    type: str
    title: str
    status: int
    detail: str
    code: str
    reason: str | None = None  # REQUEST_REFUSED: the request's reason code
    instance: str | None = None  # REQUEST_REFUSED: the job holding the signed refusal


class JobAccepted(_Strict):
    job_id: str
    state: Literal["QUEUED"]
    status_url: str


class JobStatus(_Strict):
    job_id: str
    state: Literal["QUEUED", "RUNNING", "DONE", "REFUSED", "FAILED", "EXPIRED"]
    request_id: str | None
    stage: str
    records_done: int
    records_total: int | None
    counts: dict[Outcome, int]
    exit_code: int | None
    message: str | None
    submitted_at: str
    updated_at: str
    expires_at: str | None


class JobPage(_Strict):
    """One page of this agency's jobs, oldest first; ``next_cursor`` fetches the next
    (null on the last page)."""

    items: list[JobStatus]
    next_cursor: str | None


class FollowUpInfo(_Strict):
    request_id: str
    seq: int
    created_at: str
    counts: dict[Outcome, int]


class FollowUpPage(_Strict):
    """One page of a request's follow-up responses, in order of ``seq``."""

    items: list[FollowUpInfo]
    next_cursor: str | None


def status_of(v: JobView) -> JobStatus:
    """The public status of one job, from its row and its progress."""
    r = v.row
    counts = {Outcome(k): int(n) for k, n in json.loads(r.counts_json or "{}").items()}
    return JobStatus(job_id=r.job_id, state=r.state, request_id=r.request_id,  # type: ignore[arg-type]
                     stage=v.progress.stage, records_done=v.progress.done,
                     records_total=v.progress.total, counts=counts, exit_code=r.exit_code,
                     message=r.message, submitted_at=r.submitted_at, updated_at=r.updated_at,
                     expires_at=r.expires_at)
