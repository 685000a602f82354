"""R32: return/destroy certifications tracked per request, the overdue view and the
optional block; R39: incident alerts for refused-signature bursts, disclosure-hold hits
and failed ledger checks, to a JSON Lines file and to a webhook (a real local HTTP
server). On both stores."""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import http.server
import json
import re
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from e2e import taxgate
from hostile_world import World, key_file, package, run, world_fixture  # noqa: F401
from store_raw import run_sql

from taxgate import alerts
from taxgate.domain import LedgerEvent
from taxgate.errors import IntegrityError
from taxgate.gateway import Gateway
from taxgate.gateway.incidents import refused_signatures_since
from taxgate.ledger_events import Disclosure
from taxgate.settings import Settings
from taxgate.store import open_store

TODAY = dt.datetime.now(dt.UTC).date()
TIN_LIKE = re.compile(r"\b\d{9}\b")


def _old_disclosure(world: World, agency: str = "DHS-CBP") -> str:
    """A disclosure to ``agency`` logged as made on 2025-01-10 (so its certification, due
    90 days later, is overdue); the request id it was filed under."""
    rid = f"CBP-OLD-{uuid.uuid4().hex[:6]}"
    event = Disclosure(
        request_id=rid, record_id="R1", tin="900000001", requesting_agency=agency,
        signing_official="cbp-commissioner", officer_id="OFF-1", case_number=None,
        legal_authority="26 U.S.C. 6103(i)(2)", criminal_statute="8 U.S.C. 1253(a)(1)",
        purpose="an earlier request", taxable_periods=[2023],
        disclosed_at="2025-01-10T12:00:00.000000Z", data_elements=["address_confirmation"],
        match_probability=0.9999, model_version=None, policy_version="p").to_event()
    with Gateway(world.settings) as gw, gw.lock() as store:
        store.append_events([event])
    return rid


def _cbp_package(world: World, tmp_path: Path) -> Path:
    return package(world, tmp_path, world.cbp_key, request_id=f"CBP-{uuid.uuid4().hex[:8]}",
                   requesting_agency="DHS-CBP", signing_official="cbp-commissioner")


def _blocking(world: World, **policy: object) -> Settings:
    return dataclasses.replace(world.settings, policy=dataclasses.replace(
        world.settings.policy, block_overdue_certifications=True, **policy))


def test_r32_each_disclosing_request_is_due_a_certification_and_overdue_ones_are_listed(
        world, tmp_path):
    """ICE's answered request is due 90 days after its disclosures; an old one is
    overdue until the agency's certification is recorded (the CLI, on the ledger)."""
    old = _old_disclosure(world)
    with Gateway(world.settings) as gw:
        every = {d.request_id: d for d in gw.certifications()}
        overdue = {d.request_id for d in gw.certifications(overdue_only=True)}
    ice = every[world.answered.request_id]
    assert ice.due_on == dt.date.fromisoformat(ice.last_disclosed_at[:10]) + dt.timedelta(90)
    assert ice.instances == world.answered.counts["CONFIRMED"] and ice.disposition is None
    assert old in overdue and world.answered.request_id not in overdue
    listed = taxgate("certifications", "list", "--overdue", store=world.store)
    assert listed.code == 0 and old in listed.stdout and "OVERDUE" in listed.stdout
    done = taxgate("certifications", "record", old, "--disposition", "destroyed",
                   "--certified-by", "cbp-privacy-officer", "--operator", "disclosure-office",
                   "--date", TODAY.isoformat(), store=world.store)
    assert done.code == 0, done.stderr
    with Gateway(world.settings) as gw, gw.lock() as store:
        assert old not in {d.request_id for d in gw.certifications(overdue_only=True)}
        entry = [e for e in store.ledger_entries() if e.event_type != "CHECKPOINT"][-1]
    assert entry.event_type == "RETURN_CERTIFIED" and entry.payload["disposition"] == "DESTROYED"
    nothing = taxgate("certifications", "record", "NO-SUCH-REQ", "--disposition", "RETURNED",
                      "--certified-by", "x", "--operator", "y", store=world.store)
    assert nothing.code == 2 and "nothing to certify" in nothing.stderr


def test_r32_an_overdue_certification_blocks_new_requests_only_when_the_policy_says_so(
        world, tmp_path):
    """Off by default; on, the agency's next request is refused CERTIFICATION_OVERDUE as a
    whole until its certification is recorded."""
    old = _old_disclosure(world)
    answered = run(world, _cbp_package(world, tmp_path), tmp_path / "o1")
    assert answered.exit_code == 0, answered.message
    refused = run(world, _cbp_package(world, tmp_path), tmp_path / "o2", _blocking(world))
    assert refused.exit_code == 2 and "CERTIFICATION_OVERDUE" in refused.message
    with (tmp_path / "o2" / "results.csv").open(encoding="utf-8") as f:
        assert {r["reasons"] for r in csv.DictReader(f)} == {"CERTIFICATION_OVERDUE"}
    with Gateway(world.settings) as gw:
        gw.certify(old, disposition="RETURNED", certified_by="cbp-privacy-officer",
                   certified_on=TODAY, operator="disclosure-office")
        for d in gw.certifications(overdue_only=True, agency="DHS-CBP"):
            gw.certify(d.request_id, disposition="RETURNED", certified_by="cbp-privacy",
                       certified_on=TODAY, operator="disclosure-office")
    again = run(world, _cbp_package(world, tmp_path), tmp_path / "o3", _blocking(world))
    assert again.exit_code == 0, again.message


def _alerts(path: Path) -> list[dict]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_r39_a_burst_of_refused_signatures_alerts_the_file_sink(world, tmp_path):
    """Every threshold-th refusal of an unproven signature within the window raises one
    REFUSED_SIGNATURE_BURST line: ids and counts, no taxpayer value."""
    sink = tmp_path / "alerts.jsonl"
    since = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=15)
    with Gateway(world.settings) as gw, gw.lock() as store:
        already = len(refused_signatures_since(store, since))
    settings = dataclasses.replace(world.settings, alert_sink=str(sink), policy=dataclasses.replace(
        world.settings.policy, alert_refused_signatures=already + 2, alert_window_minutes=15))
    forged, _ = key_file(tmp_path / "forged.pem")
    first = run(world, package(world, tmp_path, forged, request_id=f"F-{uuid.uuid4().hex[:6]}"),
                tmp_path / "o1", settings)
    assert first.exit_code == 2 and _alerts(sink) == []
    run(world, package(world, tmp_path, forged, request_id=f"F-{uuid.uuid4().hex[:6]}"),
        tmp_path / "o2", settings)
    [alert] = _alerts(sink)
    assert alert["kind"] == "REFUSED_SIGNATURE_BURST" and alert["count"] == already + 2
    assert alert["agency"] == "DHS-ICE" and "TIGTA" in alert["action"]
    assert not TIN_LIKE.search(sink.read_text(encoding="utf-8"))


def test_r39_r6_a_disclosure_hold_hit_alerts_with_the_request_and_count_only(world, tmp_path):
    """ICE's request names a taxpayer under a disclosure hold (answered NOT_CONFIRMED):
    sent again under a new id, it raises DISCLOSURE_HOLD_HIT naming the request."""
    sink = tmp_path / "alerts.jsonl"
    settings = dataclasses.replace(world.settings, alert_sink=str(sink))
    rid = f"ICE-HOLD-{uuid.uuid4().hex[:6]}"
    result = run(world, package(world, tmp_path, request_id=rid), tmp_path / "o", settings)
    assert result.exit_code == 0, result.message
    with (world.paths.truth).open(encoding="utf-8") as f:
        held = [r["record_id"] for r in csv.DictReader(f) if r["category"] == "disclosure_hold"]
    with (tmp_path / "o" / "results.csv").open(encoding="utf-8") as f:
        outcomes = {r["record_id"]: r["outcome"] for r in csv.DictReader(f)}
    assert held and all(outcomes[r] == "NOT_CONFIRMED" for r in held)
    [alert] = _alerts(sink)
    assert alert["kind"] == "DISCLOSURE_HOLD_HIT" and alert["request_id"] == rid
    assert alert["count"] == len(held)
    text = sink.read_text(encoding="utf-8")
    assert not TIN_LIKE.search(text) and not any(r in text for r in held)


@pytest.fixture
def webhook() -> Iterator[tuple[str, list[dict]]]:
    """A real HTTP server on a free local port that keeps every JSON body POSTed to it."""
    received: list[dict] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append(json.loads(body))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hook", received
    finally:
        server.shutdown()
        server.server_close()


def test_r39_a_failed_ledger_check_alerts_the_webhook(store_settings, webhook):
    """An edited ledger entry fails `ledger verify`: LEDGER_CHECK_FAILED is POSTed."""
    url, received = webhook
    settings = dataclasses.replace(store_settings, alert_sink=url)
    with open_store(settings, create=True) as s:
        s.initialize()
        s.append_events([LedgerEvent("SIGN_OUT", {"username": f"u{i}"}, None)
                         for i in range(3)])
    run_sql(settings, "UPDATE ledger SET payload = '{\"username\":\"zz\"}' WHERE seq = 2")
    with Gateway(settings) as gw, pytest.raises(IntegrityError):
        gw.verify_ledger()
    assert [a["kind"] for a in received] == ["LEDGER_CHECK_FAILED"]
    assert "seq 2" in received[0]["summary"]


def test_r39_a_sink_that_fails_never_stops_the_work(tmp_path):
    """An unreachable webhook or an unwritable file: the alert is not delivered (False),
    nothing raises."""
    a = alerts.Alert(alerts.DISCLOSURE_HOLD_HIT, "test", request_id="R-1", count=1)
    assert alerts.send("http://127.0.0.1:9/hook", a) is False
    (tmp_path / "dir").mkdir()
    assert alerts.send(str(tmp_path / "dir"), a) is False
    assert alerts.send(str(tmp_path / "ok.jsonl"), a) is True
