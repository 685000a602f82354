"""The contradicting-name probe (issue goal: 0 CONFIRMED).

Runs the demo's synthetic world (taxgate.synth, the demo's defaults) through the CLI,
takes every CONFIRMED record, replaces its first name by a frequent census given name
that shares no initial, no nickname and no close spelling with any given name the
taxpayer filed under or the request gave, re-signs the request and processes it again
on the same store. Every CONFIRMED in the second answer confirms a person the request
did not name.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import duckdb
import numpy as np

from bench.nearmiss.flow import prepare, process
from bench.nearmiss.names import unrelated_given
from taxgate.canonical import load_private_key_pem, sha256_file, sign_object

PROBE_REQUEST_ID = "ICE-2026-000124"


def _filed_given_names(taxpayers: Path) -> dict[str, list[str]]:
    rows = duckdb.sql(f"""
        SELECT CAST(tin AS VARCHAR), list(DISTINCT upper(first_name)),
               list(DISTINCT upper(coalesce(middle_name, '')))
        FROM read_csv('{taxpayers}', all_varchar=true) GROUP BY 1""").fetchall()
    return {tin: [*firsts, *middles] for tin, firsts, middles in rows}


def run_probe(workdir: Path, *, people: int, records: int, seed: int) -> dict[str, object]:
    from taxgate.synth import synth_all

    paths = synth_all(workdir / "synthetic", people, records, seed)
    store = workdir / "store"
    prepare(store, paths.taxpayers, paths.public_key)
    first, _ = process(store, paths.request_dir, workdir / "response")
    with first.open(encoding="utf-8", newline="") as fh:
        confirmed = {r["record_id"] for r in csv.DictReader(fh) if r["outcome"] == "CONFIRMED"}
    with (paths.request_dir / "records.csv").open(encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        columns = list(reader.fieldnames or [])
        rows = [r for r in reader if r["record_id"] in confirmed]
    with paths.truth.open(encoding="utf-8", newline="") as fh:
        true_tin = {r["record_id"]: r["true_tin"] for r in csv.DictReader(fh)}
    filed = _filed_given_names(paths.taxpayers)
    rng = np.random.default_rng([seed, 24])
    for r in rows:
        avoid = [r["first_name"].upper(), r["middle_name"].upper(), r["last_name"].upper(),
                 *filed.get(true_tin.get(r["record_id"], ""), [])]
        r["first_name"] = unrelated_given(rng, [a for a in avoid if a])
    probe_dir = workdir / "probe_request"
    probe_dir.mkdir(parents=True, exist_ok=True)
    with (probe_dir / "records.csv").open("w", encoding="utf-8", newline="") as fh:
        wr = csv.DictWriter(fh, columns, lineterminator="\n")
        wr.writeheader()
        wr.writerows(rows)
    manifest = json.loads((paths.request_dir / "manifest.json").read_text(encoding="utf-8"))
    manifest.pop("signature", None)
    manifest.update(request_id=PROBE_REQUEST_ID, record_count=len(rows),
                    records_sha256=sha256_file(probe_dir / "records.csv"))
    key = load_private_key_pem(paths.private_key.read_bytes())
    (probe_dir / "manifest.json").write_text(json.dumps(sign_object(key, manifest)),
                                             encoding="utf-8")
    second, _ = process(store, probe_dir, workdir / "probe_response")
    with second.open(encoding="utf-8", newline="") as fh:
        outcome = {r["record_id"]: r["outcome"] for r in csv.DictReader(fh)}
    by_evidence: dict[str, dict[str, int]] = {}
    for r in rows:
        ev = ("tin+dob" if r["tin"] and r["date_of_birth"] else "tin" if r["tin"]
              else "dob" if r["date_of_birth"] else "neither")
        cell = by_evidence.setdefault(ev, {"records": 0, "CONFIRMED": 0, "REVIEW": 0})
        cell["records"] += 1
        if outcome.get(r["record_id"]) in ("CONFIRMED", "REVIEW"):
            cell[outcome[r["record_id"]]] += 1
    return {"demo_people": people, "demo_records": records, "seed": seed,
            "demo_filings": paths.counts["filings"], "confirmed_in_demo": len(rows),
            "confirmed_after_replacing_first_name":
                sum(1 for v in outcome.values() if v == "CONFIRMED"),
            "review_after_replacing_first_name":
                sum(1 for v in outcome.values() if v == "REVIEW"),
            "by_evidence": by_evidence}
