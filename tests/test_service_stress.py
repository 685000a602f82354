"""The service under stress and race, against a real `taxgate serve` on 127.0.0.1:
half-open connections, connection floods, sign-in guessing behind one address,
duplicate JSON keys in uploads, and symbolic links in the spool. Loopback only,
every loop bounded, each server stopped by its test."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import socket
import time
from collections.abc import Iterator
from dataclasses import replace

import httpx
import pytest
from api_world import PASSWORD, Server, fresh_request, job_of, shared_world, wait_done

from taxgate.gateway import Gateway
from taxgate.gateway.jobs import FAILED, private_dir
from taxgate.settings import ServiceSettings

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("service")]

PARTIAL = b"GET /openapi.json HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: 1"  # no blank line


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory):
    return shared_world("embedded", tmp_path_factory, None)


@contextlib.contextmanager
def serving(world, **env: str) -> Iterator[Server]:  # noqa: ANN001
    srv = Server(world, **env).start()
    try:
        yield srv
    finally:
        srv.stop()


@contextlib.contextmanager
def half_open(port: int, n: int) -> Iterator[list[socket.socket]]:
    """``n`` connections that send part of a request head and then nothing."""
    socks = []
    try:
        for _ in range(n):
            s = socket.create_connection(("127.0.0.1", port), timeout=5)
            s.sendall(PARTIAL)
            socks.append(s)
        yield socks
    finally:
        for s in socks:
            s.close()


def _closed_by_server(s: socket.socket, deadline: float) -> bool:
    s.settimeout(max(0.01, deadline - time.monotonic()))
    try:
        return s.recv(1024) == b""
    except (ConnectionResetError, BrokenPipeError):
        return True
    except TimeoutError:
        return False


def test_half_open_connections_do_not_starve_other_clients(world):
    """210 connections that never finish their request headers: a normal request is
    still answered at once (the review saw 503 for everyone), and the server closes
    every idle one within its header timeout."""
    with serving(world, TAXGATE_HEADER_TIMEOUT="3") as srv, half_open(srv.port, 210) as socks:
        opened = time.monotonic()
        t0 = time.monotonic()
        r = httpx.get(srv.url + "/openapi.json", timeout=5)
        assert r.status_code == 200 and time.monotonic() - t0 < 3
        deadline = opened + 3 + 2  # the timeout plus scheduling slack
        still_open = [s for s in socks if not _closed_by_server(s, deadline)]
        assert not still_open, f"{len(still_open)} idle connections still open"
        assert httpx.get(srv.url + "/openapi.json", timeout=5).status_code == 200


def test_a_connection_flood_closes_the_oldest_waiting_connection_first(world):
    """Past max_connections, a new client is served and the oldest connections still
    sending headers make room (long before their header timeout)."""
    with serving(world, TAXGATE_HEADER_TIMEOUT="60", TAXGATE_MAX_CONNECTIONS="50") as srv, \
            half_open(srv.port, 120) as socks:
        r = httpx.get(srv.url + "/openapi.json", timeout=5)
        assert r.status_code == 200
        deadline = time.monotonic() + 2
        closed = [_closed_by_server(s, deadline) for s in socks[:60]]
        assert all(closed), f"{closed.count(False)} of the oldest still open"
        assert not _closed_by_server(socks[-1], time.monotonic() + 0.3)  # the newest waits


def _sign_in(srv: Server, user: str, password: str) -> int:
    """One sign-in from a browser of its own (all from 127.0.0.1: one address)."""
    with srv.client() as c:
        token = c.get("/login").text.split('name="csrf" value="')[1].split('"')[0]
        return c.post("/login", data={"username": user, "password": password,
                                      "csrf": token}).status_code


def test_sign_in_failures_lock_the_account_never_everyone_behind_the_address(world):
    """R33/R36: five wrong passwords for one account lock that account (429), not the
    address: another officer behind the same address signs in (the review found every
    user there locked out). Many failures from one address slow it down, never lock it."""
    with serving(world, TAXGATE_LOGIN_ADDRESS_FAILURES="8") as srv:
        codes = [_sign_in(srv, "ada", "wrong password!") for _ in range(6)]
        assert codes == [401] * 5 + [429]
        assert _sign_in(srv, "ada", PASSWORD) == 429  # the account waits out its window
        assert _sign_in(srv, "ADA ", PASSWORD) == 429  # however its name is spelled
        assert _sign_in(srv, "rita", PASSWORD) == 303
        for i in range(6):  # guessing across many names: no account locked
            assert _sign_in(srv, f"nobody{i}", "wrong password!") == 401
        t0 = time.monotonic()
        assert _sign_in(srv, "remy", PASSWORD) == 303  # 11 failures > 8: slowed, still in
        assert time.monotonic() - t0 >= 1.0


def _upload(c: httpx.Client, manifest: bytes, records: bytes) -> httpx.Response:
    return c.post("/v1/jobs", files={"manifest": ("manifest.json", manifest),
                                     "records": ("records.csv", records)})


def test_duplicate_json_keys_in_an_upload_are_refused(world, tmp_path):
    """A manifest naming requesting_agency twice (one value checked here, another
    read elsewhere) is refused with 400 and a problem code before anything is queued."""
    req = fresh_request(world, tmp_path, "ICE-DUPKEY-1")
    signed = (req / "manifest.json").read_text(encoding="utf-8")
    doubled = '{"requesting_agency": "DHS-CBP", ' + signed.lstrip()[1:]
    assert json.loads(doubled)["requesting_agency"] == "DHS-ICE"  # last one wins in Python
    nested = signed.rstrip()[:-1] + ', "extra": {"a": 1, "a": 2}}'
    records = (req / "records.csv").read_bytes()
    with serving(world) as srv, srv.client(world.token) as c:
        before = {j["job_id"] for j in c.get("/v1/jobs?limit=1000").json()["items"]}
        for manifest in (doubled, nested):
            r = _upload(c, manifest.encode(), records)
            assert r.status_code == 400, r.text
            assert r.json()["code"] == "DUPLICATE_JSON_KEY"
        assert {j["job_id"] for j in c.get("/v1/jobs?limit=1000").json()["items"]} == before
    assert not list((world.root / "spool").glob("job-*/package"))


def test_a_symlink_in_a_spooled_package_is_refused(world, tmp_path):
    """The job worker reads only plain files it spooled itself: a records file that is a
    symbolic link (to another package, or any file) fails the job, nothing is stored."""
    req = fresh_request(world, tmp_path, "ICE-SYMLINK-1")
    settings = replace(world.settings, service=ServiceSettings(spool_dir=tmp_path / "spool"))
    with Gateway(settings) as gw:
        runner = gw.jobs
        job_id = runner.new_job_id()
        pkg = private_dir(runner.package_dir(job_id))
        (pkg / "manifest.json").write_bytes((req / "manifest.json").read_bytes())
        os.symlink(req / "records.csv", pkg / "records.csv")
        runner.accept(job_id, "DHS-ICE", "ICE-SYMLINK-1")
        runner.run_one(runner.board[job_id])
        row = runner.board[job_id].row
        assert row.state == FAILED and "symbolic link" in (row.message or "")
        with gw.lock() as store:
            assert store.find_request("ICE-SYMLINK-1") is None
        assert not pkg.exists()


def test_a_refused_job_answers_its_own_records_never_the_previous_jobs(world, tmp_path):
    """Contract §3: a request refused as a whole lists each of ITS records REJECTED. The
    server holds one store connection for every job, so nothing of an earlier job
    (another agency's, say) may stand in for a later job's records."""
    first = fresh_request(world, tmp_path, "ICE-PREV-1")
    second = fresh_request(world, tmp_path, "ICE-PREV-2")
    text = (second / "records.csv").read_text(encoding="utf-8")
    rows = list(csv.reader(io.StringIO(text, newline="")))
    i = rows[0].index("record_id")
    for n, row in enumerate(rows[1:6], 1):
        row[i] = f"OWN-{n}"
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(rows[:6])
    manifest = json.loads((second / "manifest.json").read_text(encoding="utf-8"))
    del manifest["signing_official"]  # refused before its records are read
    with serving(world) as srv, srv.client(world.token) as c:
        r = _upload(c, (first / "manifest.json").read_bytes(),
                    (first / "records.csv").read_bytes())
        assert wait_done(c, r.json()["job_id"])["exit_code"] == 0
        r = _upload(c, json.dumps(manifest).encode(), buf.getvalue().encode())
        assert r.status_code == 400 and r.json()["reason"] == "MANIFEST_MALFORMED", r.text
        job = wait_done(c, job_of(r))
        assert job["state"] == "REFUSED" and job["exit_code"] == 2, job
        got = c.get(f"/v1/jobs/{job['job_id']}/results.csv").text
    answered = [row["record_id"] for row in csv.DictReader(io.StringIO(got))]
    assert sorted(answered) == [f"OWN-{n}" for n in range(1, 6)], answered[:5]


def test_requests_in_flight_are_limited_not_connections():
    """Past max_requests_in_flight a request is answered 503 with Retry-After at once
    (never queued without bound); a finished request frees its place."""
    import asyncio

    from taxgate.api.server import InFlightLimit

    release = asyncio.Event()

    async def slow_app(scope, receive, send):  # noqa: ANN001, ANN202
        await release.wait()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    async def main() -> list[int]:
        app = InFlightLimit(slow_app, 2)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
            held = [asyncio.create_task(c.get("/")) for _ in range(2)]
            await asyncio.sleep(0.05)
            refused = await c.get("/")
            assert refused.headers["retry-after"] == "1" and app.active == 2
            release.set()
            done = [r.status_code for r in await asyncio.gather(*held)]
            again = (await c.get("/")).status_code
            return [refused.status_code, *done, again]

    assert asyncio.run(main()) == [503, 200, 200, 200]
