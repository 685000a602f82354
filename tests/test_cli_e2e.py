"""The main job end to end through the real CLI on generated data (contract §2–§4).

One synthetic world per test process: filings loaded into a real encrypted store, an
official registered with a real Ed25519 key, a signed request with known truth.
"""

from __future__ import annotations

import json

import pytest
from e2e import answered_world, copy_request, gateway_key, resign, results, taxgate

from taxgate.canonical import verify_object
from taxgate.evaluate import evaluate
from taxgate.records import RESULT_COLUMNS

pytestmark = pytest.mark.xdist_group("e2e")


@pytest.fixture(scope="module", params=["embedded", pytest.param("postgres",
                                                                   marks=pytest.mark.postgres)])
def world(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    """One synthetic world per engine: the same tests run on both stores. The world is
    built once per engine and test process (``e2e.answered_world``, shared with
    test_agency_kit): a test sends requests of its own ids and asserts on those."""
    pg = request.getfixturevalue("pg_server").url if request.param == "postgres" else None
    w = answered_world(tmp_path_factory, request.param, pg)
    return w.paths, w.store, w.root, w.answered


def test_main_job_answers_every_record_with_a_signed_response(world):
    paths, store, root, answered = world
    assert answered.code == 0, answered.stderr
    rows = results(root / "response")
    assert list(rows[0]) == list(RESULT_COLUMNS)
    assert len(rows) == 1_200
    resp = json.loads((root / "response/response.json").read_text())
    assert verify_object(gateway_key(store), resp)
    assert sum(resp["counts"].values()) == 1_200
    assert {r["outcome"] for r in rows} == {"CONFIRMED", "NOT_CONFIRMED", "REJECTED", "REVIEW"}


def test_r26_no_false_confirmation_on_the_labeled_set(world):
    paths, _, root, _ = world
    ev = evaluate(root / "response/results.csv", paths.truth)
    assert ev.false_confirmations == 0
    assert ev.wrong_rejections == 0 and ev.missed_rejections == 0
    assert ev.recall > 0.85


def test_r18_every_deficient_record_gets_its_reason_codes(world):
    import csv

    paths, _, root, _ = world
    got = {(r["record_id"], i): r for i, r in enumerate(results(root / "response"))}
    by_id: dict[str, list[dict]] = {}
    for r in got.values():
        by_id.setdefault(r["record_id"], []).append(r)
    with paths.truth.open(encoding="utf-8") as f:
        for t in csv.DictReader(f):
            if t["expected_outcome"] != "REJECTED":
                continue
            for r in by_id[t["record_id"]]:
                assert r["outcome"] == "REJECTED"
                codes = set(r["reasons"].split(";"))
                for want in filter(None, t["expected_reasons"].split(";")):
                    assert codes & set(want.split("|")), (t["category"], want, codes)


def test_replay_returns_the_stored_response_and_discloses_nothing_new(world):
    paths, store, root, _ = world
    again = taxgate("process", str(paths.request_dir), "--out", str(root / "again"), store=store)
    assert again.code == 0, again.stderr
    assert "replayed" in again.stdout
    assert (root / "again/results.csv").read_bytes() == (root / "response/results.csv").read_bytes()
    assert (root / "again/response.json").read_bytes() == (
        root / "response/response.json"
    ).read_bytes()


def test_same_request_id_with_other_bytes_is_refused(world, tmp_path):
    paths, store, _, _ = world
    req = copy_request(paths.request_dir, tmp_path / "req")
    resign(
        req,
        paths.private_key,
        reason="A different reason for the same identifier, naming the investigations concerned",
    )
    run = taxgate("process", str(req), "--out", str(tmp_path / "out"), store=store)
    assert run.code == 2
    assert "REQUEST_ID_REUSED" in run.stderr
    assert {r["reasons"] for r in results(tmp_path / "out")} == {"REQUEST_ID_REUSED"}


@pytest.mark.parametrize(
    "tamper,code",
    [
        ("signature", "SIGNATURE_INVALID"),
        ("manifest", "SIGNATURE_INVALID"),
        ("records", "CHECKSUM_MISMATCH"),
        ("count", "RECORD_COUNT_MISMATCH"),
        ("official", "OFFICIAL_NOT_AUTHORIZED"),
        ("expired", "OFFICIAL_NOT_VALID_ON_DATE"),
        ("periods", "TAXABLE_PERIODS_INVALID"),
        ("statute", "CRIMINAL_STATUTE_NOT_ALLOWED"),
    ],
)
def test_whole_request_failures_reject_every_record(world, tmp_path, tamper, code):
    paths, store, _, _ = world
    req = copy_request(paths.request_dir, tmp_path / "req")
    rid = f"ICE-TAMPER-{tamper}"
    if tamper == "signature":
        m = resign(req, paths.private_key, request_id=rid)
        m["signature"] = m["signature"][:-4] + ("AAA=" if m["signature"][-4:] != "AAA=" else "BBB=")
        (req / "manifest.json").write_text(json.dumps(m))
    elif tamper == "manifest":
        m = resign(req, paths.private_key, request_id=rid)
        m["taxable_periods"] = [2020, 2021, 2022, 2023, 2024, 2025]
        (req / "manifest.json").write_text(json.dumps(m))
    elif tamper == "records":
        resign(req, paths.private_key, request_id=rid)
        with (req / "records.csv").open("a", encoding="utf-8") as f:
            f.write("")
        data = (req / "records.csv").read_bytes()
        (req / "records.csv").write_bytes(data.replace(b",CA,", b",NV,", 1))
    elif tamper == "count":
        resign(req, paths.private_key, request_id=rid, record_count=1_199)
    elif tamper == "official":
        resign(req, paths.private_key, request_id=rid, signing_official="someone-else")
    elif tamper == "expired":
        resign(req, paths.private_key, request_id=rid, created_at="2025-12-31T12:00:00Z")
    elif tamper == "periods":
        resign(req, paths.private_key, request_id=rid, taxable_periods=["ALL"])
    elif tamper == "statute":
        resign(req, paths.private_key, request_id=rid, criminal_statute="18 U.S.C. 1001")
    out = tmp_path / "out"
    run = taxgate("process", str(req), "--out", str(out), store=store)
    assert run.code == 2, run.stdout
    assert code in run.stderr and len(run.stderr.strip().splitlines()) == 1
    rows = results(out)
    assert len(rows) == 1_200
    assert {(r["outcome"], r["reasons"]) for r in rows} == {("REJECTED", code)}
    resp = json.loads((out / "response.json").read_text())
    assert resp["counts"]["CONFIRMED"] == 0 and verify_object(gateway_key(store), resp)


def _disclosed_instances(store: str, out) -> int:  # noqa: ANN001
    """Instances disclosed in the 2026 annual report (`taxgate report disclosures`)."""
    import csv

    rep = taxgate("report", "disclosures", "--year", "2026", "--out", str(out), store=store)
    assert rep.code == 0, rep.stderr
    with (out / "disclosures-2026.csv").open(encoding="utf-8") as f:
        return sum(int(r["instances_disclosed"]) for r in csv.DictReader(f))


@pytest.fixture(scope="module")
def second_answer(world, tmp_path_factory: pytest.TempPathFactory):
    """A second request answered by `taxgate process` (one run serves R5 and R27/R29):
    the world's records under a new id, its first 501 records naming one officer; with
    the disclosures of the annual report just before and just after it."""
    import csv

    paths, store, _, _ = world
    tmp = tmp_path_factory.mktemp("second")
    req = copy_request(paths.request_dir, tmp / "req")
    with (req / "records.csv").open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    for r in rows[:501]:
        r["officer_id"] = "BULK-OFFICER"
    with (req / "records.csv").open("w", encoding="utf-8", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]), lineterminator="\n")
        w.writeheader()
        w.writerows(rows)
    resign(req, paths.private_key, request_id="ICE-BULK-1")
    before = _disclosed_instances(store, tmp)
    run = taxgate("process", str(req), "--out", str(tmp / "out"), store=store)
    after = _disclosed_instances(store, tmp)
    return run, tmp, before, after


def test_r5_bulk_officer_records_are_all_rejected(second_answer):
    run, tmp, _, _ = second_answer
    assert run.code == 0, run.stderr
    out = results(tmp / "out")
    assert all("OFFICER_CAPACITY" in r["reasons"] for r in out[:501])
    assert not any("OFFICER_CAPACITY" in r["reasons"] for r in out[501:])


@pytest.mark.parametrize(
    "case",
    [
        "missing_dir",
        "missing_manifest",
        "header",
        "extra_column",
        "utf8",
        "empty",
        "ragged",
        "huge_field",
    ],
)
def test_bad_input_exits_2_with_one_line_and_no_traceback(world, tmp_path, case):
    paths, store, _, _ = world
    req = copy_request(paths.request_dir, tmp_path / "req")
    rec = req / "records.csv"
    if case == "missing_dir":
        req = tmp_path / "nowhere"
    elif case == "missing_manifest":
        (req / "manifest.json").unlink()
    elif case == "header":
        rec.write_bytes(rec.read_bytes().replace(b"officer_id", b"officer", 1))
    elif case == "extra_column":
        lines = rec.read_text(encoding="utf-8").splitlines()
        rec.write_text("\n".join([lines[0] + ",extra"] + [ln + ",x" for ln in lines[1:]]) + "\n")
    elif case == "utf8":
        rec.write_bytes(rec.read_bytes().replace(b"A", b"\xff", 3))
    elif case == "empty":
        rec.write_bytes(b"")
    elif case == "ragged":
        rec.write_bytes(rec.read_bytes().replace(b"\n", b",x\n", 2)[::1])
    elif case == "huge_field":
        data = rec.read_bytes()
        first_end = data.index(b"\n")
        rec.write_bytes(
            data[: first_end + 1] + b"R-huge," + b"x" * 10_000_000 + data[first_end + 1 :]
        )
    if case not in ("missing_dir", "missing_manifest"):
        resign(req, paths.private_key, request_id=f"ICE-BAD-{case}")
    out = tmp_path / "out"
    run = taxgate("process", str(req), "--out", str(out), store=store)
    assert run.code == 2, (run.stdout, run.stderr)
    assert "Traceback" not in run.stderr and len(run.stderr.strip().splitlines()) == 1
    if case == "missing_dir":
        assert not out.exists()
    else:  # a missing manifest is answered too (MANIFEST_MALFORMED, records_unreadable)
        resp = json.loads((out / "response.json").read_text())
        assert resp["counts"]["CONFIRMED"] == 0
        assert not list(out.glob(".taxgate-*"))


def test_load_refuses_a_bad_taxpayer_file_with_one_line(world, tmp_path):
    _, store, _, _ = world
    bad = tmp_path / "bad.csv"
    bad.write_text("tin,first_name\n123,JOSE\n", encoding="utf-8")
    run = taxgate("load", str(bad), store=store)
    assert run.code == 2 and "lacks required columns" in run.stderr
    assert "JOSE" not in run.stderr and "Traceback" not in run.stderr


def test_r37_no_taxpayer_value_in_any_output_or_response(world):
    """Names, TINs, addresses and dates from the filings never appear in CLI output,
    error messages or response files (R37, contract §3)."""
    import csv

    paths, store, root, answered = world
    values: set[str] = set()
    with paths.taxpayers.open(encoding="utf-8") as f:
        for i, row in enumerate(csv.DictReader(f)):
            if i % 7:
                continue
            values |= {row["tin"], row["street_address"], row["date_of_birth"]}
            values |= {f"{row['first_name']} {row['last_name']}"}
    values = {v for v in values if v and len(v) >= 8}
    texts = [
        answered.stdout,
        answered.stderr,
        (root / "response/results.csv").read_text(encoding="utf-8"),
        (root / "response/response.json").read_text(encoding="utf-8"),
    ]
    for text in texts:
        leaked = [v for v in values if v in text]
        assert not leaked, f"taxpayer values leaked: {len(leaked)}"


def test_r27_r29_ledger_verifies_and_reports_reconcile_with_the_response(world, second_answer):
    """The annual report grows by exactly the CONFIRMED records of a new response."""
    _, store, _, _ = world
    run, tmp, before, after = second_answer
    assert run.code == 0, run.stderr
    confirmed = [r for r in results(tmp / "out") if r["outcome"] == "CONFIRMED"]
    assert confirmed and after - before == len(confirmed)
    assert "<svg" in (tmp / "disclosures-2026.html").read_text(encoding="utf-8")
    verified = taxgate("ledger", "verify", store=store)
    assert verified.code == 0 and "ledger verified" in verified.stdout


def test_r27_accounting_lists_the_disclosure_about_one_taxpayer(world):
    import csv

    paths, store, root, _ = world
    outcome = {r["record_id"]: r["outcome"] for r in results(root / "response")}
    with paths.truth.open(encoding="utf-8") as f:
        truth = [t for t in csv.DictReader(f)
                 if t["true_tin"] and outcome.get(t["record_id"]) == "CONFIRMED"]
    run = taxgate("accounting", truth[0]["true_tin"], store=store)
    assert run.code == 0, run.stderr
    import re

    found = re.search(r"(\d+) disclosure\(s\)", run.stdout)
    assert found and int(found.group(1)) >= 1 and "DHS-ICE" in run.stdout
    assert truth[0]["true_tin"] not in run.stdout


def test_r23_review_records_of_a_cli_run_are_held_on_the_review_desk(world):
    """Every REVIEW record of `taxgate process` waits on the disclosure officers' desk."""
    _, store, root, _ = world
    review = [r for r in results(root / "response") if r["outcome"] == "REVIEW"]
    run = taxgate("review", "queue", "--all", store=store)
    assert run.code == 0, run.stderr
    listed = [ln for ln in run.stdout.splitlines() if "ICE-2026-000123" in ln]
    assert review and len(listed) == len(review)


def test_the_same_taxpayer_file_is_loaded_once_unless_forced(world):
    """A second load of the same file (same sha256) would count its filings twice: it is
    refused (exit 3) before any work, and `loads list` names the one load."""
    from taxgate.canonical import sha256_file
    from taxgate.errors import ExitCode

    paths, store, _, _ = world
    again = taxgate("load", str(paths.taxpayers), store=store)
    assert again.code == ExitCode.REFUSED and "loaded already" in again.stderr, again.stderr
    assert again.stderr.count("\n") == 1 and "--force" in again.stderr
    listed = taxgate("loads", "list", "--json", store=store)
    assert listed.code == 0, listed.stderr
    assert [(ld["source"], ld["sha256"]) for ld in json.loads(listed.stdout)] == [
        (paths.taxpayers.name, sha256_file(paths.taxpayers))]


def test_scripts_get_json_full_width_tables_and_the_version(world):
    """--json prints one JSON document; a table in a pipe is never cut (COLUMNS=30)."""
    from taxgate import __version__

    _, store, _, _ = world
    assert taxgate("--version", store=store).stdout == f"taxgate {__version__}\n"
    officials = json.loads(taxgate("officials", "list", "--json", store=store).stdout)
    assert [(o["official_id"], o["agency"]) for o in officials] == [("ice-director", "DHS-ICE")]
    table = taxgate("officials", "list", store=store, env={"COLUMNS": "30"}).stdout
    assert "ice-director" in table and "2026-01-01" in table and "…" not in table
    key = json.loads(taxgate("gateway-key", "--json", store=store).stdout)["public_key_pem"]
    assert key.startswith("-----BEGIN PUBLIC KEY-----")
    bad = taxgate("process", "x", "--out", "y", "--engine", "sparky", store=store)
    assert bad.code == 2 and "sparky" in bad.stderr
