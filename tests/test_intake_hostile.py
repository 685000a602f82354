"""Hostile packages and careless operators, end to end on both stores (R1, R3, R18, R37,
contract §2-§4): nothing crosses agencies, nothing crashes, every request is answered.
The world (one per engine) and the helpers are in hostile_world.py.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import shutil
import uuid
from dataclasses import replace
from pathlib import Path

import pytest
from e2e import copy_request, resign, results, taxgate
from hostile_world import (
    ICE_ID,
    World,
    assert_every_record_rejected,
    gateway_key,
    ice_outcomes,
    key_file,
    ledger,
    package,
    response_json,
    run,
    world_fixture,  # noqa: F401 - the fixture ``world``
)

from taxgate.canonical import load_public_key_pem, verify_object
from taxgate.gateway import Gateway

pytestmark = pytest.mark.xdist_group("hostile")


# --- item 1: a request is (agency, request_id) ---------------------------------------------


@pytest.mark.parametrize("rid", ["", "x" * 65, "x" * 300, "-ICE-1", "ICE 1", "ICE[bold]1"])
def test_contract_s2_r1_request_id_outside_its_syntax_is_manifest_malformed(world, tmp_path,
                                                                            rid):
    out = tmp_path / "out"
    result = run(world, package(world, tmp_path, request_id=rid), out)
    assert result.exit_code == 2 and "MANIFEST_MALFORMED" in result.message
    assert_every_record_rejected(world, out, "MANIFEST_MALFORMED")
    assert response_json(out)["request_id"] is None
    last = ledger(world)[-1]
    assert last.event_type == "REQUEST_REFUSED" and last.request_id is None
    assert last.payload["requesting_agency"] == "DHS-ICE"
    assert last.payload["signer_verified"] is False  # the manifest was never accepted


def test_r1_contract_s2_cbp_reusing_ice_request_id_is_refused_and_logged(world, tmp_path):
    """DHS-CBP, with its own registered official, sends DHS-ICE's request_id: it gets
    REQUEST_ID_REUSED, never ICE's results, and the ledger names CBP and its signer."""
    before = len(ledger(world))
    out = tmp_path / "out"
    req = package(world, tmp_path, world.cbp_key, request_id=ICE_ID,
                  requesting_agency="DHS-CBP", signing_official="cbp-commissioner")
    result = run(world, req, out)
    assert result.exit_code == 2 and "REQUEST_ID_REUSED" in result.message
    assert_every_record_rejected(world, out, "REQUEST_ID_REUSED")
    assert (out / "results.csv").read_bytes() != (
        world.root / "ice-response/results.csv").read_bytes()
    new = ledger(world)[before:]
    assert [e.event_type for e in new] == ["REQUEST_REFUSED"]
    p = new[0].payload
    assert (p["requesting_agency"], p["signing_official"], p["signer_verified"]) == (
        "DHS-CBP", "cbp-commissioner", True)
    assert p["request_id"] == ICE_ID and new[0].request_id is None  # not ICE's request
    with Gateway(world.settings) as gw, gw.lock() as st:
        stored = st.find_request(ICE_ID)
    assert stored is not None and stored.agency == "DHS-ICE" and stored.status == "COMPLETE"


def _refused_in_report(world: World, column: str = "requests_refused") -> dict[str, int]:
    year = dt.datetime.now(dt.UTC).year
    with Gateway(world.settings) as gw:
        rows = gw.annual_report(year).rows
    return {r["requesting_agency"]: int(r[column]) for r in rows}


def test_r1_r29_unverified_sender_reusing_a_request_id_is_logged_as_unverified(world,
                                                                               tmp_path):
    """The ledger names the claimed agency with signer_verified false; the annual report
    counts the refusal for that agency as claimed, not among its verified refusals."""
    before = _refused_in_report(world)
    claimed = _refused_in_report(world, "refusals_claimed")
    forged, _ = key_file(tmp_path / "forged.pem")
    req = package(world, tmp_path, forged, request_id=ICE_ID, requesting_agency="DHS-CBP",
                  signing_official="cbp-commissioner")
    result = run(world, req, tmp_path / "out")
    assert result.exit_code == 2 and "REQUEST_ID_REUSED" in result.message
    p = ledger(world)[-1].payload
    assert (p["requesting_agency"], p["signer_verified"]) == ("DHS-CBP", False)
    after = _refused_in_report(world)
    assert after.get("DHS-CBP", 0) == before.get("DHS-CBP", 0)
    assert _refused_in_report(world, "refusals_claimed")["DHS-CBP"] == claimed.get(
        "DHS-CBP", 0) + 1


def test_r1_unverified_refusal_does_not_take_its_request_id(world, tmp_path):
    """A refusal binds its request_id only when the signature proved the sender: an
    unproven package cannot squat another agency's next identifier."""
    forged, _ = key_file(tmp_path / "forged.pem")
    rid = f"ICE-NEXT-{uuid.uuid4().hex[:6]}"
    squat = run(world, package(world, tmp_path, forged, request_id=rid), tmp_path / "o1")
    assert squat.exit_code == 2 and "SIGNATURE_INVALID" in squat.message
    real = run(world, package(world, tmp_path, request_id=rid), tmp_path / "o2")
    assert real.exit_code == 0, real.message


def test_r1_replay_of_identical_bytes_is_answered_and_logged(world, tmp_path):
    out = tmp_path / "out"
    result = run(world, world.paths.request_dir, out)
    assert result.exit_code == 0 and result.replayed
    assert (out / "results.csv").read_bytes() == (
        world.root / "ice-response/results.csv").read_bytes()
    last = ledger(world)[-1]
    assert last.event_type == "REQUEST_REPLAYED" and last.request_id == ICE_ID
    p = last.payload
    assert (p["requesting_agency"], p["signing_official"], p["signer_verified"]) == (
        "DHS-ICE", "ice-director", True)


# --- item 3: signatures age -----------------------------------------------------------------


def test_r1_backdated_signature_by_an_official_whose_registration_ended_is_refused(world,
                                                                                    tmp_path):
    out = tmp_path / "out"
    req = package(world, tmp_path, world.ended_key, request_id="ICE-BACKDATED-1",
                  signing_official="ice-acting-2021", created_at="2021-06-01T12:00:00Z",
                  taxable_periods=[2019, 2020])
    result = run(world, req, out)
    assert result.exit_code == 2 and "OFFICIAL_NOT_VALID_ON_DATE" in result.message
    assert_every_record_rejected(world, out, "OFFICIAL_NOT_VALID_ON_DATE")


def _iso(when: dt.datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def test_r1_created_at_older_than_the_window_is_stale(world, tmp_path):
    out = tmp_path / "out"
    eight_days = _iso(dt.datetime.now(dt.UTC) - dt.timedelta(days=8))
    result = run(world, package(world, tmp_path, request_id="ICE-STALE-1",
                                created_at=eight_days), out)
    assert result.exit_code == 2 and "CREATED_AT_STALE" in result.message
    assert_every_record_rejected(world, out, "CREATED_AT_STALE")


def test_r1_created_at_after_receipt_beyond_the_policy_skew_is_refused(world, tmp_path):
    out = tmp_path / "out"
    strict = replace(world.settings, policy=replace(world.settings.policy,
                                                    created_at_max_skew_minutes=1))
    soon = _iso(dt.datetime.now(dt.UTC) + dt.timedelta(minutes=3))
    result = run(world, package(world, tmp_path, request_id="ICE-FUTURE-1", created_at=soon),
                 out, strict)
    assert result.exit_code == 2 and "CREATED_AT_INVALID" in result.message
    assert_every_record_rejected(world, out, "CREATED_AT_INVALID")


def test_r1_replay_is_answered_whatever_its_age_but_a_new_request_is_not(world, tmp_path):
    no_window = replace(world.settings, policy=replace(world.settings.policy,
                                                       created_at_max_age_days=0))
    again = run(world, world.paths.request_dir, tmp_path / "again", no_window)
    assert again.exit_code == 0 and again.replayed
    fresh = run(world, package(world, tmp_path, request_id="ICE-AGED-1"), tmp_path / "new",
                no_window)
    assert fresh.exit_code == 2 and "CREATED_AT_STALE" in fresh.message


# --- item 5: every request answered, every record accounted for -----------------------------


def _rewrite_records(req: Path, edit=None, newline: str = "\n", bom: bool = False) -> None:
    with (req / "records.csv").open(encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f))
    if edit:
        edit(rows)
    buf = io.StringIO()
    csv.writer(buf, lineterminator=newline).writerows(rows)
    (req / "records.csv").write_bytes((("\ufeff" if bom else "") + buf.getvalue()).encode())


def test_contract_s2_rfc4180_crlf_bom_and_quoted_newline_read_every_record(world, tmp_path):
    req = copy_request(world.paths.request_dir, tmp_path / "req")

    def quoted_newline(rows: list[list[str]]) -> None:
        case = rows[0].index("case_number")
        rows[5][case] = rows[5][case] + "\r\ncontinued"

    _rewrite_records(req, quoted_newline, newline="\r\n", bom=True)
    assert (req / "records.csv").read_bytes().startswith(b"\xef\xbb\xbfrecord_id,")
    resign(req, world.paths.private_key, request_id="ICE-CRLF-1")
    out = tmp_path / "out"
    result = run(world, req, out)
    assert result.exit_code == 0, result.message
    got = {r["record_id"]: (r["outcome"], r["reasons"]) for r in results(out)}
    assert got == ice_outcomes(world)


def test_r37_control_characters_reject_their_record_and_no_other(world, tmp_path):
    req = copy_request(world.paths.request_dir, tmp_path / "req")
    hit: list[str] = []

    def poison(rows: list[list[str]]) -> None:
        head = rows[0]
        rows[1][head.index("first_name")] = "JO\x00SE"
        rows[2][head.index("city")] = "FRES\x1b[2JNO"
        hit.extend([rows[1][0], rows[2][0]])

    _rewrite_records(req, poison)
    resign(req, world.paths.private_key, request_id="ICE-NUL-1")
    out = tmp_path / "out"
    assert run(world, req, out).exit_code == 0
    got = {r["record_id"]: (r["outcome"], r["reasons"]) for r in results(out)}
    for rid in hit:
        assert got[rid][0] == "REJECTED" and "FIELD_CONTROL_CHARACTER" in got[rid][1]
    assert {k: v for k, v in got.items() if k not in hit} == {
        k: v for k, v in ice_outcomes(world).items() if k not in hit}


def _edit_manifest_text(req: Path, edit) -> None:  # noqa: ANN001
    path = req / "manifest.json"
    path.write_text(edit(path.read_text(encoding="utf-8")), encoding="utf-8")


MALFORMED = {
    "missing_field": lambda t: json.dumps({k: v for k, v in json.loads(t).items()
                                           if k != "reason"}),
    "wrong_type": lambda t: json.dumps({**json.loads(t), "record_count": "40"}),
    # the signed value comes last, so a parser keeping the last key would verify it
    "duplicate_key": lambda t: '{"taxable_periods": [2019],' + t[1:],
    "huge_number": lambda t: json.dumps({**json.loads(t), "record_count": 0}).replace(
        '"record_count": 0', '"record_count": ' + "4" * 5000),
    "nan": lambda t: json.dumps({**json.loads(t), "record_count": float("nan")}),
    "nested": lambda t: json.dumps({**json.loads(t), "extra": [[[[[[[[[[1]]]]]]]]]]}),
}


@pytest.mark.parametrize("case", list(MALFORMED))
def test_contract_s3_malformed_manifest_with_readable_records_rejects_every_record(
        world, tmp_path, case):
    req = package(world, tmp_path, request_id=f"ICE-MAL-{case}")
    _edit_manifest_text(req, MALFORMED[case])
    out = tmp_path / "out"
    result = run(world, req, out)
    assert result.exit_code == 2 and "MANIFEST_MALFORMED" in result.message
    assert "\n" not in result.message
    assert_every_record_rejected(world, out, "MANIFEST_MALFORMED")


@pytest.mark.parametrize("what", ["records", "manifest"])
def test_r3_symlinked_package_file_is_refused(world, tmp_path, what):
    req = package(world, tmp_path, request_id=f"ICE-LINK-{what}")
    name = "records.csv" if what == "records" else "manifest.json"
    shutil.move(req / name, tmp_path / name)
    (req / name).symlink_to(tmp_path / name)
    out = tmp_path / "out"
    result = run(world, req, out)
    code = "RECORDS_MALFORMED" if what == "records" else "MANIFEST_MALFORMED"
    assert result.exit_code == 2 and code in result.message and "symbolic link" in result.message
    resp = response_json(out)
    assert resp["records_unreadable"] is True and resp["record_count"] == 0
    assert resp["request_reason"] == code and results(out) == []


def test_r18_records_file_over_the_size_bound_is_refused_unread(world, tmp_path):
    small = replace(world.settings, policy=replace(world.settings.policy,
                                                   max_records_file_bytes=1000))
    out = tmp_path / "out"
    result = run(world, package(world, tmp_path, request_id="ICE-BIG-1"), out, small)
    assert result.exit_code == 2 and "REQUEST_TOO_LARGE" in result.message
    assert response_json(out)["records_unreadable"] is True


# --- through the command line: one line, exit 2, a response, nothing half-done -------------


def _one_line_refusal(run_: object, code: str) -> None:
    assert run_.code == 2, (run_.stdout, run_.stderr)
    lines = run_.stderr.strip().splitlines()
    assert len(lines) == 1 and code in lines[0], run_.stderr
    assert "Traceback" not in run_.stderr and "internal failure" not in run_.stderr


HOSTILE = {
    "number_5000_digits": ("record_count", "4" * 5000, "MANIFEST_MALFORMED"),
    "nesting_100000": ("reason", "[" * 100_000 + "]" * 100_000, "MANIFEST_MALFORMED"),
    "year_9999_offset": ("created_at", '"9999-12-31T23:59:59-05:00"', "CREATED_AT_INVALID"),
    "year_9999": ("created_at", '"9999-12-31T23:59:59Z"', "CREATED_AT_INVALID"),
    "year_1_offset": ("created_at", '"0001-01-01T00:00:00+05:00"', "CREATED_AT_INVALID"),
    "manifest_2mib": ("reason", '"' + "x" * (2 << 20) + '"', "MANIFEST_MALFORMED"),
}


@pytest.mark.parametrize("case", list(HOSTILE))
def test_r37_contract_s4_hostile_manifest_values_get_a_one_line_refusal_and_a_response(
        world, tmp_path, case):
    field, raw, code = HOSTILE[case]
    if field == "created_at":  # signed: refused for the date itself, not the signature
        req = package(world, tmp_path, request_id=f"ICE-HOSTILE-{case}",
                      created_at=json.loads(raw))
    else:
        req = package(world, tmp_path, request_id=f"ICE-HOSTILE-{case}")
        _edit_manifest_text(req, lambda t: json.dumps(
            {**json.loads(t), field: "@@"}).replace('"@@"', raw))
    out = tmp_path / "out"
    _one_line_refusal(taxgate("process", str(req), "--out", str(out), store=world.store), code)
    resp = response_json(out)
    assert verify_object(gateway_key(world), resp) and resp["request_reason"] == code
    assert resp["counts"]["CONFIRMED"] == 0


def test_contract_s3_missing_manifest_still_gets_a_response(world, tmp_path):
    req = copy_request(world.paths.request_dir, tmp_path / "req")
    (req / "manifest.json").unlink()
    out = tmp_path / "out"
    _one_line_refusal(taxgate("process", str(req), "--out", str(out), store=world.store),
                      "MANIFEST_MALFORMED")
    resp = response_json(out)
    assert verify_object(gateway_key(world), resp)
    assert resp["request_id"] is None and resp["records_unreadable"] is True
    assert resp["request_reason"] == "MANIFEST_MALFORMED" and results(out) == []
    last = ledger(world)[-1]
    assert last.event_type == "REQUEST_REFUSED" and last.payload["signer_verified"] is False


@pytest.mark.parametrize("shape", ["a_file", "under_a_file"])
def test_contract_s4_unusable_out_exits_2_before_anything_is_committed(world, tmp_path, shape):
    blocker = tmp_path / "blocker"
    blocker.write_text("not a folder")
    out = blocker if shape == "a_file" else blocker / "response"
    rid = f"ICE-OUT-{shape}"
    before = len(ledger(world))
    req = package(world, tmp_path, request_id=rid)
    _one_line_refusal(taxgate("process", str(req), "--out", str(out), store=world.store),
                      "output folder")
    assert len(ledger(world)) == before
    with Gateway(world.settings) as gw, gw.lock() as st:
        assert st.find_request(rid) is None
    fixed = taxgate("process", str(req), "--out", str(tmp_path / "good"), store=world.store)
    assert fixed.code == 0 and "replayed" not in fixed.stdout, fixed.stderr


def test_contract_s4_failure_after_the_commit_says_what_was_committed_and_a_rerun_fetches_it(
        world, tmp_path):
    rid = "ICE-AFTER-COMMIT-1"
    req = package(world, tmp_path, request_id=rid)
    out = tmp_path / "out"
    (out / "response.json").mkdir(parents=True)
    (out / "response.json" / "keep").write_text("an operator's file")
    failed = taxgate("process", str(req), "--out", str(out), store=world.store)
    assert failed.code == 1, (failed.stdout, failed.stderr)
    line = failed.stderr.strip()
    assert len(line.splitlines()) == 1 and "Traceback" not in line
    assert f"request {rid} was answered and committed" in line and "CONFIRMED" in line
    assert "same package again" in line and "nothing was disclosed" not in line
    shutil.rmtree(out / "response.json")
    again = taxgate("process", str(req), "--out", str(out), store=world.store)
    assert again.code == 0 and "replayed" in again.stdout, again.stderr
    confirmed = sum(r["outcome"] == "CONFIRMED" for r in results(out))
    disclosures = [e for e in ledger(world)
                   if e.event_type == "DISCLOSURE" and e.request_id == rid]
    assert confirmed > 0 and len(disclosures) == confirmed
    assert verify_object(load_public_key_pem(
        taxgate("gateway-key", store=world.store).stdout), response_json(out))
