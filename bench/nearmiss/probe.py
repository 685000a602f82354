"""The contradicting-name probe (issue goal: 0 CONFIRMED).

Runs the demo's synthetic world (taxgate.synth, the demo's defaults) through the CLI,
takes every CONFIRMED record, replaces its first name by a frequent census given name
that shares no initial, no nickname (nor one once removed: BOB and ROBERTO are both
ROB), no sound in another spelling (PHILIP for FELIPE) and no close spelling with any
given name the taxpayer filed under (each word of a two-word first name: JUANA ROSA is
also ROSA), the request gave, or anyone filed under at that door (house number and ZIP:
KAREN, where LINDA and KAREN JOHNSON both file, names KAREN), re-signs the request and
processes it again on the same store. Every CONFIRMED in the second answer confirms a
person the request did not name.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import duckdb
import numpy as np

from bench.nearmiss.flow import prepare, process
from bench.nearmiss.names import unrelated_given
from bench.nearmiss.sources import fold
from taxgate.canonical import load_private_key_pem, sha256_file, sign_object

PROBE_REQUEST_ID = "ICE-2026-000124"


def _given_words(key: str) -> str:
    return f"""SELECT k, list(DISTINCT w) AS names FROM (
                 SELECT {key} AS k, unnest(string_split(strip_accents(upper(trim(first_name || ' '
                        || coalesce(middle_name, '')))), ' ')) AS w FROM src)
               WHERE w <> '' GROUP BY 1"""


_DOOR = ("split_part(upper(trim(street_address)), ' ', 1) || '|' "
         "|| left(regexp_replace(CAST(zip AS VARCHAR), '[^0-9]', '', 'g'), 5)")


def _filed_given_names(taxpayers: Path) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """Every given-name word filed, by TIN and by door (house number and ZIP)."""
    con = duckdb.connect()
    con.execute(f"CREATE TABLE src AS SELECT * FROM read_csv('{taxpayers}', all_varchar=true)")
    by_tin = dict(con.execute(_given_words("CAST(tin AS VARCHAR)")).fetchall())
    by_door = dict(con.execute(_given_words(_DOOR)).fetchall())
    return by_tin, by_door


def _door(row: dict[str, str]) -> str:
    number = (row.get("street_address") or "").strip().upper().split(" ")[0]
    zip5 = "".join(ch for ch in row.get("zip") or "" if ch.isdigit())[:5]
    return f"{number}|{zip5}"


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
    filed, at_door = _filed_given_names(paths.taxpayers)
    rng = np.random.default_rng([seed, 24])
    for r in rows:
        avoid = [*fold(r["first_name"]).split(), *fold(r["middle_name"]).split(),
                 fold(r["last_name"]), *filed.get(true_tin.get(r["record_id"], ""), []),
                 *at_door.get(_door(r), [])]
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
