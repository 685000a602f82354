"""R29: the JCT report and the public report, per agency, counted from the ledger and
reconciled with it exactly; refusals attributed to the agency and signer that sent them
(R27), verified or only claimed. On both stores (the hostile world, once per engine)."""

from __future__ import annotations

import csv
import datetime as dt
import json
import uuid
from collections import Counter
from pathlib import Path

from e2e import taxgate
from hostile_world import ICE_ID, World, key_file, ledger, package, run, world_fixture  # noqa: F401

from taxgate.disclosure_report import SUPPRESSED, AnnualReport, public
from taxgate.gateway import Gateway

YEAR = dt.datetime.now(dt.UTC).year


def _refuse_forged_and_verified(world: World, tmp_path: Path) -> None:
    """One refusal whose signature fails (claimed DHS-CBP) and one by CBP's real key."""
    forged, _ = key_file(tmp_path / "forged.pem")
    claimed = run(world, package(world, tmp_path, forged,
                                 request_id=f"CBP-F-{uuid.uuid4().hex[:6]}",
                                 requesting_agency="DHS-CBP", signing_official="cbp-commissioner"),
                  tmp_path / "o1")
    assert claimed.exit_code == 2 and "SIGNATURE_INVALID" in claimed.message
    verified = run(world, package(world, tmp_path, world.cbp_key,
                                  request_id=f"CBP-V-{uuid.uuid4().hex[:6]}",
                                  requesting_agency="DHS-CBP", signing_official="cbp-commissioner",
                                  legal_authority="26 U.S.C. 6103(i)(1)"), tmp_path / "o2")
    assert verified.exit_code == 2 and "LEGAL_AUTHORITY_NOT_ALLOWED" in verified.message


def _from_ledger(world: World) -> dict[str, Counter[str]]:
    """The year's counts per agency, straight from the raw ledger entries."""
    c: dict[str, Counter[str]] = {k: Counter() for k in
                                  ("requests", "requests_refused", "refusals_claimed",
                                   "instances_disclosed")}
    tins: dict[str, set[str]] = {}
    for e in ledger(world):
        p = e.payload
        when = str(p.get("disclosed_at") or p.get("received_at") or e.recorded_at)
        if not when.startswith(f"{YEAR}-"):
            continue
        agency = p.get("requesting_agency") or "(unknown)"
        if e.event_type == "REQUEST_RECEIVED":
            c["requests"][agency] += 1
        elif e.event_type == "REQUEST_REFUSED":
            c["requests_refused" if p["signer_verified"] else "refusals_claimed"][agency] += 1
        elif e.event_type == "DISCLOSURE":
            c["instances_disclosed"][agency] += 1
            tins.setdefault(agency, set()).add(p["tin_digest"])
    c["taxpayers_disclosed"] = Counter({a: len(s) for a, s in tins.items()})
    return c


def _rows(report: AnnualReport) -> dict[str, dict]:
    return {r["requesting_agency"]: r for r in report.rows}


def test_r27_r29_refusals_are_attributed_to_the_agency_and_signer_claimed_or_verified(
        world, tmp_path):
    """A refusal is counted for the agency its package named: as verified when the
    signature proved it, as claimed when it did not; never as "(unknown)". The auditors'
    oversight lists it with that agency and signer, a claimed signer marked so."""
    with Gateway(world.settings) as gw:
        before = gw.annual_report(YEAR)
    _refuse_forged_and_verified(world, tmp_path)
    with Gateway(world.settings) as gw:
        after = gw.annual_report(YEAR)
    b, a = _rows(before).get("DHS-CBP", {}), _rows(after)["DHS-CBP"]
    assert a["refusals_claimed"] == b.get("refusals_claimed", 0) + 1
    assert a["requests_refused"] == b.get("requests_refused", 0) + 1
    # "(unknown)" is only for a package that named no agency (other tests of this shared
    # world send some): these two refusals never land there
    unknown_b, unknown_a = _rows(before).get("(unknown)", {}), _rows(after).get("(unknown)", {})
    for k in ("refusals_claimed", "requests_refused"):
        assert unknown_a.get(k, 0) == unknown_b.get(k, 0)
    signers = {(r["requesting_agency"], r["signing_official"], r["signer"], r["reason"]):
               r["refusals"] for r in after.refusals}
    assert signers[("DHS-CBP", "cbp-commissioner", "claimed", "SIGNATURE_INVALID")] >= 1
    assert signers[("DHS-CBP", "cbp-commissioner", "verified",
                    "LEGAL_AUTHORITY_NOT_ALLOWED")] >= 1
    with Gateway(world.settings) as gw:
        refused = {(r.agency, r.official, r.refused) for r in gw.oversight().requests
                   if r.refused}
    assert ("DHS-CBP", "cbp-commissioner (claimed)", "SIGNATURE_INVALID") in refused
    assert ("DHS-CBP", "cbp-commissioner", "LEGAL_AUTHORITY_NOT_ALLOWED") in refused


def test_r29_jct_report_reconciles_exactly_with_the_ledger(world, tmp_path):
    """Every count of every agency, in memory and in the CSV and JSON files the CLI
    writes, equals the count of the year's ledger entries of its kind."""
    _refuse_forged_and_verified(world, tmp_path)
    expected = _from_ledger(world)
    with Gateway(world.settings) as gw:
        report = gw.annual_report(YEAR)
    rows = _rows(report)
    for col, per_agency in expected.items():
        assert {a: r[col] for a, r in rows.items() if r[col]} == dict(+per_agency), col
    assert report.totals["instances_disclosed"] == sum(expected["instances_disclosed"].values())
    out = tmp_path / "jct"
    done = taxgate("report", "jct", "--year", str(YEAR), "--out", str(out), store=world.store)
    assert done.code == 0, done.stderr
    data = json.loads((out / f"jct-{YEAR}.json").read_text(encoding="utf-8"))
    assert data["rows"] == report.rows and data["refusals"] == report.refusals
    with (out / f"jct-{YEAR}.csv").open(encoding="utf-8") as f:
        from_csv = {r["requesting_agency"]: r for r in csv.DictReader(f)}
    for col, per_agency in expected.items():
        assert {a: int(r[col]) for a, r in from_csv.items() if int(r[col])} == dict(
            +per_agency), col
    with (out / f"jct-{YEAR}-refusals.csv").open(encoding="utf-8") as f:
        refusals = sum(int(r["refusals"]) for r in csv.DictReader(f))
    assert refusals == sum(expected["requests_refused"].values()) + sum(
        expected["refusals_claimed"].values())
    assert "<svg" in (out / f"jct-{YEAR}.html").read_text(encoding="utf-8")


def test_r29_public_report_holds_counts_only_and_reconciles_with_the_jct_report(
        world, tmp_path):
    """The public report names no signer, request or case; its shown cells equal the JCT
    report's, its totals equal the JCT totals, and a suppressed cell hides a count
    between 1 and min_cell - 1."""
    _refuse_forged_and_verified(world, tmp_path)
    out = tmp_path / "public"
    done = taxgate("report", "public", "--year", str(YEAR), "--out", str(out), "--format",
                   "json,csv,html", store=world.store)
    assert done.code == 0, done.stderr
    data = json.loads((out / f"public-{YEAR}.json").read_text(encoding="utf-8"))
    with Gateway(world.settings) as gw:
        jct = gw.annual_report(YEAR)
    files = "".join(p.read_text(encoding="utf-8") for p in out.iterdir())
    assert "cbp-commissioner" not in files and "ice-director" not in files
    assert ICE_ID not in files and "signing_official" not in files
    jct_rows = _rows(jct)
    for row in data["rows"]:
        full = jct_rows[row["requesting_agency"]]
        for col in ("requests", "requests_refused", "instances_disclosed",
                    "taxpayers_disclosed"):
            if row[col] is None:
                assert col in SUPPRESSED and full[col] > 0, col
            else:
                assert row[col] == full[col], col
    assert data["totals"]["requests"] == jct.totals["requests"]
    assert data["refusals_unverified"] == jct.totals["refusals_claimed"]
    assert set(data["rows"][0]) == {"year", "requesting_agency", "requests",
                                    "requests_refused", "instances_disclosed",
                                    "taxpayers_disclosed", "general_purposes"}


def test_r29_public_report_suppresses_small_cells_and_their_complement():
    """A count of 1 or 2 (min_cell 3) is suppressed; a column with one such cell has its
    next smallest suppressed too, so the total cannot give it away; none when min_cell 1."""
    rows = [{"year": YEAR, "requesting_agency": a, "legal_authorities": "", "requests": q,
             "requests_refused": 0, "refusals_claimed": 0, "instances_disclosed": i,
             "taxpayers_disclosed": t, "general_purposes": ""}
            for a, q, i, t in (("A", 3, 40, 35), ("B", 1, 2, 2), ("C", 2, 9, 7),
                               ("D", 1, 0, 0))]
    report = AnnualReport(YEAR, rows, {})
    shown = {r["requesting_agency"]: r for r in public(report, 3).rows}
    assert shown["B"]["instances_disclosed"] is None and shown["B"]["taxpayers_disclosed"] is None
    assert shown["C"]["instances_disclosed"] is None  # the complement: 9 is the next smallest
    assert shown["A"]["instances_disclosed"] == 40 and shown["D"]["instances_disclosed"] == 0
    assert shown["B"]["requests"] == 1  # requests are the agency's, not a taxpayer's
    assert public(report, 3).totals["instances_disclosed"] == 51
    lone = AnnualReport(YEAR, [rows[1]], {})
    assert public(lone, 3).totals["instances_disclosed"] is None
    assert public(report, 1).rows[1]["instances_disclosed"] == 2
