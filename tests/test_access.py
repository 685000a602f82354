"""Access as Publication 1075 expects, on both stores: named operators and an audit event
for every access (R33, R34), TLS 1.2+ and mutual TLS against a real server with
certificates made here (R35), the TOTP second factor through the real service (R36), key
providers (R35), and results delivered to the named recipients only (R4)."""

from __future__ import annotations

import datetime as dt
import json
import os
import pwd
import re
import socket
import ssl
import subprocess
import sys
from pathlib import Path

import httpx
import pyotp
import pytest
from api_world import (
    ENGINES_PARAMS,
    PASSWORD,
    Server,
    World,
    first_officer,
    fresh_request,
    new_pg_database,
    shared_world,
    upload,
    wait_done,
)
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from tls_certs import Ca, client_context

from taxgate.api import server
from taxgate.canonical import new_data_key
from taxgate.domain import JobRow, Official
from taxgate.errors import BadInput, KeyUnavailable
from taxgate.gateway import Gateway, mfa
from taxgate.gateway import accounts as auth
from taxgate.gateway.accounts import ApiCaller
from taxgate.gateway.delivery import may_receive, named_recipients
from taxgate.settings import ServiceSettings, Settings
from taxgate.store import open_store


def _pem() -> str:
    key = Ed25519PrivateKey.generate().public_key()
    return key.public_bytes(serialization.Encoding.PEM,
                            serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def _events(settings: Settings, kind: str) -> list[dict]:
    with Gateway(settings) as gw, gw.lock() as s:
        return [e.payload for e in s.ledger_entries() if e.event_type == kind]


# --- the store: credentials per person, the second factor, job recipients ---------------


def test_r4_a_credential_per_person_rotates_only_that_persons(store):
    store.add_official(Official("ice-director", "DHS-ICE", "Director", _pem(),
                                dt.date(2026, 1, 1)), "test")
    agency = auth.issue_credential(store, "DHS-ICE", "alice")
    first = auth.issue_credential(store, "DHS-ICE", "alice", holder="ERO100000")
    other = auth.issue_credential(store, "DHS-ICE", "alice", holder="ERO100001")
    again = auth.issue_credential(store, "DHS-ICE", "alice", holder="ERO100000")
    assert auth.check_api_token(store, first) is None  # that person's old one: revoked
    assert {auth.check_api_token(store, t) for t in (agency, other, again)} == {"DHS-ICE"}
    assert store.api_credential(again[4:].split(".")[0]).holder == "ERO100000"
    with pytest.raises(BadInput):
        auth.issue_credential(store, "DHS-ICE", "alice", holder="   ")


def test_r36_totp_enrolment_codes_once_recovery_codes_once_and_reset(store):
    auth.add_user(store, "nina", "reviewer", PASSWORD, actor="alice")
    secret = mfa.new_secret()
    with pytest.raises(BadInput):
        mfa.enrol(store, "nina", secret, "000000" if pyotp.TOTP(secret).now() != "000000"
                  else "111111")
    assert not mfa.enrolled(store, "nina")
    codes = mfa.enrol(store, "nina", secret, pyotp.TOTP(secret).now())
    assert len(codes) == 10 and len(set(codes)) == 10
    kept = store.mfa("nina")
    assert secret.encode() not in kept.sealed and not any(c in kept.recovery_json for c in codes)
    totp = pyotp.TOTP(secret)
    nxt = totp.at(dt.datetime.now(dt.UTC) + dt.timedelta(seconds=30))
    assert mfa.check(store, "nina", nxt)
    assert not mfa.check(store, "nina", nxt)  # a code is accepted once
    assert not mfa.check(store, "nina", "123-456")
    assert mfa.check(store, "nina", codes[3].upper())
    assert not mfa.check(store, "nina", codes[3])  # struck when used
    mfa.reset(store, "nina", "alice")
    assert not mfa.enrolled(store, "nina") and not mfa.check(store, "nina", codes[4])
    changes = [(e.payload["change"], e.payload["actor"]) for e in store.ledger_entries()
               if e.event_type == "MFA_CHANGED"]
    assert changes == [("ENROLLED", "nina"), ("RECOVERY_CODE_USED", "nina"), ("RESET", "alice")]


def test_r4_a_job_keeps_its_named_recipients(store):
    row = JobRow("job-1", "DHS-ICE", "ICE-1", "DONE", "t", "t", 0,
                 recipients=json.dumps(["ERO100000"]))
    store.save_job(row)
    assert store.job("job-1").recipients == '["ERO100000"]'


def test_r4_recipients_are_the_manifests_else_the_records_officers(tmp_path: Path):
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "records.csv").write_text("record_id,officer_id\n1,ERO7\n2,ERO8\n3,ERO7\n",
                                     encoding="utf-8")
    manifest = {"records_file": "records.csv"}
    (pkg / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    assert named_recipients(pkg) == ["ERO7", "ERO8"]
    for named, want in ((["AGENT-1", "ERO7"], ["AGENT-1", "ERO7"]), ([], []), ("ERO7", []),
                        ([""], []), ([7], [])):
        (pkg / "manifest.json").write_text(json.dumps({**manifest, "recipients": named}),
                                           encoding="utf-8")
        assert named_recipients(pkg) == want, named
    done = JobRow("j", "DHS-ICE", "R", "DONE", "t", "t", 0)
    refused = JobRow("j", "DHS-ICE", "R", "DONE", "t", "t", 2)
    assert may_receive(ApiCaller("DHS-ICE", "c", "ero7."), done, ["ERO7"])  # canonical ids
    assert not may_receive(ApiCaller("DHS-ICE", "c", "ERO9"), done, ["ERO7"])
    assert not may_receive(ApiCaller("DHS-ICE", "c", None), done, ["ERO7"])
    assert not may_receive(ApiCaller("DHS-ICE", "c", "ERO7"), done, [])
    assert may_receive(ApiCaller("DHS-ICE", "c", None), refused, [])  # a refusal: anyone


# --- keys (R35) ----------------------------------------------------------------------------


def test_r35_the_at_rest_key_comes_from_the_configured_providers(tmp_path: Path,
                                                                 monkeypatch):
    store = str(tmp_path / "store")
    monkeypatch.delenv("TAXGATE_KEY", raising=False)
    with pytest.raises(KeyUnavailable, match="set TAXGATE_KEY"):
        open_store(Settings(store=store, key_provider="env"), create=True).initialize()
    assert not Settings(store=store).key_file.exists()  # env only: no key written to disk
    key = new_data_key()
    monkeypatch.setenv("TAXGATE_KEY", key)
    with open_store(Settings(store=store, key_provider="env"), create=True) as s:
        s.initialize()
    assert not Settings(store=store).key_file.exists()
    with pytest.raises(KeyUnavailable, match="provide the key file"):  # file only: ignores env
        open_store(Settings(store=store, key_provider="file")).signing_key()
    Settings(store=store).key_file.write_text(key + "\n", encoding="ascii")
    monkeypatch.delenv("TAXGATE_KEY")
    with open_store(Settings(store=store, key_provider="file")) as s:
        assert s.signing_key() is not None  # the signing key, unwrapped by the at-rest key
    monkeypatch.setenv("TAXGATE_KEY_PROVIDER", "env,kms")
    with pytest.raises(Exception, match="key_provider"):
        Settings.from_env(store)


# --- the operator (R33) --------------------------------------------------------------------


def _cli(env: dict[str, str], *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "taxgate.cli", *args], input=stdin,
                          env={**os.environ, **env}, capture_output=True, text=True,
                          timeout=120)


def test_r33_every_admin_command_names_its_operator(tmp_path: Path):
    key = new_data_key()
    env = {"TAXGATE_STORE": str(tmp_path / "store"), "TAXGATE_KEY": key}
    env.pop("TAXGATE_OPERATOR", None)
    os.environ.pop("TAXGATE_OPERATOR", None)
    assert _cli(env, "init").returncode == 0
    pub = tmp_path / "official.pem"
    pub.write_text(_pem(), encoding="ascii")
    r = _cli(env, "--operator", "alice", "officials", "add", "ice-director", "--agency",
             "DHS-ICE", "--title", "Director", "--public-key", str(pub), "--valid-from",
             "2026-01-01")
    assert r.returncode == 0, r.stderr
    r = _cli({**env, "TAXGATE_OPERATOR": "bob"}, "users", "add", "nina", "--role", "reviewer",
             stdin=PASSWORD + "\n")
    assert r.returncode == 0, r.stderr
    r = _cli({**env, "TAXGATE_OPERATOR": "bob"}, "agencies", "credential", "DHS-ICE",
             "--holder", "ERO100000")
    assert r.returncode == 0 and r.stdout.startswith("tgk_"), r.stderr
    bad = _cli(env, "--operator", "bob; rm -rf /", "users", "reset-mfa", "nina")
    assert bad.returncode == 2 and "operator" in bad.stderr
    assert _cli({**env, "TAXGATE_OPERATOR": "carol"}, "users", "reset-mfa", "nobody"
                ).returncode == 2
    settings = Settings(store=env["TAXGATE_STORE"], key_hex=key)
    login = pwd.getpwuid(os.geteuid()).pw_name
    actions = [(p["operator"], p["command"], p["outcome"])
               for p in _events(settings, "OPERATOR_ACTION")]
    assert actions == [(f"os:{login}", "init", "SUCCESS"),
                       ("alice", "officials add", "SUCCESS"), ("bob", "users add", "SUCCESS"),
                       ("bob", "agencies rotate", "SUCCESS"),  # `credential`: its old name
                       ("carol", "users reset-mfa", "FAILURE (BadInput)")]
    assert _events(settings, "OFFICIAL_ADDED")[0]["actor"] == "alice"
    assert _events(settings, "USER_ADDED")[0]["actor"] == "bob"
    assert _events(settings, "CREDENTIAL_ISSUED")[0]["actor"] == "bob"
    assert "cli" not in {a for a, _, _ in actions}


# --- the real service ---------------------------------------------------------------------


def _small_world(root: Path, store: str) -> World:
    """A store with officials, credentials and a web user; no filings (nothing to match)."""
    key = new_data_key()
    settings = Settings(store=store, key_hex=key)
    with Gateway(settings) as gw:
        gw.init()
        for agency in ("DHS-ICE", "DHS-CBP"):
            gw.add_official(Official(f"{agency.lower()}-director", agency, "Director", _pem(),
                                     dt.date(2026, 1, 1)), "test")
        token = gw.issue_credential("DHS-ICE", "test", holder="ERO100000")
        other = gw.issue_credential("DHS-CBP", "test")
        gw.add_user("nina", "reviewer", PASSWORD)
    return World(root, settings, key, None, token, other)


@pytest.fixture(scope="module", params=ENGINES_PARAMS)
def small_world(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
                ) -> World:
    root = tmp_path_factory.mktemp(f"access-{request.param}")
    store = (new_pg_database(request.getfixturevalue("pg_server").url)
             if request.param == "postgres" else str(root / "store"))
    return _small_world(root, store)


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> dict:
    root = tmp_path_factory.mktemp("pki")
    ca, stranger = Ca(root / "ca", "agencies-ca"), Ca(root / "other", "other-ca")
    return {"ca": ca, "server": ca.issue("server", "127.0.0.1", "gateway", server=True),
            "ice": ca.issue("ice", "ERO100000", "DHS-ICE"),
            "cbp": ca.issue("cbp", "cbp-system", "DHS-CBP"),
            "no_agency": ca.issue("no-agency", "someone", None),
            "stranger": stranger.issue("stranger", "ERO100000", "DHS-ICE")}


def _get(url: str, ctx: ssl.SSLContext, token: str) -> int:
    with httpx.Client(verify=ctx, timeout=20) as c:
        return c.get(url + "/v1/jobs", headers={"Authorization": f"Bearer {token}"}
                     ).status_code


@pytest.mark.slow
def test_r35_mutual_tls_requires_an_agency_certificate_over_tls_1_2_or_newer(small_world,
                                                                          pki):
    world, ca = small_world, pki["ca"]
    srv = Server(world, TAXGATE_TLS_CERT=str(pki["server"].cert),
                 TAXGATE_TLS_KEY=str(pki["server"].key), TAXGATE_TLS_CLIENT_CA=str(ca.pem))
    srv.tls = {"verify": client_context(ca.pem, pki["ice"])}
    srv.start()
    try:
        ice = client_context(ca.pem, pki["ice"])
        assert _get(srv.url, ice, world.token) == 200
        with socket.create_connection(("127.0.0.1", srv.port)) as raw, \
                ice.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
            assert tls.version() in ("TLSv1.2", "TLSv1.3")
        tls12 = client_context(ca.pem, pki["ice"], maximum=ssl.TLSVersion.TLSv1_2)
        with socket.create_connection(("127.0.0.1", srv.port)) as raw, \
                tls12.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
            assert tls.version() == "TLSv1.2"  # 1.2 still served (1.3 preferred above)
        for who in (None, pki["stranger"]):  # no certificate, or one from another CA
            with pytest.raises(httpx.TransportError):
                _get(srv.url, client_context(ca.pem, who), world.token)
        assert _get(srv.url, client_context(ca.pem, pki["no_agency"]), world.token) == 401
        assert _get(srv.url, client_context(ca.pem, pki["cbp"]), world.token) == 401
        assert _get(srv.url, ice, "tgk_0123456789abcdef.wrong-secret") == 401
        with pytest.raises(httpx.TransportError):  # plain HTTP is not served at all
            httpx.get(f"http://127.0.0.1:{srv.port}/v1/jobs", timeout=5)
    finally:
        srv.stop()
    checks = _events(world.settings, "API_AUTHENTICATION")
    assert {"SUCCESS", "FAILURE"} <= {p["outcome"] for p in checks}
    ok = next(p for p in checks if p["outcome"] == "SUCCESS")
    assert ok["agency"] == "DHS-ICE" and ok["client_certificate"] == "O=DHS-ICE, CN=ERO100000"
    assert all("wrong-secret" not in json.dumps(p) and world.token.split(".")[1]
               not in json.dumps(p) for p in checks)


def test_r35_the_server_context_refuses_anything_older_than_tls_1_2(pki):
    """What the live test cannot show (this host's clients no longer offer TLS 1.1): the
    context uvicorn is handed has TLS 1.2 as its minimum, and mutual TLS required."""
    service = ServiceSettings(tls_cert=pki["server"].cert, tls_key=pki["server"].key,
                              tls_client_ca=pki["ca"].pem)
    options = server._tls(service)
    ctx = options["ssl_context_factory"](None, lambda: ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER))
    assert ctx.minimum_version == ssl.TLSVersion.TLSv1_2
    assert options["ssl_cert_reqs"] == ssl.CERT_REQUIRED
    assert server._tls(ServiceSettings()) == {}


def _csrf(html: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)


@pytest.mark.slow
def test_r36_a_web_sign_in_without_the_second_factor_is_refused(small_world):
    world = small_world
    srv = Server(world).start()
    try:
        with srv.client() as c:
            r = c.post("/login", data={"username": "nina", "password": PASSWORD,
                                       "csrf": _csrf(c.get("/login").text)})
            assert r.status_code == 303 and r.headers["location"] == "/login/second-factor"
            # the password alone opens nothing
            for page in ("/account", "/review"):
                assert c.get(page).headers.get("location") == "/login", page
            enrol = c.get("/login/second-factor").text
            secret = re.search(r'id="totp-secret">([A-Z2-7]+)<', enrol).group(1)
            token = _csrf(enrol)
            bad = c.post("/login/second-factor", data={"code": "12345", "csrf": token})
            assert bad.status_code == 401 and c.get("/account").status_code == 303
            code = pyotp.TOTP(secret).now()
            done = c.post("/login/second-factor", data={"code": code, "csrf": token})
            assert done.status_code == 200
            recovery = re.findall(r"<code>([0-9a-f]{8}-[0-9a-f]{8})</code>", done.text)
            assert len(recovery) == 10
            assert c.get("/account").status_code == 200
            c.post("/logout", data={"csrf": _csrf(c.get("/account").text)})
            assert c.get("/account").status_code == 303
        with srv.client() as c:  # signing in again: a code, not a new enrolment
            c.post("/login", data={"username": "nina", "password": PASSWORD,
                                   "csrf": _csrf(c.get("/login").text)})
            form = c.get("/login/second-factor").text
            assert "totp-secret" not in form
            replay = c.post("/login/second-factor", data={"code": code, "csrf": _csrf(form)})
            assert replay.status_code == 401  # the same code twice: refused
            ok = c.post("/login/second-factor", data={"code": recovery[0], "csrf": _csrf(form)})
            assert ok.status_code == 303 and c.get("/account").status_code == 200
    finally:
        srv.stop()
    outcomes = [p["outcome"] for p in _events(world.settings, "SIGN_IN")
                if p["username"] == "nina"]
    assert outcomes == ["SECOND_FACTOR_FAILURE", "SUCCESS", "SECOND_FACTOR_FAILURE", "SUCCESS"]
    assert [p["change"] for p in _events(world.settings, "MFA_CHANGED")
            if p["username"] == "nina"] == ["ENROLLED", "RECOVERY_CODE_USED"]


# --- results to the named recipients only (R4) ------------------------------------------------


@pytest.fixture(scope="module", params=ENGINES_PARAMS)
def trained(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> World:
    pg = request.getfixturevalue("pg_server").url if request.param == "postgres" else None
    return shared_world(request.param, tmp_path_factory, pg)


@pytest.mark.slow
def test_r4_results_go_only_to_the_people_the_request_names(trained, tmp_path: Path):
    world = trained
    officer = first_officer(world.paths)  # the holder of world.token, named on its records
    with Gateway(world.settings) as gw:  # before the server holds the store
        agency_wide = gw.issue_credential("DHS-ICE", "test")
        analyst = gw.issue_credential("DHS-ICE", "test", holder="ANALYST-7")
    officers = fresh_request(world, tmp_path, "ICE-R4-OFFICERS")
    named = fresh_request(world, tmp_path, "ICE-R4-NAMED")
    from e2e import resign

    resign(named, world.paths.private_key, recipients=["ANALYST-7"])
    srv = Server(world).start()
    try:
        jobs = {}
        with srv.client(agency_wide) as c:  # an agency-wide credential submits and polls
            for name, req in (("officers", officers), ("named", named)):
                jobs[name] = upload(c, req).json()["job_id"]
                assert wait_done(c, jobs[name])["exit_code"] == 0
            assert c.get(f"/v1/jobs/{jobs['officers']}/results.csv").status_code == 403

        def status(token: str, job: str, file: str = "results.csv") -> int:
            with srv.client(token) as c:
                return c.get(f"/v1/jobs/{jobs[job]}/{file}").status_code

        # no recipients in the manifest: the officers its records name
        assert status(world.token, "officers") == 200
        assert status(world.token, "officers", "response.json") == 200
        assert status(analyst, "officers") == 403
        # the manifest names its recipients: those only
        assert status(analyst, "named") == 200
        assert status(world.token, "named") == 403
    finally:
        srv.stop()
    deliveries = _events(world.settings, "RESULTS_DELIVERY")
    mine = [p for p in deliveries if p["request_id"] in ("ICE-R4-OFFICERS", "ICE-R4-NAMED")]
    got = [(p["request_id"], p["recipient"], p["outcome"]) for p in mine]
    assert got == [("ICE-R4-OFFICERS", None, "NOT_A_NAMED_RECIPIENT"),
                   ("ICE-R4-OFFICERS", officer, "DELIVERED"),
                   ("ICE-R4-OFFICERS", officer, "DELIVERED"),
                   ("ICE-R4-OFFICERS", "ANALYST-7", "NOT_A_NAMED_RECIPIENT"),
                   ("ICE-R4-NAMED", "ANALYST-7", "DELIVERED"),
                   ("ICE-R4-NAMED", officer, "NOT_A_NAMED_RECIPIENT")]
    assert all((p["sha256"] is None) == (p["outcome"] != "DELIVERED") for p in mine)
