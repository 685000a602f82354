"""The synthetic data generator: contract shapes, signatures, determinism, truth labels."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import numpy as np
import pytest

from taxgate.canonical import load_public_key_pem, public_key_pem, sha256_file, verify_object
from taxgate.reasons import REASONS
from taxgate.records import MANIFEST_FIELDS, REQUEST_COLUMNS, TAXPAYER_COLUMNS
from taxgate.synth import (
    CATEGORIES,
    generate_request,
    generate_taxpayers,
    seeded_signing_key,
    synth_all,
    write_links,
    write_request,
    write_taxpayers,
)
from taxgate.synth.request import BULK_OFFICER_ID, TRUTH_COLUMNS

pytestmark = pytest.mark.xdist_group("synth")  # the module's world is built on one worker

SEED = 11
PERIODS = (2023, 2024, 2025)
CREATED = "2026-11-20T14:00:00Z"


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory):
    d = tmp_path_factory.mktemp("synth")
    pop = generate_taxpayers(4000, SEED)
    key = seeded_signing_key(SEED)
    pkg = generate_request(pop, 3000, SEED, created_at=CREATED, taxable_periods=PERIODS,
                           signing_key=key, bulk_officer_records=510)
    write_taxpayers(pop, d / "taxpayers.parquet", "parquet")
    write_taxpayers(pop, d / "taxpayers.csv", "csv")
    write_links(pop, d / "links.csv")
    write_request(pkg, d / "request", d / "truth.csv")
    con = duckdb.connect()
    con.execute(f"CREATE TABLE truth AS SELECT * FROM read_csv('{d}/truth.csv', all_varchar=true)")
    con.execute(f"CREATE TABLE rec AS SELECT * FROM read_csv('{d}/request/records.csv', "
                "all_varchar=true)")
    con.execute("CREATE TABLE filings AS SELECT file_row_number AS fi, "
                "* EXCLUDE (file_row_number) "
                f"FROM read_parquet('{d}/taxpayers.parquet', file_row_number=true)")
    con.execute(f"CREATE TABLE links AS SELECT * FROM read_csv('{d}/links.csv', "
                "types={'tin': 'VARCHAR'})")
    return {"dir": d, "pop": pop, "pkg": pkg, "key": key, "con": con}


def test_columns_match_the_contract(world) -> None:
    con = world["con"]
    tp = [r[0] for r in con.execute("DESCRIBE SELECT * EXCLUDE (fi) FROM filings").fetchall()]
    assert tp == list(TAXPAYER_COLUMNS)
    head = (world["dir"] / "taxpayers.csv").read_text(encoding="utf-8").split("\n", 1)[0]
    assert head.split(",") == list(TAXPAYER_COLUMNS)
    head = (world["dir"] / "request" / "records.csv").read_bytes().split(b"\n", 1)[0]
    assert head.decode().split(",") == list(REQUEST_COLUMNS)
    assert world["pkg"].truth.column_names == list(TRUTH_COLUMNS)


def test_manifest_is_signed_and_counts_the_bytes(world) -> None:
    req = world["dir"] / "request"
    manifest = json.loads((req / "manifest.json").read_text(encoding="utf-8"))
    assert set(manifest) == set(MANIFEST_FIELDS)
    assert verify_object(load_public_key_pem(public_key_pem(world["key"])), manifest)
    assert manifest["records_sha256"] == sha256_file(req / manifest["records_file"])
    (n,) = world["con"].execute("SELECT count(*) FROM rec").fetchone()
    assert manifest["record_count"] == n == 3000
    tampered = {**manifest, "record_count": n + 1}
    assert not verify_object(load_public_key_pem(public_key_pem(world["key"])), tampered)


def test_same_seed_same_bytes_other_seed_other_data(tmp_path: Path) -> None:
    a = synth_all(tmp_path / "a", 800, 300, 5)
    b = synth_all(tmp_path / "b", 800, 300, 5)
    c = synth_all(tmp_path / "c", 800, 300, 6)
    for name in ("taxpayers.csv", "truth.csv", "request/records.csv", "request/manifest.json",
                 "official_key.pub.pem"):
        assert sha256_file(a.workdir / name) == sha256_file(b.workdir / name)
    assert sha256_file(a.taxpayers) != sha256_file(c.taxpayers)
    assert (a.private_key.stat().st_mode & 0o077) == 0


def test_filings_are_plausible(world) -> None:
    con = world["con"]
    bad = con.execute("""
        SELECT count(*) FROM filings WHERE NOT regexp_full_match(tin, '[0-9]{9}')
          OR source NOT IN ('RETURN', 'W7', 'F8822')
          OR (source = 'RETURN' AND year(CAST(processed_date AS DATE)) <= tax_year)
          OR (source <> 'RETURN' AND year(CAST(processed_date AS DATE)) <> tax_year)
          OR tax_year < 2019 OR CAST(processed_date AS DATE) > DATE '2026-10-31'
          OR coalesce(disclosure_hold, 'Y') <> 'Y'
          OR NOT regexp_full_match(zip, '[0-9]{5}(-[0-9]{4})?')
          OR first_name IS NULL OR last_name IS NULL OR street_address IS NULL
    """).fetchone()[0]
    assert bad == 0
    shares = dict(con.execute("SELECT source, count(*) FROM filings GROUP BY 1").fetchall())
    assert shares["RETURN"] > shares["W7"] > 0 and shares["F8822"] > 0
    (itin_and_ssn,) = con.execute("""
        SELECT count(*) FROM (SELECT person_id FROM links GROUP BY 1
        HAVING bool_or(tin LIKE '9%') AND bool_or(tin NOT LIKE '9%'))""").fetchone()
    assert itin_and_ssn > 0
    (movers,) = con.execute("""SELECT count(*) FROM (SELECT tin FROM filings GROUP BY 1
        HAVING count(DISTINCT zip[:5] || street_address[:3]) > 1)""").fetchone()
    assert movers > 100
    (holds,) = con.execute("SELECT count(DISTINCT tin) FROM filings WHERE disclosure_hold = 'Y'"
                           ).fetchone()
    assert holds > 0


def test_namesakes_exist(world) -> None:
    con = world["con"]
    (same_zip,) = con.execute("""
        SELECT count(*) FROM (SELECT first_name, last_name, zip[:5]
        FROM filings JOIN links USING (tin) GROUP BY ALL HAVING count(DISTINCT person_id) > 1)
    """).fetchone()
    assert same_zip > 0
    p = world["pop"].people
    assert (p.father >= 0).sum() > 10


def _aor(con: duckdb.DuckDBPyConnection) -> dict[int, int]:
    """Independently: person -> row of the filing that gives the address of record."""
    rows = con.execute(f"""
        SELECT person_id, arg_max(fi, CAST(processed_date AS DATE))
        FROM filings JOIN links USING (tin) WHERE tax_year IN {PERIODS} GROUP BY person_id
    """).fetchall()
    return {int(p): int(f) for p, f in rows}


def test_truth_follows_the_address_of_record(world) -> None:
    con, pop, pkg = world["con"], world["pop"], world["pkg"]
    aor = _aor(con)
    truth = pkg.truth.to_pydict()
    tin_person = dict(con.execute("SELECT tin, person_id FROM links").fetchall())
    filing = con.execute("SELECT fi, zip[:5], split_part(street_address, ' ', 1) FROM filings"
                         ).fetchall()
    rec = pkg.records.to_pydict()
    checked = 0
    for i, cat in enumerate(truth["category"]):
        person = int(pkg.person[i])
        if truth["true_tin"][i] is not None:
            assert tin_person[truth["true_tin"][i]] == person
        if cat in ("clean_match", "noisy_match", "household_namesake_dob", "disclosure_hold",
                   "ambiguous_household"):
            fi = aor[person]
            assert pop.filing_address_key(np.array([fi]))[0] == pkg.address_key[i]
            assert filing[fi][1] == rec["zip"][i][:5]
            assert filing[fi][2] == rec["street_address"][i].split(" ")[0]
            checked += 1
        elif cat in ("old_address", "wrong_address", "wrong_unit", "lka_outside_periods"):
            assert pop.filing_address_key(np.array([aor[person]]))[0] != pkg.address_key[i]
            checked += 1
        elif cat == "no_filing_in_periods":
            assert person not in aor
        elif cat in ("not_in_records", "lookalike_not_in_records", "single_word_name"):
            assert person == -1 and truth["true_tin"][i] is None
    assert checked > 1500


def test_ambiguous_households_really_are(world) -> None:
    pop, pkg = world["pop"], world["pkg"]
    aor = pop.address_of_record(PERIODS)
    keys = np.full(pop.n_people, -1)
    keys[aor >= 0] = pop.filing_address_key(aor[aor >= 0])
    p = pop.people
    cats = pkg.truth.column("category").to_numpy(zero_copy_only=False)
    rows = np.flatnonzero(cats == "ambiguous_household")
    assert len(rows) > 5
    for i in rows:
        who = pkg.person[i]
        there = np.flatnonzero((keys == pkg.address_key[i]) & (p.given == p.given[who])
                               & (p.sur1 == p.sur1[who]))
        assert len(there) == 2 and who in there
    dob = pkg.records.column("date_of_birth").to_numpy(zero_copy_only=False)
    assert all(dob[i] is None for i in rows)


def test_every_category_and_reason(world) -> None:
    t = world["pkg"].truth.to_pydict()
    present = set(t["category"])
    assert {c.name for c in CATEGORIES} | {"officer_over_cap"} <= present
    for outcome, reasons in zip(t["expected_outcome"], t["expected_reasons"], strict=True):
        assert set(outcome.split("|")) <= {"CONFIRMED", "NOT_CONFIRMED", "REJECTED", "REVIEW"}
        for item in filter(None, (reasons or "").split(";")):
            assert set(item.split("|")) <= set(REASONS)
        assert (outcome == "REJECTED") <= bool(reasons)


def test_officers_duplicates_and_placeholders(world) -> None:
    con = world["con"]
    per = dict(con.execute("SELECT officer_id, count(*) FROM rec GROUP BY 1").fetchall())
    assert per.pop(BULK_OFFICER_ID) == 510
    assert max(v for k, v in per.items() if k is not None) <= 200
    bulk = con.execute(f"""SELECT DISTINCT expected_reasons FROM rec JOIN truth USING (record_id)
        WHERE officer_id = '{BULK_OFFICER_ID}'""").fetchall()
    assert bulk == [("OFFICER_CAPACITY",)]
    dups = con.execute("""SELECT record_id, count(*), min(t.expected_reasons)
        FROM rec JOIN (SELECT DISTINCT record_id, expected_reasons FROM truth) t USING (record_id)
        GROUP BY 1 HAVING count(*) > 1""").fetchall()
    assert dups and all(n == 2 and r == "DUPLICATE_RECORD_ID" for _, n, r in dups)
    streets = {r[0] for r in con.execute("""SELECT street_address FROM rec JOIN truth
        USING (record_id) WHERE category LIKE 'deficient_%'""").fetchall()}
    assert {"00000", "NA NA"} <= streets
    r17 = con.execute("""SELECT count(*) FROM rec JOIN truth USING (record_id)
        WHERE category = 'deficient_tin_placeholder_address' AND rec.tin = truth.true_tin"""
                      ).fetchone()[0]
    assert r17 > 0


def test_truth_never_inside_the_package(world, tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        write_request(world["pkg"], tmp_path / "req", tmp_path / "req" / "truth.csv")
