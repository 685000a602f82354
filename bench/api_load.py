"""Load on the local service: status polls per second, and the time to accept a
1.28-million-record upload. Loopback only, bounded in count and time.

    python bench/api_load.py [--records 1280000] [--seconds 10] [--connections 16]

Builds a small synthetic world in a temporary folder, starts `taxgate serve` on
127.0.0.1 with a free port, answers one request (so there is a job to poll), then

1. polls GET /v1/jobs/{id} for --seconds with `wrk` when it is installed
   (`apt-get install -y wrk`), else with a bounded Python thread pool;
2. streams a request package of --records records (about 150 bytes each) to
   POST /v1/jobs and times until the answer. Its manifest's signature is deliberately
   invalid, so the gateway refuses it as a whole and never matches 1.28M records on the
   benchmark machine; what is timed is streaming it to the spool and the check at upload
   (the package's digest, the signature: 400 REQUEST_REFUSED naming the job).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

from taxgate.canonical import new_data_key, sha256_file
from taxgate.gateway import Gateway
from taxgate.settings import Settings
from taxgate.synth import synth_all

_ENDED = ("DONE", "REFUSED", "FAILED")


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _world(root: Path) -> tuple[dict[str, str], str, Path]:
    paths = synth_all(root / "synthetic", 2_000, 300, seed=5)
    key = new_data_key()
    settings = Settings(store=str(root / "store"), key_hex=key)
    with Gateway(settings) as gw:
        gw.init()
        gw.load(paths.taxpayers)
        token = gw.issue_credential("DHS-ICE", "bench")
    env = {"TAXGATE_STORE": settings.store, "TAXGATE_KEY": key,
           "TAXGATE_SPOOL": str(root / "spool")}
    return env, token, paths.request_dir


def _big_package(root: Path, n: int) -> Path:
    pkg = root / "big"
    pkg.mkdir()
    row = ("{i},MARIA,,GARCIA,LOPEZ,1980-01-02,,,123 N MAIN ST,APT 4,SPRINGFIELD,IL,62701,"
           "2025-01-02,,CASE-{c},officer-{o}\n")
    with (pkg / "records.csv").open("w", encoding="utf-8") as f:
        f.write("record_id,first_name,middle_name,last_name,second_last_name,date_of_birth,"
                "tin,a_number,street_address,unit,city,state,zip,removal_order_date,"
                "judicial_review_date,case_number,officer_id\n")
        for i in range(n):
            f.write(row.format(i=i, c=i, o=i // 500))
    manifest = {"contract_version": 1, "request_id": "ICE-BENCH-BIG",
                "requesting_agency": "DHS-ICE", "signing_official": "ice-director",
                "legal_authority": "26 U.S.C. 6103(i)(2)",
                "criminal_statute": "8 U.S.C. 1253(a)(1)",
                "taxable_periods": [2024, 2025], "reason": "benchmark of the upload path only",
                "created_at": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "records_file": "records.csv",
                "records_sha256": sha256_file(pkg / "records.csv"), "record_count": n,
                "signature": "AAAA"}
    (pkg / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    return pkg


def _python_poll(url: str, headers: dict[str, str], seconds: float, workers: int) -> dict:
    stop = time.monotonic() + seconds
    counts = [0] * workers
    errors = [0] * workers

    def run(i: int) -> None:
        with httpx.Client(headers=headers, timeout=10) as c:
            while time.monotonic() < stop:
                r = c.get(url)
                counts[i] += 1
                errors[i] += r.status_code != 200

    threads = [threading.Thread(target=run, args=(i,)) for i in range(workers)]
    t0 = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    took = time.monotonic() - t0
    return {"tool": f"python httpx, {workers} threads", "requests": sum(counts),
            "errors": sum(errors), "seconds": round(took, 2),
            "rps": round(sum(counts) / took, 1)}


def _wrk_poll(url: str, token: str, seconds: int, connections: int) -> dict:
    out = subprocess.run(["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency",
                          "-H", f"Authorization: Bearer {token}", url],
                         capture_output=True, text=True, timeout=seconds + 30).stdout
    rps = next(float(ln.split()[1]) for ln in out.splitlines() if ln.startswith("Requests/sec"))
    return {"tool": f"wrk -t2 -c{connections} -d{seconds}s", "rps": rps, "raw": out}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--records", type=int, default=1_280_000)
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--connections", type=int, default=16)
    ap.add_argument("--out", type=Path, default=None, help="append the figures as JSON here")
    a = ap.parse_args()
    root = Path(tempfile.mkdtemp(prefix="taxgate-bench-api-"))
    proc = None
    try:
        env, token, request_dir = _world(root)
        port = _port()
        base = f"http://127.0.0.1:{port}"
        proc = subprocess.Popen([sys.executable, "-m", "taxgate.cli", "serve", "--port",
                                 str(port)], env={**os.environ, **env},
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        headers = {"Authorization": f"Bearer {token}"}
        with httpx.Client(base_url=base, headers=headers, timeout=600) as c:
            for _ in range(600):
                try:
                    if c.get("/openapi.json").status_code == 200:
                        break
                except httpx.HTTPError:
                    time.sleep(0.1)
            m = (request_dir / "manifest.json").read_bytes()
            with (request_dir / "records.csv").open("rb") as f:
                job = c.post("/v1/jobs", files={"manifest": ("manifest.json", m),
                                                "records": ("records.csv", f)}).json()
            while c.get(f"/v1/jobs/{job['job_id']}").json()["state"] not in _ENDED:
                time.sleep(0.2)
            url = f"{base}/v1/jobs/{job['job_id']}"
            poll = (_wrk_poll(url, token, a.seconds, a.connections) if shutil.which("wrk")
                    else _python_poll(url, headers, a.seconds, 8))
            pkg = _big_package(root, a.records)
            size = (pkg / "records.csv").stat().st_size
            with (pkg / "records.csv").open("rb") as f:
                t0 = time.perf_counter()
                r = c.post("/v1/jobs", files={"manifest": ("manifest.json",
                                                           (pkg / "manifest.json").read_bytes()),
                                              "records": ("records.csv", f)})
                accept_s = time.perf_counter() - t0
            assert r.status_code in (202, 400), r.text  # 400: REQUEST_REFUSED at upload
            big = r.headers["location"].rsplit("/", 1)[1]
            t1 = time.perf_counter()
            while (st := c.get(f"/v1/jobs/{big}").json())["state"] not in _ENDED:
                time.sleep(0.5)
            refuse_s = time.perf_counter() - t1
        result = {"poll": {k: v for k, v in poll.items() if k != "raw"},
                  "upload": {"records": a.records, "bytes": size,
                             "accept_seconds": round(accept_s, 2),
                             "mib_per_second": round(size / 2**20 / accept_s, 1),
                             "then_refused_seconds": round(refuse_s, 2),
                             "job_message": st.get("message")}}
        print(json.dumps(result, indent=2))
        if "raw" in poll:
            print(poll["raw"])
        if a.out:
            with a.out.open("a", encoding="utf-8") as f:
                f.write(json.dumps(result) + "\n")
    finally:
        if proc is not None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
