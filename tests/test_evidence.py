"""Accountable to a court, on both stores: the evidence kept of every request (R3, R30),
a re-check of past disclosures under other rules (R30), the taxpayers affected and
their notification letters (R31, 26 U.S.C. 7431(e))."""

from __future__ import annotations

import csv
import dataclasses
import json
import stat

import pytest
from api_world import ENGINES_PARAMS, fresh_request, shared_world
from e2e import taxgate

from taxgate.errors import NotAllowed
from taxgate.gateway import Gateway
from taxgate.gateway.notify import Selection
from taxgate.ledger_events import problem
from taxgate.settings import Policy

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("service")]


@pytest.fixture(scope="module", params=ENGINES_PARAMS)
def answered(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    """A request answered by the gateway, with confirmations, on each store."""
    pg = request.getfixturevalue("pg_server").url if request.param == "postgres" else None
    world = shared_world(request.param, tmp_path_factory, pg)
    rid = f"ICE-EVIDENCE-{request.param}"
    req = fresh_request(world, tmp_path_factory.mktemp("req"), rid)
    with Gateway(world.settings) as gw:
        result = gw.process(req, tmp_path_factory.mktemp("resp") / "out")
        with gw.lock() as store:
            confirmed = {r["tin"] for r in store.decisions(rid).to_pylist()
                         if r["outcome"] == "CONFIRMED"}
    assert result.exit_code == 0 and confirmed, result.counts
    return world, rid, confirmed


def _entries(world, after: int = 0) -> list:  # noqa: ANN001
    with Gateway(world.settings) as gw, gw.lock() as store:
        return list(store.ledger_entries(after))


def _head(world) -> int:  # noqa: ANN001
    with Gateway(world.settings) as gw, gw.lock() as store:
        head = store.ledger_head()
        return head.seq if head else 0


def test_r3_r30_the_signed_original_is_kept_sealed_and_verified_again(answered):
    world, rid, _ = answered
    before = _head(world)
    with Gateway(world.settings) as gw:
        e = gw.evidence(rid, "cli")
        with gw.lock() as store:
            manifest = store.kept("manifest", rid)
            raw = store._svc_rows("SELECT sealed FROM " + store._t("evidence"))  # noqa: SLF001
    assert e.manifest is not None and e.manifest["request_id"] == rid
    assert json.loads(manifest)["signature"] == e.manifest["signature"]
    assert e.package_matches, "the kept files hash to the package digest recorded"
    assert e.signature.verified and e.signature.official == "ice-director"
    assert e.signature.key_sha256
    # the policy's every value and the model are kept under their versions
    assert e.policies == {Policy().version(): json.loads(json.dumps(
        dataclasses.asdict(Policy())))}
    assert list(e.models.values()) and all(e.models.values())
    assert len(e.records) == e.manifest["record_count"]
    assert all(r.tin is None and r.submitted is None for r in e.records)
    # sealed at rest: no part of the kept package is stored in clear
    assert raw and not any(b"record_id" in bytes(r[0]) or rid.encode() in bytes(r[0])
                           for r in raw)
    viewed = [x for x in _entries(world, before) if x.event_type == "EVIDENCE_VIEWED"]
    assert [(v.payload["request_id"], v.payload["revealed"], v.payload["signature_verified"])
            for v in viewed] == [(rid, False, True)]
    assert problem("EVIDENCE_VIEWED", list(viewed[0].payload)) is None


def test_r3_taxpayer_values_only_for_an_auditor_who_asks(answered):
    world, rid, confirmed = answered
    with Gateway(world.settings) as gw:
        with pytest.raises(NotAllowed):
            gw.evidence(rid, "rita", reveal=True)  # a reviewer
        with pytest.raises(NotAllowed):
            gw.evidence(rid, "nobody", reveal=True)
        e = gw.evidence(rid, "ada", reveal=True)  # an auditor
    shown = {r.tin for r in e.records if r.outcome == "CONFIRMED"}
    assert shown == confirmed
    assert all(r.submitted and r.submitted["last_name"] is not None for r in e.records)


def test_r3_the_cli_shows_the_evidence_without_taxpayer_values(answered):
    world, rid, confirmed = answered
    run = taxgate("evidence", rid, store=world.settings.store, env=world.env())
    assert run.code == 0, run.stderr
    assert "signature verified again" in run.stdout and "policy-" in run.stdout
    assert not any(tin in run.stdout for tin in confirmed)
    refused = taxgate("evidence", rid, "--reveal", "--user", "rita",
                      store=world.settings.store, env=world.env())
    assert refused.code == 3 and "auditor" in refused.stderr  # NotAllowed: refused


def test_r30_recheck_under_the_same_rules_withdraws_nothing(answered):
    """The kept evidence, the kept model and the production code reproduce every
    confirmation: a re-check is a faithful re-decision, not a guess."""
    world, rid, confirmed = answered
    with Gateway(world.settings) as gw:
        report = gw.recheck(Policy())
    mine = [w for w in report.withdrawn if w.request_id == rid]
    assert rid not in report.not_rechecked
    assert report.confirmed >= len(confirmed) and mine == []


def test_r30_r31_a_request_whose_policy_is_later_tightened_is_listed(answered, tmp_path):
    world, rid, confirmed = answered
    tightened = Policy(min_days_after_removal_order=36_500)
    before = _head(world)
    with Gateway(world.settings) as gw:
        with gw.lock() as store:
            rows_before = store.decisions(rid).to_pylist()
            stored_before = store.find_request(rid)
        report = gw.recheck(tightened, agency="DHS-ICE", actor="counsel")
        with gw.lock() as store:
            assert store.decisions(rid).to_pylist() == rows_before
            assert store.find_request(rid) == stored_before
        affected = gw.affected(Selection(request_ids=(rid,)), "counsel", tmp_path / "a.csv")
    mine = [w for w in report.withdrawn if w.request_id == rid]
    assert {w.tin for w in mine} == confirmed
    assert all(w.reasons == ("REMOVAL_ORDER_TOO_RECENT",) for w in mine)
    assert report.per_reason["REMOVAL_ORDER_TOO_RECENT"] >= len(confirmed)
    new = [e for e in _entries(world, before)]
    runs = [e for e in new if e.event_type == "RECHECK_RUN"]
    assert {e.event_type for e in new} <= {"RECHECK_RUN", "CHECKPOINT", "AFFECTED_LISTED"}
    assert len(runs) == 1 and runs[0].payload["policy_version"] == tightened.version()
    assert runs[0].payload["policy_values"]["min_days_after_removal_order"] == 36_500
    # R31: the affected-taxpayer listing names that request's taxpayers
    assert {a.tin for a in affected} == confirmed
    with (tmp_path / "a.csv").open(encoding="utf-8", newline="") as f:
        assert {r["tin"] for r in csv.DictReader(f)} == confirmed
    assert stat.S_IMODE((tmp_path / "a.csv").stat().st_mode) == 0o600


def test_r31_affected_by_rule_version_model_version_and_user(answered):
    world, rid, confirmed = answered
    with Gateway(world.settings) as gw:
        e = gw.evidence(rid, "cli")
        (policy_version,), (model_version,) = list(e.policies), list(e.models)
        by_policy = gw.affected(Selection(policy_version=policy_version), "counsel")
        by_model = gw.affected(Selection(model_version=model_version), "counsel")
        by_user = gw.affected(Selection(user="ice-director"), "counsel")
        by_nobody = gw.affected(Selection(user="no-such-official"), "counsel")
    for found in (by_policy, by_model, by_user):
        assert confirmed <= {a.tin for a in found}
    assert by_nobody == []
    assert all(a.name and a.address[0] for a in by_user)


def test_r31_notification_letters_one_per_taxpayer_each_recorded(answered, tmp_path):
    world, rid, confirmed = answered
    chosen = sorted(confirmed)[:2]
    before = _head(world)
    with Gateway(world.settings) as gw:
        paths = gw.notify(Selection(request_ids=(rid,)), tmp_path / "letters", "counsel",
                          set(chosen))
    assert len(paths) == len(chosen)
    issued = [e for e in _entries(world, before) if e.event_type == "LETTER_ISSUED"]
    assert len(issued) == len(chosen)
    for path, event in zip(sorted(paths), sorted(issued, key=lambda e: e.payload["letter_id"]),
                           strict=True):
        page = path.read_text(encoding="utf-8")
        assert "26 U.S.C. 7431(e)" in page and event.payload["letter_id"] in page
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        rows = list(csv.DictReader(path.with_suffix(".csv").open(encoding="utf-8")))
        assert rows and all(r["request_id"] == rid for r in rows)
        assert all(r["statute"] == "26 U.S.C. 7431(e)" for r in rows)
        assert "tin" not in event.payload and event.payload["tin_digest"]
        assert not any(t in path.name for t in confirmed)


def test_r3_a_refused_request_keeps_its_signed_original_too(answered, tmp_path):
    world, _, _ = answered
    from e2e import copy_request, resign

    rid = f"ICE-EVIDENCE-REFUSED-{world.settings.is_postgres}"
    req = copy_request(world.paths.request_dir, tmp_path / rid)
    resign(req, world.paths.private_key, request_id=rid, reason="because")
    with Gateway(world.settings) as gw:
        result = gw.process(req, tmp_path / "out")
        e = gw.evidence(rid, "cli")
    assert result.exit_code == 2
    assert e.request.status == "REFUSED" and e.manifest and e.manifest["reason"] == "because"
    assert e.package_matches and e.signature.verified
    assert {r.reasons for r in e.records} == {"REASON_NOT_SPECIFIC"}


def test_r30_r31_an_officers_release_is_rechecked_and_names_its_taxpayer(answered, tmp_path):
    """A record confirmed by a disclosure officer after REVIEW is re-decided too; the
    officers who proposed and released it select its taxpayer (R31: a user)."""
    world, _, _ = answered
    from api_world import held_with_candidate

    from taxgate.gateway.accounts import Principal

    rid = f"ICE-EVIDENCE-DESK-{world.settings.is_postgres}"
    desk = dataclasses.replace(world.settings, policy=Policy(review_competitors=True))
    with Gateway(desk) as gw:
        gw.process(fresh_request(world, tmp_path, rid), tmp_path / "out")
        with gw.lock() as store:
            held = set(held_with_candidate(store, rid))
            tins = {r["record_id"]: r["tin"] for r in store.decisions(rid).to_pylist()}
        item = next(e for e in gw.review_queue() if e.request_id == rid and e.record_id in held)
        gw.propose(Principal("rita", "reviewer"), rid, item.row_number, "CONFIRMED",
                   "SAME_PERSON_IDENTIFIER_AGREES")
        gw.release(Principal("remy", "releaser"), rid, item.row_number)
        report = gw.recheck(Policy(min_days_after_removal_order=36_500), actor="counsel")
        by_releaser = gw.affected(Selection(request_ids=(rid,), user="remy"), "counsel")
    mine = [w for w in report.withdrawn if w.request_id == rid and w.by_officer]
    assert [(w.record_id, w.reasons) for w in mine] == [
        (item.record_id, ("REMOVAL_ORDER_TOO_RECENT",))]
    assert [a.tin for a in by_releaser] == [tins[item.record_id]]


def test_r30_r31_recheck_affected_and_notify_through_the_cli(answered, tmp_path):
    world, rid, confirmed = answered
    policy = tmp_path / "tight.toml"
    policy.write_text("[policy]\nmin_days_after_removal_order = 36500\n", encoding="utf-8")
    env, store = world.env(), world.settings.store
    rc = taxgate("recheck", "--policy", str(policy), "--agency", "DHS-ICE", store=store, env=env)
    assert rc.code == 0, rc.stderr
    assert rid in rc.stdout and "REMOVAL_ORDER_TOO_RECENT" in rc.stdout
    listed = taxgate("affected", "--request", rid, "--out", str(tmp_path / "a.csv"),
                     store=store, env=env)
    assert listed.code == 0 and f"{len(confirmed)} taxpayer(s)" in listed.stdout
    letters = taxgate("notify", "--request", rid, "--out", str(tmp_path / "letters"),
                      "--issued-by", "counsel", store=store, env=env)
    assert letters.code == 0 and f"issued {len(confirmed)} letter(s)" in letters.stdout
    assert len(list((tmp_path / "letters").glob("*.html"))) == len(confirmed)
    for run in (rc, listed, letters):
        assert not any(tin in run.stdout + run.stderr for tin in confirmed)
    bad = taxgate("recheck", "--policy", str(policy), "--since", "yesterday", store=store,
                  env=env)
    assert bad.code == 2 and "YYYY-MM-DD" in bad.stderr
