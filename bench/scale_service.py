"""The service's latency for a one-record request: upload to signed response.

Used by ``bench/scale_sweep.py`` on a store it has loaded: issues an API credential
with the CLI (``taxgate agencies rotate AGENCY --holder OFFICER``, the officer the
record names, so the credential may download the answer, R4), starts ``taxgate serve``
on 127.0.0.1 with a free port, and for each of K fresh one-record packages (new
request id, created_at now, signed again before the clock starts) times from the start
of ``POST /v1/jobs`` until ``GET /v1/jobs/{id}/response.json`` has returned the signed
response. The first request after start is timed apart (``first_s``): it pays for the
server's first store reads.
"""

from __future__ import annotations

import csv
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from scale_stats import median, percentile

if TYPE_CHECKING:
    import httpx

_ENDED = ("DONE", "REFUSED", "FAILED")
POLL_S = 0.02  # between status polls: short, so the latency is not the poll's


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def officer_of(package: Path) -> str:
    """The officer the package's first record names (the credential's holder)."""
    manifest = json.loads((package / "manifest.json").read_text(encoding="utf-8"))
    with (package / manifest["records_file"]).open(encoding="utf-8", newline="") as f:
        return next(csv.DictReader(f))["officer_id"]


def credential(env: dict[str, str], agency: str, holder: str) -> str:
    """An API credential issued with the CLI to ``holder`` of ``agency``."""
    out = subprocess.run([sys.executable, "-m", "taxgate.cli", "agencies", "rotate", agency,
                          "--holder", holder, "--json"], env=env, capture_output=True,
                         text=True, timeout=300)
    if out.returncode != 0:
        raise SystemExit(f"agencies rotate failed ({out.returncode}): {out.stderr[-400:]}")
    return json.loads(out.stdout)["credential"]


class Service:
    """``taxgate serve`` in a subprocess, its output to ``log``."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.env, self.log, self.port = env, log, _port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> Service:
        import httpx

        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "taxgate.cli", "serve", "--host", "127.0.0.1",
                 "--port", str(self.port)], env=self.env, stdout=log, stderr=log)
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"taxgate serve exited ({self.proc.returncode}); see "
                                 f"{self.log}")
            try:
                if httpx.get(self.url + "/openapi.json", timeout=2).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise SystemExit(f"taxgate serve did not answer within 300 s; see {self.log}")

    def __exit__(self, *_: object) -> None:
        if self.proc is None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def one_request(client: httpx.Client, package: Path, timeout: float) -> tuple[float, str]:
    """Upload ``package``, poll until its job ends, fetch its signed response.json;
    the seconds from upload to response, and the job's final state."""
    manifest = (package / "manifest.json").read_bytes()
    records = (package / "records.csv").read_bytes()
    t0 = time.perf_counter()
    r = client.post("/v1/jobs", files={"manifest": ("manifest.json", manifest),
                                       "records": ("records.csv", records)})
    if r.status_code not in (202, 400):
        raise SystemExit(f"POST /v1/jobs answered {r.status_code}: {r.text[:300]}")
    job = r.headers["location"].rsplit("/", 1)[1]
    deadline = t0 + timeout
    while (state := client.get(f"/v1/jobs/{job}").json()["state"]) not in _ENDED:
        if time.perf_counter() > deadline:
            return time.perf_counter() - t0, "TIMED_OUT"
        time.sleep(POLL_S)
    if state != "FAILED":
        got = client.get(f"/v1/jobs/{job}/response.json")
        if got.status_code != 200 or "signature" not in got.json():
            raise SystemExit(f"response.json answered {got.status_code}: {got.text[:300]}")
    return time.perf_counter() - t0, state


def latency(env: dict[str, str], make_package: Callable[[str], Path], count: int,
            log: Path, agency: str = "DHS-ICE", timeout: float = 600) -> dict:
    """Start the service on the store ``env`` names and time ``count`` one-record
    requests after a first one; ``make_package(request_id)`` writes a signed package."""
    import httpx

    first = make_package(f"BENCH-API-{os.getpid()}-{int(time.time())}-0")
    token = credential(env, agency, officer_of(first))
    seconds: list[float] = []
    states: dict[str, int] = {}
    with Service(env, log) as svc, httpx.Client(
            base_url=svc.url, headers={"Authorization": f"Bearer {token}"},
            timeout=timeout) as client:
        first_s, first_state = one_request(client, first, timeout)
        for i in range(1, count + 1):
            pkg = make_package(f"BENCH-API-{os.getpid()}-{int(time.time())}-{i}")
            took, state = one_request(client, pkg, timeout)
            seconds.append(took)
            states[state] = states.get(state, 0) + 1
    return {"requests": count, "first_s": round(first_s, 3), "first_state": first_state,
            "p50_s": _r(median(seconds)), "p99_s": _r(percentile(seconds, 99)),
            "max_s": _r(max(seconds, default=None)), "states": states,
            "seconds": [round(s, 3) for s in seconds]}


def _r(v: float | None) -> float | None:
    return None if v is None else round(v, 3)
