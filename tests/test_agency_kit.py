"""The agency kit through the real CLI: `taxgate package create`, `package check` and
`response verify`, on the synthetic world the end-to-end tests use (a real encrypted
store, real Ed25519 keys). The kit's commands run with TAXGATE_STORE naming a folder
that does not exist: they need no store, and never create one.
"""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from e2e import answered_world, copy_request, resign, results, taxgate

from taxgate.canonical import (
    canonical_json,
    load_public_key_pem,
    new_signing_key,
    public_key_pem,
    verify,
)

pytestmark = pytest.mark.xdist_group("e2e")


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The synthetic request answered by `taxgate process` on a real store (the world of
    test_cli_e2e, built once per test process: ``e2e.answered_world``)."""
    w = answered_world(tmp_path_factory)
    assert w.answered.code == 0, w.answered.stderr
    key = taxgate("gateway-key", store=w.store)
    assert key.code == 0, key.stderr
    kit_dir = tmp_path_factory.mktemp("kit")
    (kit_dir / "gateway_key.pem").write_text(key.stdout, encoding="ascii")
    return {"paths": w.paths, "store": w.store, "root": w.root, "kit": kit_dir,
            "nowhere": str(kit_dir / "no-store-here")}


def kit(world: dict[str, Any], *args: str):  # noqa: ANN201
    """A kit command, with the store variable naming a folder that does not exist."""
    return taxgate(*args, store=world["nowhere"])


def _manifest(request_dir: Path) -> dict[str, Any]:
    return json.loads((request_dir / "manifest.json").read_text(encoding="utf-8"))


def create(world: dict[str, Any], records: Path, out: Path, request_id: str, **extra: str):  # noqa: ANN201
    synth = _manifest(world["paths"].request_dir)
    options = {"--request-id": request_id, "--agency": synth["requesting_agency"],
               "--official": synth["signing_official"],
               "--legal-authority": synth["legal_authority"],
               "--criminal-statute": synth["criminal_statute"],
               "--taxable-periods": ",".join(map(str, synth["taxable_periods"])),
               "--reason": synth["reason"], "--created-at": synth["created_at"], **extra}
    flat = [x for kv in options.items() for x in kv]
    return kit(world, "package", "create", "--records", str(records), "--key",
               str(world["paths"].private_key), *flat, "--out", str(out))


def test_r1_r3_a_kit_package_is_answered_like_the_synthetic_one(world, tmp_path):
    """Built from the same records and key, signed by the kit (R1), with its digest and
    count (R3): the gateway answers every record exactly as for the synthetic package."""
    paths = world["paths"]
    made = create(world, paths.request_dir / "records.csv", tmp_path / "req", "ICE-KIT-1")
    assert made.code == 0, made.stderr
    manifest = _manifest(tmp_path / "req")
    assert manifest["record_count"] == 1_200
    body = {k: v for k, v in manifest.items() if k != "signature"}
    assert verify(load_public_key_pem(paths.public_key.read_bytes()), canonical_json(body),
                  manifest["signature"])
    run = taxgate("process", str(tmp_path / "req"), "--out", str(tmp_path / "resp"),
                  store=world["store"])
    assert run.code == 0, run.stderr
    assert (tmp_path / "resp/results.csv").read_bytes() == (
        world["root"] / "response/results.csv").read_bytes()
    assert not Path(world["nowhere"]).exists()


def _check(world: dict[str, Any], request_dir: Path, *args: str) -> tuple[int, dict[str, Any]]:
    run = kit(world, "package", "check", str(request_dir), "--json", *args)
    assert run.stdout, run.stderr
    return run.code, json.loads(run.stdout)


def test_r8_r22_check_flags_exactly_the_records_the_gateway_rejects(world):
    """Per record, the same reason codes as the gateway's REJECTED rows and rule holds,
    on the synthetic request and its deficient categories (R8-R18, R37)."""
    paths = world["paths"]
    code, report = _check(world, paths.request_dir, "--public-key", str(paths.public_key))
    assert code == 2 and report["refusals"] == [] and report["signature_checked"]
    answered = results(world["root"] / "response")
    found = {f["row"]: f for f in report["findings"]}
    rejected = 0
    for row, r in enumerate(answered, start=1):
        f = found.get(row)
        if r["outcome"] == "REJECTED":
            rejected += 1
            assert f is not None and f["outcome"] == "REJECTED", (row, r)
            assert f["record_id"] == r["record_id"] and ";".join(f["reasons"]) == r["reasons"]
        elif f is not None:  # held by a rule: the gateway holds it for the same reason
            assert (f["outcome"], ";".join(f["reasons"])) == (r["outcome"], r["reasons"])
    assert report["rejected"] == rejected > 50
    assert len({c for f in report["findings"] for c in f["reasons"]}) >= 15


def test_check_prints_ids_and_codes_never_a_record_value(world):
    paths = world["paths"]
    run = kit(world, "package", "check", str(paths.request_dir))
    assert run.code == 2
    assert "would be REJECTED" in run.stdout and "signature not checked" in run.stdout
    header, *rows = list(csv.reader(
        (paths.request_dir / "records.csv").open(encoding="utf-8", newline="")))
    private = ("first_name", "last_name", "street_address", "date_of_birth", "tin", "a_number")
    values = {v for row in rows for c in private if (v := row[header.index(c)])
              and (len(v) >= 9 or (len(v) >= 4 and any(ch.isalpha() for ch in v)))}
    assert len(values) > 1_000  # names, streets, dates and TINs (not "0000" in R00000001)
    shown = run.stdout + run.stderr
    assert not [v for v in values if v in shown]


def test_check_passes_a_package_without_deficient_records(world, tmp_path):
    """Exit 0 once the flagged records are removed: a package the gateway would take."""
    paths = world["paths"]
    _, report = _check(world, paths.request_dir)
    flagged = {f["row"] for f in report["findings"] if f["outcome"] == "REJECTED"}
    with (paths.request_dir / "records.csv").open(encoding="utf-8", newline="") as f:
        header, *rows = list(csv.reader(f))
    clean = tmp_path / "records.csv"
    with clean.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(r for i, r in enumerate(rows, start=1) if i not in flagged)
    assert create(world, clean, tmp_path / "req", "ICE-KIT-2").code == 0
    run = kit(world, "package", "check", str(tmp_path / "req"), "--public-key",
              str(paths.public_key))
    assert run.code == 0, run.stdout + run.stderr
    assert "0 would be REJECTED" in run.stdout


def test_r1_r3_check_refuses_a_wrong_key_an_edited_file_and_a_wrong_count(world, tmp_path):
    paths = world["paths"]
    other = tmp_path / "other.pem"
    other.write_text(public_key_pem(new_signing_key()), encoding="ascii")
    code, report = _check(world, paths.request_dir, "--public-key", str(other))
    assert code == 2 and report["refusals"][0]["code"] == "SIGNATURE_INVALID"

    edited = copy_request(paths.request_dir, tmp_path / "edited")
    with (edited / "records.csv").open("a", encoding="utf-8") as f:
        f.write("\n")  # a blank line: the same records, other bytes
    code, report = _check(world, edited, "--public-key", str(paths.public_key))
    assert code == 2 and [r["code"] for r in report["refusals"]] == ["CHECKSUM_MISMATCH"]

    counted = copy_request(paths.request_dir, tmp_path / "counted")
    resign(counted, paths.private_key, record_count=1_199)
    code, report = _check(world, counted, "--public-key", str(paths.public_key))
    assert code == 2 and [r["code"] for r in report["refusals"]] == ["RECORD_COUNT_MISMATCH"]


def test_r1_r3_response_verify_fails_on_an_edited_result_and_a_wrong_key(world, tmp_path):
    root = world["root"]
    ok = kit(world, "response", "verify", str(root / "response"), "--gateway-key",
             str(world["kit"] / "gateway_key.pem"))
    assert ok.code == 0, ok.stderr
    assert "response verified: request ICE-2026-000123" in ok.stdout

    edited = shutil.copytree(root / "response", tmp_path / "edited")
    text = (edited / "results.csv").read_text(encoding="utf-8")
    (edited / "results.csv").write_text(text.replace(",NOT_CONFIRMED,", ",CONFIRMED,", 1),
                                        encoding="utf-8")
    run = kit(world, "response", "verify", str(edited), "--gateway-key",
              str(world["kit"] / "gateway_key.pem"))
    assert run.code == 2 and "was changed" in run.stderr
    assert len(run.stderr.strip().splitlines()) == 1 and "Traceback" not in run.stderr

    wrong = kit(world, "response", "verify", str(root / "response"), "--gateway-key",
                str(world["paths"].public_key))
    assert wrong.code == 2 and "signature does not verify" in wrong.stderr


@pytest.mark.parametrize(("change", "message"), [
    ({"--request-id": "ICE 2026/1"}, "request_id must be"),
    ({"--taxable-periods": "ALL"}, "--taxable-periods must list years"),
    ({"--created-at": "yesterday"}, "created_at must be an ISO 8601 time"),
])
def test_create_refuses_bad_fields_in_one_line(world, tmp_path, change, message):
    records = world["paths"].request_dir / "records.csv"
    run = create(world, records, tmp_path / "req", "ICE-KIT-3", **change)
    assert run.code == 2 and message in run.stderr
    assert len(run.stderr.strip().splitlines()) == 1 and "Traceback" not in run.stderr
    assert not (tmp_path / "req").exists()


def test_create_refuses_a_malformed_records_file_and_leaves_nothing(world, tmp_path):
    bad = tmp_path / "records.csv"
    bad.write_text("record_id,first_name\nR1,ANA\n", encoding="utf-8")
    run = create(world, bad, tmp_path / "req", "ICE-KIT-4")
    assert run.code == 2 and "RECORDS_MALFORMED" in run.stderr and "missing columns" in run.stderr
    assert list((tmp_path / "req").iterdir()) == []
    again = create(world, world["paths"].request_dir / "records.csv", world["root"] / "response",
                   "ICE-KIT-5")
    assert again.code == 2 and "not an empty folder" in again.stderr


def test_r37_check_shows_a_hostile_record_id_as_visible_text(tmp_path):
    """A record id holding terminal escapes is printed escaped (R37), with its code."""
    from taxgate.canonical import private_key_pem

    key = tmp_path / "key.pem"
    key.write_bytes(private_key_pem(new_signing_key()))
    records = tmp_path / "records.csv"
    records.write_text(
        "record_id,first_name,last_name,street_address,city,state,zip,removal_order_date,"
        "case_number,officer_id\n"
        "\"R1\x1b]0;owned\x07\",MARIA,GARCIA,1420 W Adams St,Phoenix,AZ,85007,2024-05-14,"
        "ERO-1,ERO100001\n", encoding="utf-8")
    nowhere = str(tmp_path / "no-store-here")
    made = taxgate("package", "create", "--records", str(records), "--key", str(key),
                   "--request-id", "ICE-KIT-6", "--agency", "DHS-ICE", "--official", "o1",
                   "--legal-authority", "26 U.S.C. 6103(i)(2)",
                   "--criminal-statute", "8 U.S.C. 1253(a)(1)", "--taxable-periods", "2025",
                   "--reason", "Each person has a final order of removal and is investigated",
                   "--out", str(tmp_path / "req"), store=nowhere)
    assert made.code == 0, made.stderr
    run = taxgate("package", "check", str(tmp_path / "req"), store=nowhere)
    assert run.code == 2 and "FIELD_CONTROL_CHARACTER" in run.stdout
    assert "\x1b" not in run.stdout + run.stderr and "\\x1b]0;owned\\x07" in run.stdout
    assert not Path(nowhere).exists()
