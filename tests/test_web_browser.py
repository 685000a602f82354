"""The web pages in a real headless Chromium (the distribution's, never a downloaded
one): an officer proposes, another releases, the agency gets the follow-up, the ledger
shows it; an agency-only user is refused the review desk; CSRF and sign-in limits."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from api_world import (
    ENGINES_PARAMS,
    PASSWORD,
    Server,
    desk_policy,
    fresh_request,
    held_with_candidate,
    shared_world,
    sign_in,
    totp_code,
    upload,
    wait_done,
)

from taxgate.gateway import Gateway
from taxgate.ledger_events import problem

pytestmark = [pytest.mark.slow, pytest.mark.browser, pytest.mark.xdist_group("service")]

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]


def _ensure_chromium() -> None:
    if CHROMIUM.exists():
        return
    if shutil.which("apt-get"):  # `make test` installs it first (make system-deps)
        subprocess.run(["apt-get", "update", "-qq"], capture_output=True, timeout=600,
                       check=False)
        subprocess.run(["apt-get", "install", "-y", "-qq", "chromium"], capture_output=True,
                       timeout=600, check=False)
    if not CHROMIUM.exists():
        pytest.fail("no /usr/bin/chromium: run `make system-deps` (apt-get install chromium)")


@pytest.fixture(scope="module")
def browser():
    _ensure_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        yield b
        b.close()


@pytest.fixture(scope="module", params=ENGINES_PARAMS)
def site(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    pg = request.getfixturevalue("pg_server").url if request.param == "postgres" else None
    world = shared_world(request.param, tmp_path_factory, pg)
    rid = f"ICE-WEB-{request.param}"
    srv = Server(world, **desk_policy(world)).start()
    with srv.client(world.token) as c:
        job_id = upload(c, fresh_request(world, tmp_path_factory.mktemp("req"), rid)
                        ).json()["job_id"]
        assert wait_done(c, job_id)["counts"].get("REVIEW")
    srv.stop()  # the embedded store is one process's at a time
    with Gateway(world.settings) as gw, gw.lock() as s:
        held = held_with_candidate(s, rid)
    assert held, "no REVIEW record with a candidate to decide"
    srv.start()
    yield world, srv, rid, held[0]
    srv.stop()


def _sign_in(page, base: str, user: str, password: str = PASSWORD) -> None:  # noqa: ANN001
    page.goto(base + "/login")
    page.fill("input[name=username]", user)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_url("**/login/second-factor")  # R36: then the TOTP code
    page.fill("input[name=code]", totp_code(user))
    page.click("button[type=submit]")


def _sign_out(page) -> None:  # noqa: ANN001
    page.click("form[action='/logout'] button")
    page.wait_for_url("**/login")


def test_officers_decide_a_review_record_and_the_agency_gets_the_follow_up(browser, site):
    world, srv, rid, record_id = site
    ctx = browser.new_context()
    page = ctx.new_page()
    _sign_in(page, srv.url, "rita")
    page.wait_for_url("**/review")
    row = page.locator(f"#queue tbody tr[data-record='{record_id}']", has_text=rid).first
    row.locator("a").click()
    page.wait_for_selector("table.compare")
    assert "FTI_VIEWED" in page.content()
    page.check("input[name=outcome][value=NOT_CONFIRMED]")
    page.fill("textarea[name=reason]", "Candidate's date of birth and given name differ")
    page.click("#propose button")
    page.wait_for_url("**/review")
    _sign_out(page)

    _sign_in(page, srv.url, "remy")
    page.wait_for_url("**/review")
    page.locator("#queue tbody tr", has_text=rid).filter(has_text="PROPOSED").first.locator(
        "a").click()
    page.click("#release button")
    page.wait_for_selector("#released")
    assert "Follow-up response" in page.inner_text("#released")
    _sign_out(page)

    _sign_in(page, srv.url, "ada")
    page.wait_for_url("**/oversight")
    assert page.inner_text("#ledger").startswith("Ledger: verified")
    assert rid in page.inner_text("#requests")
    assert page.locator("svg[role=img]").count() >= 1
    ctx.close()

    with srv.client(world.token) as c:
        fus = c.get(f"/v1/requests/{rid}/follow-ups").json()
        results = c.get(f"/v1/requests/{rid}/follow-ups/{fus[-1]['seq']}/results.csv").text
        body = c.get(f"/v1/requests/{rid}/follow-ups/{fus[-1]['seq']}/response.json").json()
    assert body["follow_up_of"] == rid
    assert results.splitlines()[1:] == [f"{record_id},NOT_CONFIRMED,"]
    srv.stop()
    try:
        with Gateway(world.settings) as gw, gw.lock() as s:
            entries = [e for e in s.ledger_entries()]
    finally:
        srv.start()
    ours = [e for e in entries if e.request_id == rid]
    decided = [e.payload for e in ours if e.event_type == "REVIEW_DECIDED"]
    assert [(d["record_id"], d["proposed_by"], d["released_by"]) for d in decided] == [
        (record_id, "rita", "remy")]
    viewers = {e.payload["viewer"] for e in ours if e.event_type == "FTI_VIEWED"}
    assert viewers == {"rita", "remy"}
    sign_ins = {(e.payload["username"], e.payload["outcome"]) for e in entries
                if e.event_type == "SIGN_IN"}
    assert {("rita", "SUCCESS"), ("remy", "SUCCESS"), ("ada", "SUCCESS")} <= sign_ins
    assert [p for e in entries if (p := problem(e.event_type, list(e.payload)))] == []
    assert not [e for e in ours if e.event_type == "DISCLOSURE"
                and e.payload["record_id"] == record_id]


def test_an_agency_user_is_refused_the_review_desk(browser, site):
    world, srv, _, _ = site
    ctx = browser.new_context()
    page = ctx.new_page()
    _sign_in(page, srv.url, "iggy")
    page.wait_for_url("**/account")
    r = page.goto(srv.url + "/review")
    assert r is not None and r.status == 403
    assert "reviewer or releaser" in page.content()
    assert page.goto(srv.url + "/oversight").status == 403
    ctx.close()


def test_forms_need_the_csrf_token_and_sign_in_failures_are_limited(site):
    world, srv, rid, _ = site
    with srv.client() as c:
        ok = sign_in(c, "rita")
        assert ok.status_code == 303
        forged = c.post("/review/propose", data={"request_id": rid, "row": "1",
                                                 "outcome": "CONFIRMED",
                                                 "reason": "forged by another site", "csrf": "x"})
        assert forged.status_code == 403
    with srv.client() as c:
        page = c.get("/login")
        token = page.text.split('name="csrf" value="')[1].split('"')[0]
        codes = [c.post("/login", data={"username": "ada", "password": "wrong password!",
                                        "csrf": token}).status_code for _ in range(6)]
        assert codes[:5] == [401] * 5 and codes[5] == 429
        assert json.dumps(codes)
    srv.stop()  # the limiter lives in memory; a restart frees "ada" for other tests
    srv.start()
