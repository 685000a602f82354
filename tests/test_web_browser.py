"""The web pages in a real headless Chromium (the distribution's, never a downloaded
one): an officer reads why a record was held and the evidence in words, proposes (a
note with a taxpayer value is refused, the typed reason kept), a releaser sends it back,
the officer proposes again, the releaser releases; the agency gets the follow-up, the
ledger shows it; an auditor reads the accounting, downloads the annual report and the
ledger export (verified offline); an agency-only user is refused the review desk; CSRF
and sign-in limits."""

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
from taxgate.gateway.export import verify_export
from taxgate.ledger_events import problem
from taxgate.review_reasons import REVIEW_REASONS

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
        confirmed = [r["tin"] for r in s.decisions(rid).to_pylist()
                     if r["outcome"] == "CONFIRMED"]
    assert held, "no REVIEW record with a candidate to decide"
    assert confirmed, "no disclosure to account for"
    srv.start()
    yield world, srv, rid, held[0], confirmed[0]
    srv.stop()


def _sign_in(page, base: str, user: str, password: str = PASSWORD) -> None:  # noqa: ANN001
    page.goto(base + "/login")
    page.fill("input[name=username]", user)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_url("**/login/second-factor")  # R36: then the TOTP code
    page.fill("input[name=code]", totp_code(user, base))
    page.click("button[type=submit]")


def _sign_out(page) -> None:  # noqa: ANN001
    page.click("form[action='/logout'] button")
    page.wait_for_url("**/login")


def test_officers_decide_a_review_record_and_the_agency_gets_the_follow_up(browser, site):
    world, srv, rid, record_id, tin = site
    ctx = browser.new_context()
    page = ctx.new_page()
    _sign_in(page, srv.url, "rita")
    page.wait_for_url("**/review")
    assert "waiting" in page.inner_text("#count")
    _open(page, rid, record_id)
    assert "FTI_VIEWED" in page.content()
    held = page.inner_text("#held-because")  # in words, the code only beside them
    assert any(r.words[:40] in held for r in REVIEW_REASONS.values()), held
    chart = page.inner_text("#evidence")
    assert "given name" in chart and ("for" in chart or "against" in chart)
    assert "{'" not in page.content() and '{"' not in chart  # no raw evidence dict
    _propose(page, "NOT_CONFIRMED", "DIFFERENT_PERSON_IDENTIFIER", "differs: born 1990-02-12")
    page.wait_for_selector("#error")  # refused: a date; the choice and the note are kept
    assert "date" in page.inner_text("#error") and "1990" not in page.inner_text("#error")
    assert page.input_value("textarea[name=note]") == "differs: born 1990-02-12"
    assert page.input_value("select[name=reason]") == "DIFFERENT_PERSON_IDENTIFIER"
    assert page.is_checked("input[name=outcome][value=NOT_CONFIRMED]")
    _propose(page, "NOT_CONFIRMED", "DIFFERENT_PERSON_IDENTIFIER", "birth years differ")
    page.wait_for_url("**/review")
    _sign_out(page)

    _sign_in(page, srv.url, "remy")  # the releaser reads the reason and sends it back
    page.wait_for_url("**/review")
    _open(page, rid, record_id)
    proposal = page.inner_text("#proposal")
    assert "birth years differ" in proposal and "date of birth or TIN disagrees" in proposal
    assert "proposed by rita" in page.inner_text("#history")
    page.select_option("#send-back select[name=reason]", "EVIDENCE_OVERLOOKED")
    page.fill("#send-back textarea[name=note]", "look at the middle initial")
    page.click("#send-back button")
    page.wait_for_selector("#sent-back")
    _sign_out(page)

    _sign_in(page, srv.url, "rita")  # proposes again; the history says why
    page.wait_for_url("**/review")
    _open(page, rid, record_id)
    assert "sent back by remy" in page.inner_text("#history")
    _propose(page, "NOT_CONFIRMED", "DIFFERENT_PERSON_IDENTIFIER", "middle initial differs")
    page.wait_for_url("**/review")
    _sign_out(page)

    _sign_in(page, srv.url, "remy")
    page.wait_for_url("**/review")
    _open(page, rid, record_id)
    page.click("#release button")
    page.wait_for_selector("#released")
    assert "Follow-up response" in page.inner_text("#released")
    _sign_out(page)

    export = _auditor(page, srv, rid, tin, world)
    ctx.close()

    with srv.client(world.token) as c:
        fus = c.get(f"/v1/requests/{rid}/follow-ups").json()["items"]
        results = c.get(f"/v1/requests/{rid}/follow-ups/{fus[-1]['seq']}/results.csv").text
        body = c.get(f"/v1/requests/{rid}/follow-ups/{fus[-1]['seq']}/response.json").json()
    assert body["follow_up_of"] == rid
    assert results.splitlines()[1:] == [f"{record_id},NOT_CONFIRMED,"]
    srv.stop()
    try:
        with Gateway(world.settings) as gw, gw.lock() as s:
            entries = [e for e in s.ledger_entries()]
            key = world.root / "gateway.pub.pem"
            key.write_text(gw.public_key_pem(), encoding="utf-8")
    finally:
        srv.start()
    assert verify_export(export, key).entries > 0  # offline, with the public key alone
    ours = [e for e in entries if e.request_id == rid]
    decided = [e.payload for e in ours if e.event_type == "REVIEW_DECIDED"]
    assert [(d["record_id"], d["proposed_by"], d["released_by"], d["note"])
            for d in decided] == [(record_id, "rita", "remy", "middle initial differs")]
    sent = [e.payload for e in ours if e.event_type == "REVIEW_SENT_BACK"]
    assert [(p["sent_back_by"], p["reason"]) for p in sent] == [("remy", "EVIDENCE_OVERLOOKED")]
    assert "1990-02-12" not in json.dumps([e.payload for e in ours])
    assert any(e.event_type == "LEDGER_EXPORTED" for e in entries)
    viewers = {e.payload["viewer"] for e in ours if e.event_type == "FTI_VIEWED"}
    assert viewers == {"rita", "remy"}
    sign_ins = {(e.payload["username"], e.payload["outcome"]) for e in entries
                if e.event_type == "SIGN_IN"}
    assert {("rita", "SUCCESS"), ("remy", "SUCCESS"), ("ada", "SUCCESS")} <= sign_ins
    assert [p for e in entries if (p := problem(e.event_type, list(e.payload)))] == []
    assert not [e for e in ours if e.event_type == "DISCLOSURE"
                and e.payload["record_id"] == record_id]


def _open(page, rid: str, record_id: str) -> None:  # noqa: ANN001
    page.goto(page.url.split("/review")[0] + f"/review?request_id={rid}")
    page.locator(f"#queue tbody tr[data-record='{record_id}']").first.locator("a").click()
    page.wait_for_selector("#evidence")


def _propose(page, outcome: str, reason: str, note: str) -> None:  # noqa: ANN001
    page.check(f"input[name=outcome][value={outcome}]")
    page.select_option("#propose select[name=reason]", reason)
    page.fill("#propose textarea[name=note]", note)
    page.click("#propose button")


def _auditor(page, srv, rid: str, tin: str, world) -> Path:  # noqa: ANN001
    """Oversight, the accounting of one taxpayer, the report and the ledger export."""
    _sign_in(page, srv.url, "ada")
    page.wait_for_url("**/oversight")
    assert page.inner_text("#ledger").startswith("Ledger: verified")
    assert rid in page.inner_text("#requests")
    assert page.locator("svg[role=img]").count() >= 1
    page.click("header a[href='/audit/accounting']")
    page.fill("input[name=tin]", tin)
    page.click("#accounting-form button")
    page.wait_for_selector("#accounting")
    assert tin not in page.url and rid in page.inner_text("#accounting")
    year = page.locator("#accounting tbody td").first.inner_text()[:4]
    page.goto(f"{srv.url}/audit/report?year={year}&agency=DHS-ICE")
    assert "DHS-ICE" in page.inner_text("#report")
    with page.expect_download() as dl:
        page.click("#report-csv")
    lines = Path(dl.value.path()).read_text("utf-8").splitlines()
    assert lines[0].startswith("year,requesting_agency") and "DHS-ICE" in lines[1]
    page.goto(f"{srv.url}/audit/report?year={year}&agency=DHS-NONE")  # an agency with nothing
    assert "Nothing in this period" in page.inner_text("#report")
    page.click("header a[href='/audit/export']")
    with page.expect_download() as dl:
        page.click("#export button")
    export = world.root / f"export-{rid}.jsonl"
    dl.value.save_as(export)
    _sign_out(page)
    return export


def test_an_agency_user_is_refused_the_review_desk(browser, site):
    world, srv, _, _, _ = site
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
    world, srv, rid, _, _ = site
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
