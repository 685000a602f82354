"""REVIEW resolution on both stores: the desk's queue, what an officer sees (logged),
the two-person rule, the ledger, and the follow-up response through the CLI and API."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import subprocess
import sys

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
    upload,
    wait_done,
)

from taxgate.canonical import verify_object
from taxgate.domain import FollowUp
from taxgate.errors import BadInput, Conflict, NotAllowed
from taxgate.gateway import Gateway
from taxgate.gateway.accounts import Principal
from taxgate.gateway.review import proposal_digest
from taxgate.ledger_events import problem

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("service")]

RITA = Principal("rita", "reviewer")
REMY = Principal("remy", "releaser")
ADA = Principal("ada", "auditor")


@pytest.fixture(scope="module", params=ENGINES_PARAMS)
def answered(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    """A request answered through the API, its REVIEW records on the desk."""
    pg = request.getfixturevalue("pg_server").url if request.param == "postgres" else None
    world = shared_world(request.param, tmp_path_factory, pg)
    rid = f"ICE-REVIEW-{request.param}"
    srv = Server(world, **desk_policy(world)).start()
    try:
        with srv.client(world.token) as c:
            job_id = upload(c, fresh_request(world, tmp_path_factory.mktemp("req"), rid)
                            ).json()["job_id"]
            done = wait_done(c, job_id)
    finally:
        srv.stop()
    assert done["counts"].get("REVIEW", 0) >= 2, done
    return world, rid, done


def _open_with_candidate(gw: Gateway, rid: str):  # noqa: ANN202
    """An OPEN REVIEW record of ``rid`` that the matcher held with a candidate."""
    with gw.lock() as s:
        held = set(held_with_candidate(s, rid))
    return next(e for e in gw.review_queue()
                if e.request_id == rid and e.state == "OPEN" and e.record_id in held)


def _cli(world, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **world.env(), "COLUMNS": "200"}
    return subprocess.run([sys.executable, "-m", "taxgate.cli", *args], input=stdin, env=env,
                          capture_output=True, text=True, timeout=120)


def test_queue_view_propose_release_and_the_ledger(answered):
    world, rid, done = answered
    with Gateway(world.settings) as gw, gw.lock() as s:
        q = [e for e in gw.review_queue() if e.request_id == rid]
        assert len(q) == done["counts"]["REVIEW"] and {e.state for e in q} == {"OPEN"}
        with pytest.raises(NotAllowed):
            gw.view_item(ADA, rid, q[0].row_number)
        # a record the matcher held (a statute hold, e.g. a one-word name, has no candidate)
        views = [(e, gw.view_item(RITA, rid, e.row_number)) for e in q]
        first, v = next((e, v) for e, v in views if v.candidates)
        assert v.record["record_id"] == first.record_id
        assert v.candidates and set(v.candidates[0].agreement) >= {"given name", "delivery point"}
        with pytest.raises(BadInput):
            gw.propose(RITA, rid, first.row_number, "CONFIRMED", "")
        with pytest.raises(NotAllowed):
            gw.propose(REMY, rid, first.row_number, "CONFIRMED", "looks right to me")
        gw.propose(RITA, rid, first.row_number, "CONFIRMED", "SAME_PERSON_NAME_VARIANT",
                   "name variant, same delivery point")
        with pytest.raises(NotAllowed):  # a reviewer cannot release at all
            gw.release(RITA, rid, first.row_number)
        # the two-person rule also holds for one person holding both roles over time
        with pytest.raises(Conflict):
            gw.release(Principal("rita", "releaser"), rid,
                           first.row_number)
        fu = gw.release(REMY, rid, first.row_number)
        with pytest.raises(Conflict):
            gw.release(Principal("ray", "releaser"), rid,
                           first.row_number)
        with pytest.raises(Conflict):
            gw.propose(RITA, rid, first.row_number, "NOT_CONFIRMED", "DIFFERENT_PERSON_NAME")
        key = s.signing_key().public_key()
        entries = [e for e in s.ledger_entries() if e.request_id == rid]
    resp = json.loads(fu.response_json)
    assert verify_object(key, resp)
    assert resp["follow_up_of"] == rid and resp["follow_up_seq"] == 1
    assert resp["counts"]["CONFIRMED"] == 1 and resp["record_count"] == 1
    rows = list(csv.DictReader(io.StringIO(fu.results_csv)))
    assert rows == [{"record_id": first.record_id, "outcome": "CONFIRMED", "reasons": ""}]
    viewed = [e.payload for e in entries if e.event_type == "FTI_VIEWED"]
    assert viewed and all(p["viewer"] == "rita" and p.get("tin") is None for p in viewed)
    assert any(p.get("tin_digest") for p in viewed)
    decided = [e.payload for e in entries if e.event_type == "REVIEW_DECIDED"]
    assert len(decided) == 1 and decided[0]["proposed_by"] == "rita"
    assert decided[0]["released_by"] == "remy" and decided[0]["outcome"] == "CONFIRMED"
    disclosed = [e.payload for e in entries if e.event_type == "DISCLOSURE"
                 and e.payload["record_id"] == first.record_id]
    assert len(disclosed) == 1 and disclosed[0]["tin_digest"]
    # every entry is a declared event with exactly its declared fields
    assert [p for e in entries if (p := problem(e.event_type, list(e.payload)))] == []
    # nothing an officer saw entered the follow-up
    blob = fu.response_json + fu.results_csv
    assert not [x for x in v.standardized.values() if len(x) > 3 and x in blob]


def test_cli_propose_release_follow_up_and_the_agency_downloads_it(answered, tmp_path):
    world, rid, _ = answered
    with Gateway(world.settings) as gw, gw.lock() as s:
        row = _open_with_candidate(gw, rid)
    listed = _cli(world, "review", "queue")
    assert listed.returncode == 0 and rid in listed.stdout
    p = _cli(world, "review", "propose", rid, str(row.row_number), "--outcome", "NOT_CONFIRMED",
             "--reason", "DIFFERENT_PERSON_IDENTIFIER", "--note", "birth date differs",
             "--user", "rita",
             stdin=PASSWORD + "\n")
    assert p.returncode == 0, p.stderr
    same = _cli(world, "review", "release", rid, str(row.row_number), "--user", "rita",
                stdin=PASSWORD + "\n")
    assert same.returncode == 3 and "needs the role releaser" in same.stderr
    wrong = _cli(world, "review", "release", rid, str(row.row_number), "--user", "ray",
                 stdin="not the password\n")
    assert wrong.returncode == 3
    ok = _cli(world, "review", "release", rid, str(row.row_number), "--user", "ray",
              "--out", str(tmp_path / "fu"), stdin=PASSWORD + "\n")
    assert ok.returncode == 0, ok.stderr
    resp = json.loads((tmp_path / "fu/response.json").read_text())
    assert resp["follow_up_of"] == rid and resp["counts"]["NOT_CONFIRMED"] == 1
    seq = resp["follow_up_seq"]
    again = _cli(world, "review", "follow-up", rid, str(seq), "--out", str(tmp_path / "again"))
    assert again.returncode == 0, again.stderr
    assert (tmp_path / "again/response.json").read_bytes() == (
        tmp_path / "fu/response.json").read_bytes()
    srv = Server(world).start()
    try:
        with srv.client(world.token) as c:
            listed_api = c.get(f"/v1/requests/{rid}/follow-ups").json()["items"]
            got = c.get(f"/v1/requests/{rid}/follow-ups/{seq}/response.json")
            csv_text = c.get(f"/v1/requests/{rid}/follow-ups/{seq}/results.csv").text
        with srv.client(world.other_token) as other:
            assert other.get(f"/v1/requests/{rid}/follow-ups").status_code == 404
            assert other.get(f"/v1/requests/{rid}/follow-ups/{seq}/response.json"
                             ).status_code == 404
    finally:
        srv.stop()
    assert seq in {f["seq"] for f in listed_api}
    assert got.status_code == 200 and got.json() == resp
    assert csv_text.splitlines()[1] == f"{row.record_id},NOT_CONFIRMED,"
    with Gateway(world.settings) as gw, gw.lock() as s:
        decided = [e.payload for e in s.ledger_entries() if e.event_type == "REVIEW_DECIDED"
                   and e.request_id == rid and e.payload["row_number"] == row.row_number]
    assert len(decided) == 1 and decided[0]["released_by"] == "ray"


def test_r23_every_review_record_says_why_on_the_desk_and_never_in_the_response(answered):
    """Each REVIEW record, held by the statute (a one-word name) or by the decision,
    shows the desk why in words; the response keeps only its reason codes."""
    from taxgate.review_reasons import REVIEW_REASONS

    world, rid, _ = answered
    with Gateway(world.settings) as gw, gw.lock() as s:
        items = [e for e in gw.review_queue(include_released=True) if e.request_id == rid]
        views = [gw.view_item(RITA, rid, e.row_number) for e in items]
        stored = s.find_request(rid)
        decisions = s.decisions(rid).to_pylist()
    assert views and all(v.held_because for v in views)
    assert {c for v in views for c, _ in v.held_because} <= set(REVIEW_REASONS)
    held = {d["reasons"] for d in decisions if d["outcome"] == "REVIEW"}
    assert held <= {"DISCLOSURE_OFFICER_REVIEW", "NAME_SINGLE_WORD"}
    assert stored is not None
    for reason in REVIEW_REASONS.values():
        assert reason.words not in stored.response_json


def _signed_in(srv: Server, user: str):  # noqa: ANN202
    """An httpx client signed in to the web pages as ``user``."""
    c = srv.client()
    r = sign_in(c, user)
    assert r.status_code == 303, r.text
    return c


def _form(html: str, form_id: str) -> dict[str, str]:
    """The hidden fields of one form of a page."""
    import re

    block = html.split(f'id="{form_id}"', 1)[1].split("</form>", 1)[0]
    return dict(re.findall(r'name="([a-z_]+)" value="([^"]*)"', block))


def test_r23_release_binds_the_proposal_the_page_showed(answered):
    """R23/R36: a releaser releases the proposal the page showed, never one entered after
    it loaded: a CONFIRMED proposed meanwhile is refused (409), nothing is released, and
    releasing it needs the page loaded again (the review found release unbound)."""
    world, rid, _ = answered
    with Gateway(world.settings) as gw, gw.lock() as s:
        row = _open_with_candidate(gw, rid)
    srv = Server(world).start()
    try:
        rita, remy = _signed_in(srv, "rita"), _signed_in(srv, "remy")
        with contextlib.closing(rita), contextlib.closing(remy):
            item = f"/review/item?request_id={rid}&row={row.row_number}"
            propose = _form(rita.get(item).text, "propose")
            r = rita.post("/review/propose", data={
                **propose, "outcome": "NOT_CONFIRMED", "reason": "DIFFERENT_PERSON_IDENTIFIER",
                "note": "Different birth date"})
            assert r.status_code == 303, r.text
            page = remy.get(item).text
            assert "Different birth date" in page
            seen = _form(page, "release")
            assert len(seen["proposal"]) == 64
            r = rita.post("/review/propose", data={
                **propose, "outcome": "CONFIRMED", "reason": "SAME_PERSON_NAME_VARIANT",
                "note": "Same person after all, I think"})
            assert r.status_code == 303
            stale = remy.post("/review/release", data=seen)
            assert stale.status_code == 409, stale.text
            assert "proposal changed after this page was loaded" in stale.text
            missing = remy.post("/review/release", data={
                k: v for k, v in seen.items() if k != "proposal"})
            assert missing.status_code == 400
            fresh = _form(remy.get(item).text, "release")
            assert fresh["proposal"] != seen["proposal"]
            ok = remy.post("/review/release", data=fresh)
            assert ok.status_code == 200 and 'id="released"' in ok.text
    finally:
        srv.stop()
    with Gateway(world.settings) as gw, gw.lock() as s:
        decided = [e.payload for e in s.ledger_entries() if e.event_type == "REVIEW_DECIDED"
                   and e.request_id == rid and e.payload["row_number"] == row.row_number]
    assert [(d["outcome"], d["reason"], d["note"]) for d in decided] == [
        ("CONFIRMED", "SAME_PERSON_NAME_VARIANT", "Same person after all, I think")]


def test_r23_a_proposal_changed_inside_the_release_is_not_released(answered):
    """The store checks the proposal again in the release's own transaction, so a
    proposal replaced between the releaser's read and the commit is not released."""
    world, rid, _ = answered
    with Gateway(world.settings) as gw, gw.lock() as s:
        row = next(e for e in gw.review_queue() if e.request_id == rid)  # not yet released
        first = gw.propose(RITA, rid, row.row_number, "NOT_CONFIRMED",
                           "DIFFERENT_PERSON_NAME", "the given names differ")
        gw.propose(RITA, rid, row.row_number, "CONFIRMED", "SAME_PERSON_NAME_VARIANT")
        fu = FollowUp(rid, 999, first.proposed_at, "{}", "")
        assert not s.commit_follow_up(fu, [row.row_number], "remy", [], first)
        now = next(d for d in s.review_decisions(rid) if d.row_number == row.row_number)
        assert now.released_by is None and now.outcome == "CONFIRMED"
        with pytest.raises(Conflict, match="proposal changed"):
            gw.release(REMY, rid, row.row_number,
                           proposal_digest(first))
    cli = _cli(world, "review", "release", rid, str(row.row_number), "--user", "ray",
               "--proposal", proposal_digest(first), stdin=PASSWORD + "\n")
    assert cli.returncode == 3 and "proposal changed" in cli.stderr  # Conflict: refused


def test_r23_r36_send_back_history_and_screened_notes(answered):
    """A note naming the record's taxpayer is refused and nothing is recorded (R34); a
    releaser sends a proposal back (REVIEW_SENT_BACK) and the record is open again; the
    next proposal is released; the history shows each step to the releaser."""
    world, rid, _ = answered
    with Gateway(world.settings) as gw, gw.lock() as s:
        row = _open_with_candidate(gw, rid)
        n = row.row_number
        first = gw.view_item(RITA, rid, n)
        given = str(first.record["first_name"])
        with pytest.raises(BadInput, match="names a value of the record") as refused:
            gw.propose(RITA, rid, n, "NOT_CONFIRMED", "DIFFERENT_PERSON_NAME",
                       f"not {given}, another person")
        assert given not in str(refused.value)
        with pytest.raises(BadInput, match="choose a reason code"):
            gw.propose(RITA, rid, n, "CONFIRMED", "DIFFERENT_PERSON_NAME")
        assert not [d for d in s.review_decisions(rid) if d.row_number == n]
        gw.propose(RITA, rid, n, "CONFIRMED", "SAME_PERSON_NAME_VARIANT", "nickname")
        shown = next(e for e in gw.review_queue() if e.request_id == rid and e.row_number == n)
        with pytest.raises(Conflict, match="proposal changed"):
            gw.send_back(REMY, rid, n, "0" * 64, "EVIDENCE_OVERLOOKED")
        with pytest.raises(Conflict, match="two-person rule"):
            gw.send_back(Principal("rita", "releaser"), rid, n, shown.proposal_digest,
                         "EVIDENCE_OVERLOOKED")
        step = gw.send_back(REMY, rid, n, shown.proposal_digest, "EVIDENCE_OVERLOOKED",
                            "the birth years differ")
        assert (step.action, step.actor, step.reason) == ("SENT_BACK", "remy",
                                                          "EVIDENCE_OVERLOOKED")
        again = next(e for e in gw.review_queue() if e.request_id == rid and e.row_number == n)
        assert again.state == "OPEN" and again.outcome is None
        with pytest.raises(Conflict, match="nothing has been proposed"):
            gw.release(REMY, rid, n)
        gw.propose(RITA, rid, n, "NOT_CONFIRMED", "DIFFERENT_PERSON_IDENTIFIER",
                   "birth years differ")
        before = gw.view_item(REMY, rid, n)
        gw.release(REMY, rid, n, before.entry.proposal_digest)
        after = gw.view_item(REMY, rid, n)
        entries = [e for e in s.ledger_entries() if e.request_id == rid
                   and e.payload.get("row_number") == n]
    assert [(h.action, h.actor, h.reason) for h in after.history] == [
        ("PROPOSED", "rita", "SAME_PERSON_NAME_VARIANT"),
        ("SENT_BACK", "remy", "EVIDENCE_OVERLOOKED"),
        ("PROPOSED", "rita", "DIFFERENT_PERSON_IDENTIFIER"),
        ("RELEASED", "remy", None)]
    assert [h.note for h in before.history] == ["nickname", "the birth years differ",
                                               "birth years differ"]
    assert before.entry.reason == "DIFFERENT_PERSON_IDENTIFIER"
    sent = [e.payload for e in entries if e.event_type == "REVIEW_SENT_BACK"]
    assert sent == [{"request_id": rid, "row_number": n, "reason": "EVIDENCE_OVERLOOKED",
                     "note": "the birth years differ", "sent_back_by": "remy"}]
    decided = [e.payload for e in entries if e.event_type == "REVIEW_DECIDED"]
    assert [(d["reason"], d["note"]) for d in decided] == [
        ("DIFFERENT_PERSON_IDENTIFIER", "birth years differ")]
    assert [p for e in entries if (p := problem(e.event_type, list(e.payload)))] == []
    # the record's values never reached the ledger through a note
    assert not [e for e in entries if given in json.dumps(e.payload)]
    # candidates in the same order on every view; the evidence in words, not a dict
    assert [c.fields for c in first.candidates] == [c.fields for c in after.candidates]
    assert first.chart.rows and all(isinstance(r.weight, float) and "{" not in r.level
                                    for r in first.chart.rows)
    assert {r.field for r in first.chart.rows} >= {"given name", "family name", "address"}


def test_r23_the_queue_filters_sorts_counts_and_gives_the_next_record(answered):
    from taxgate.gateway.desk_queue import QueueFilter, next_for

    world, rid, done = answered
    with Gateway(world.settings) as gw:
        mine = gw.review_queue(filters=QueueFilter(request_id=rid), include_released=True)
        assert len(mine) == done["counts"]["REVIEW"]
        assert all(e.held_why for e in mine)
        code = mine[0].held_why[0]
        held = gw.review_queue(filters=QueueFilter(request_id=rid, held_why=code),
                               include_released=True)
        assert held and all(code in e.held_why for e in held)
        assert gw.review_queue(filters=QueueFilter(agency="DHS-CBP")) == []
        assert gw.review_queue(filters=QueueFilter(request_id=rid, min_age_days=1)) == []
        by_request = gw.review_queue(filters=QueueFilter(request_id=rid, sort="request"))
        assert [e.row_number for e in by_request] == sorted(e.row_number for e in by_request)
        newest = gw.review_queue(filters=QueueFilter(request_id=rid, sort="newest"))
        assert [e.captured_at for e in newest] == sorted(
            (e.captured_at for e in newest), reverse=True)
    open_ = [e for e in by_request if e.state == "OPEN"]
    nxt = next_for(RITA, by_request)
    assert nxt is not None and nxt == open_[0]
    after = next_for(RITA, by_request, (nxt.request_id, nxt.row_number))
    assert after is None or (after.state == "OPEN" and after != nxt)
    assert next_for(ADA, by_request) is None
