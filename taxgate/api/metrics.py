"""Prometheus metrics of the service, in the text exposition format (``GET /metrics``).

Only counts, states, stage names and route templates: never a path as sent, a request
or job id, an agency, or any value from a package or the store (R37).

- ``taxgate_http_requests_total{method,route,status}``: requests answered, by route
  template (``/v1/jobs/{job_id}``; ``unmatched`` for no route) and status.
- ``taxgate_jobs{state}``: jobs on the board, by state.
- ``taxgate_job_queue_length``: jobs waiting for the worker (QUEUED).
- ``taxgate_job_running``: 1 while the worker runs a job.
- ``taxgate_job_stage_seconds_sum{stage}``, ``..._count{stage}``: time spent in each
  pipeline stage by the jobs finished since the server started.
"""

from __future__ import annotations

import threading
from collections import Counter
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI, Request
from fastapi.responses import Response

if TYPE_CHECKING:
    from taxgate.gateway.jobs import JobRunner

MEDIA_TYPE = "text/plain; version=0.0.4; charset=utf-8"
_METHODS = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}


class Metrics:
    """Request counts of one app (its jobs are read from the job board when rendered)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.requests: Counter[tuple[str, str, int]] = Counter()

    def count(self, method: str, route: str, status: int) -> None:
        with self._lock:
            self.requests[(method if method in _METHODS else "OTHER", route, status)] += 1

    def render(self, jobs: JobRunner) -> str:
        """The exposition text."""
        from taxgate.gateway.jobs import QUEUED, STATES

        with self._lock:
            requests = sorted(self.requests.items())
        states = Counter(v.row.state for v in list(jobs.board.values()))
        out = ["# HELP taxgate_http_requests_total HTTP requests answered, by route and status.",
               "# TYPE taxgate_http_requests_total counter"]
        out += [f'taxgate_http_requests_total{{method="{m}",route="{_esc(r)}",status="{s}"}} {n}'
                for (m, r, s), n in requests]
        out += ["# HELP taxgate_jobs Jobs on the board, by state.", "# TYPE taxgate_jobs gauge"]
        out += [f'taxgate_jobs{{state="{s}"}} {states.get(s, 0)}' for s in STATES]
        out += ["# HELP taxgate_job_queue_length Jobs waiting for the worker.",
                "# TYPE taxgate_job_queue_length gauge",
                f"taxgate_job_queue_length {states.get(QUEUED, 0)}",
                "# HELP taxgate_job_running 1 while the worker runs a job.",
                "# TYPE taxgate_job_running gauge",
                f"taxgate_job_running {int(jobs.running is not None)}",
                "# HELP taxgate_job_stage_seconds Seconds spent in each pipeline stage.",
                "# TYPE taxgate_job_stage_seconds summary"]
        for stage, (n, seconds) in sorted(dict(jobs.stage_seconds).items()):
            out += [f'taxgate_job_stage_seconds_sum{{stage="{_esc(stage)}"}} {seconds:.6f}',
                    f'taxgate_job_stage_seconds_count{{stage="{_esc(stage)}"}} {n}']
        return "\n".join(out) + "\n"


def _esc(label: str) -> str:
    return label.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def install_metrics(app: FastAPI, metrics: Metrics) -> None:
    """Count every request the app answers by its route template and status."""
    @app.middleware("http")
    async def count_requests(request: Request, call_next: Any) -> Response:
        try:
            response: Response = await call_next(request)
        except Exception:
            metrics.count(request.method, _route(request), 500)
            raise
        metrics.count(request.method, _route(request), response.status_code)
        return response


def _route(request: Request) -> str:
    route = request.scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else "unmatched"
