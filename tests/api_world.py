"""Helpers for service tests: a synthetic world in a store, and a real `taxgate serve`
subprocess on 127.0.0.1 with a free port (killed and restarted at will)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import httpx
import pyotp
import pytest
from world_cache import LARGE, trained_once

from taxgate.canonical import load_public_key_pem, new_data_key, public_key_pem
from taxgate.domain import Official
from taxgate.gateway import Gateway
from taxgate.settings import Settings
from taxgate.synth import synth_all

PASSWORD = "correct horse battery staple"
USERS = {"rita": "reviewer", "remy": "releaser", "ray": "releaser", "ada": "auditor"}


@dataclass
class World:
    root: Path
    settings: Settings
    key: str
    paths: object
    token: str
    other_token: str

    def env(self) -> dict[str, str]:
        return {"TAXGATE_STORE": self.settings.store, "TAXGATE_KEY": self.key,
                "TAXGATE_SPOOL": str(self.root / "spool")}


def new_pg_database(admin_url: str) -> str:
    import psycopg

    name = f"taxgate_s_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    return f"{admin_url.rpartition('/')[0]}/{name}"


def build_world(root: Path, store: str, *, people: int = LARGE[0], records: int = 300,
                seed: int = LARGE[1]) -> World:
    paths = synth_all(root / "synthetic", people, records, seed=seed)
    key = new_data_key()
    settings = Settings(store=store, key_hex=key)
    pem = public_key_pem(load_public_key_pem(paths.public_key.read_bytes()))
    import datetime as dt

    with Gateway(settings) as gw:
        gw.init()
        gw.load(paths.taxpayers)
        gw.add_official(Official("ice-director", "DHS-ICE", "Director", pem,
                                 dt.date(2026, 1, 1)), "test")
        # R4: results go to a person the request names; the world's requests name their
        # records' officers, so the agency's token is issued to one of them
        token = gw.issue_credential("DHS-ICE", "test", holder=first_officer(paths))
        other = gw.issue_credential("DHS-CBP", "test")
        for name, role in USERS.items():
            gw.add_user(name, role, PASSWORD)
        gw.add_user("iggy", "agency", PASSWORD, agency="DHS-ICE")
        for name in [*USERS, "iggy"]:  # R36: every web user has a second factor
            MFA.setdefault(name, pyotp.random_base32())
            gw.enrol_mfa(name, MFA[name], enrolment_code(name))
    return World(root, settings, key, paths, token, other)


def first_officer(paths) -> str:  # noqa: ANN001
    """The officer named on the first record of the world's request."""
    import csv
    import json

    manifest = json.loads((paths.request_dir / "manifest.json").read_text(encoding="utf-8"))
    with (paths.request_dir / manifest["records_file"]).open(encoding="utf-8") as f:
        return next(r["officer_id"] for r in csv.DictReader(f) if r["officer_id"].strip())


_WORLDS: dict[str, World] = {}

MFA: dict[str, str] = {}  # web user -> TOTP secret (the same in every world of a process)
# (where the code goes, user) -> the last time step used there. A server remembers the
# steps it accepted in its own process's memory (taxgate.gateway.mfa._fresh); an app run
# in this process (TestClient) and the enrolments made here share this process's.
_LAST_STEP: dict[tuple[str, str], int] = {}
IN_PROCESS = "http://testserver"  # TestClient's base URL
_STEP_S = 30


def totp_code(user: str, where: str = IN_PROCESS) -> str:
    """A TOTP code for ``user`` that the server at ``where`` (its base URL) has not taken.
    A server takes this step's code or a neighbour's (one step of drift), each step once
    and in increasing order: three sign-ins within one step (the previous step's code
    only early in the step, while the server's clock is surely in it too), and a fourth
    waits for time to move on. A server started again (:meth:`Server.start`) forgets."""
    clock = time.time()
    now = int(clock // _STEP_S)
    earliest = now - 1 if clock - now * _STEP_S < _STEP_S / 2 else now
    step = max(earliest, _LAST_STEP.get((where, user), earliest - 1) + 1)
    if step > now + 1:
        time.sleep(max(0.0, (step - 1) * _STEP_S - time.time()) + 0.5)
    _LAST_STEP[(where, user)] = step
    return pyotp.TOTP(MFA[user]).at(step * _STEP_S)


def enrolment_code(user: str) -> str:
    """The current TOTP code for enrolling ``user`` in a new store, here in this process:
    the step is spent as a sign-in's (no replay) for the apps this process runs."""
    step = int(time.time() // _STEP_S)
    key = (IN_PROCESS, user)
    _LAST_STEP[key] = max(step, _LAST_STEP.get(key, -1))
    return pyotp.TOTP(MFA[user]).at(step * _STEP_S)


def forget_steps(where: str) -> None:
    """A new server process at ``where``: no step taken there yet."""
    for key in [k for k in _LAST_STEP if k[0] == where]:
        del _LAST_STEP[key]


def sign_in(client: httpx.Client, user: str, password: str = PASSWORD) -> httpx.Response:
    """Both steps of a web sign-in (password, then the TOTP code); the last answer."""
    import re

    page = client.get("/login")
    token = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
    r = client.post("/login", data={"username": user, "password": password, "csrf": token},
                    follow_redirects=False)
    if r.status_code != 303:
        return r
    form = client.get("/login/second-factor")
    token = re.search(r'name="csrf" value="([^"]+)"', form.text).group(1)
    code = totp_code(user, str(client.base_url).rstrip("/"))
    return client.post("/login/second-factor", data={"code": code, "csrf": token},
                       follow_redirects=False)


def shared_world(engine: str, tmp_path_factory, pg_admin_url: str | None) -> World:  # noqa: ANN001
    """One world per engine per test process (service modules share it; each test
    uses request ids of its own)."""
    if engine not in _WORLDS:
        root = tmp_path_factory.mktemp(f"service-{engine}")
        store = new_pg_database(pg_admin_url) if engine == "postgres" else str(root / "store")
        with trained_once(tmp_path_factory):
            _WORLDS[engine] = build_world(root, store)
    return _WORLDS[engine]


def desk_policy(world: World) -> dict[str, str]:
    """Server environment for the review-desk tests: the policy keeps candidates that
    nothing in the request tells apart for REVIEW (R23's ``review_competitors``; the
    default answers them NOT_CONFIRMED), so the desk holds records with candidates."""
    path = world.root / "policy-desk.toml"
    path.write_text("[policy]\nreview_competitors = true\n", encoding="utf-8")
    return {"TAXGATE_POLICY": str(path)}


def held_with_candidate(store, request_id: str) -> list[str]:  # noqa: ANN001
    """Record ids of a request's REVIEW records that the matcher held with a candidate
    taxpayer (a statute hold, such as a one-word name, has none)."""
    rows = store.decisions(request_id).to_pylist()
    return [r["record_id"] for r in rows if r["outcome"] == "REVIEW" and r["tin"]]


def fresh_request(world: World, tmp: Path, request_id: str) -> Path:
    """A copy of the world's request under another request id, signed again."""
    from e2e import copy_request, resign

    req = copy_request(world.paths.request_dir, tmp / request_id)
    resign(req, world.paths.private_key, request_id=request_id)
    return req


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """`python -m taxgate.cli serve` in a subprocess; start, kill -9, start again."""

    def __init__(self, world: World, **env: str) -> None:
        self.world = world
        self.extra = env
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = world.root / f"server-{self.port}.log"
        self.scheme = "https" if "TAXGATE_TLS_CERT" in env else "http"
        self.tls: dict[str, object] = {}  # httpx's verify= and cert= for a TLS server

    @property
    def url(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60) -> Server:
        env = {**os.environ, **self.world.env(), **self.extra}
        env.pop("TAXGATE_DEBUG", None)
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "taxgate.cli", "serve", "--host", "127.0.0.1",
                 "--port", str(self.port)], env=env, stdout=log, stderr=log)
        forget_steps(self.url)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited: {self.log.read_text()[-2000:]}")
            try:
                if httpx.get(self.url + "/openapi.json", timeout=2,
                             **self.tls).status_code == 200:  # type: ignore[arg-type]
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError("server did not start")

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()

    def client(self, token: str | None = None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=60,
                            **self.tls)  # type: ignore[arg-type]


def upload(client: httpx.Client, request_dir: Path) -> httpx.Response:
    import json

    manifest = (request_dir / "manifest.json").read_bytes()
    records = request_dir / json.loads(manifest)["records_file"]
    with records.open("rb") as f:
        return client.post("/v1/jobs", files={"manifest": ("manifest.json", manifest),
                                              "records": (records.name, f)})


def job_of(answer: httpx.Response) -> str:
    """The job an upload's answer names: 202, or 400 REQUEST_REFUSED (the job holding the
    signed refusal), both at ``Location``."""
    assert answer.status_code in (202, 400), answer.text
    return answer.headers["location"].rsplit("/", 1)[1]


def wait_done(client: httpx.Client, job_id: str, timeout: float = 120) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        r = client.get(f"/v1/jobs/{job_id}")
        if r.status_code == 503:  # the credential check waited for a long job: retry
            time.sleep(min(float(r.headers["retry-after"]), 1.0))
            continue
        assert r.status_code == 200, r.text
        body = r.json()
        if body["state"] in ("DONE", "REFUSED", "FAILED"):
            return body
        time.sleep(0.2)
    raise AssertionError("job did not finish")


ENGINES_PARAMS = ["embedded", pytest.param("postgres", marks=pytest.mark.postgres)]
