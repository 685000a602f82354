"""Same answers before and after a change: a fixed set of requests through the CLI.

Drives only the contract's command line (``python -m taxgate.cli``), so the same script
runs on any two commits and compares what an agency and an auditor receive:

- a first answer, a replay of the same bytes, a request_id reused with other records
  (REQUEST_ID_REUSED), a package whose signature fails, a records file edited after
  signing (checksum), and a refusal by rule;
- a REVIEW record proposed and released by two people, and its follow-up response;
- the accounting of disclosures and the annual report.

Each response's results.csv is kept byte for byte and its response.json without the
values that differ on every run (timestamps, signatures, the gateway's key); command
output is kept with timestamps and durations masked. ::

    python bench/same_answers.py --workdir /tmp/before --out before.json
    python bench/same_answers.py --workdir /tmp/after --out after.json
    python bench/same_answers.py --compare before.json after.json

Run the first two from checkouts of the two commits (each with its own tree first on
PYTHONPATH). The comparison prints every difference and exits 1 when there is one.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from taxgate.canonical import load_private_key_pem, sha256_file, sign_object

# Fields of response.json that differ on every run by design. The model's version is the
# digest of the trained model: the same filings and code give the same digest, but a
# change to the training code or Splink gives another one while the outcomes stay the
# same, so the comparison of two versions of the code keeps the outcomes and leaves the
# digest out.
VOLATILE = {"received_at", "completed_at", "signature", "gateway_key", "public_key",
            "model_version"}
_ISO = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)?")
_SECONDS = re.compile(r"\b\d+\.\d+ ?s\b")
_DIGEST = re.compile(r"\b[0-9a-f]{64}\b|\b[0-9a-f]{16}…")  # over timestamps: proposals, heads
PASSWORD = "correct horse battery staple 42\n"


class Driver:
    """The CLI against one embedded store, every call recorded."""

    def __init__(self, work: Path) -> None:
        self.work = work
        self.env = {**os.environ, "TAXGATE_STORE": str(work / "store"), "COLUMNS": "200"}
        for name in ("TAXGATE_KEY", "TAXGATE_DEBUG"):
            self.env.pop(name, None)
        self.log: list[dict[str, Any]] = []

    def __call__(self, *args: str, stdin: str | None = None, keep_output: bool = True) -> int:
        p = subprocess.run([sys.executable, "-m", "taxgate.cli", *args], env=self.env,
                           input=stdin, capture_output=True, text=True, timeout=900)
        entry: dict[str, Any] = {"args": [self._mask(a) for a in args], "exit": p.returncode}
        if keep_output:
            entry["stdout"] = self._mask(p.stdout)
            entry["stderr"] = self._mask(p.stderr)
        self.log.append(entry)
        return p.returncode

    def _mask(self, text: str) -> str:
        text = text.replace(str(self.work), "WORK")
        return _DIGEST.sub("DIGEST", _SECONDS.sub("N.NN s", _ISO.sub("TIMESTAMP", text)))


def resign(request_dir: Path, private_key: Path, **changes: Any) -> None:
    """Apply ``changes`` to the manifest, refresh the records' digest, sign again."""
    path = request_dir / "manifest.json"
    m = json.loads(path.read_text(encoding="utf-8"))
    m.pop("signature", None)
    m.update(changes)
    m["records_sha256"] = sha256_file(request_dir / m["records_file"])
    signed = sign_object(load_private_key_pem(private_key.read_bytes()), m)
    path.write_text(json.dumps(signed), encoding="utf-8")


def answer_of(folder: Path) -> dict[str, Any]:
    """results.csv as bytes (text) and response.json without its volatile fields."""
    if not (folder / "response.json").exists():
        return {"missing": True}
    resp = json.loads((folder / "response.json").read_text(encoding="utf-8"))
    return {
        "results.csv": (folder / "results.csv").read_bytes().decode("utf-8"),
        "response.json": {k: v for k, v in sorted(resp.items()) if k not in VOLATILE},
    }


def variants(synth: Path, work: Path) -> dict[str, Path]:
    """The request packages: the original and the ones that must be refused."""
    original = synth / "request"
    out: dict[str, Path] = {"first": original, "replay": original}
    reused = shutil.copytree(original, work / "reused")
    lines = (reused / "records.csv").read_text(encoding="utf-8").splitlines(keepends=True)
    (reused / "records.csv").write_text("".join(lines[:-1]), encoding="utf-8")
    resign(reused, synth / "official_key.pem", record_count=len(lines) - 2)
    out["reused"] = reused
    forged = shutil.copytree(original, work / "forged")
    m = json.loads((forged / "manifest.json").read_text(encoding="utf-8"))
    m["request_id"] = "ICE-2026-FORGED"
    (forged / "manifest.json").write_text(json.dumps(m), encoding="utf-8")
    out["forged"] = forged
    edited = shutil.copytree(original, work / "edited")
    resign(edited, synth / "official_key.pem", request_id="ICE-2026-EDITED")
    with (edited / "records.csv").open("a", encoding="utf-8") as f:
        f.write(lines[-1])
    out["edited"] = edited
    stale = shutil.copytree(original, work / "stale")
    resign(stale, synth / "official_key.pem", request_id="ICE-2026-STALE",
           created_at="2020-01-01T00:00:00Z")
    out["stale"] = stale
    return out


def review_rows(results_csv: Path) -> list[int]:
    """Row numbers (1-based, as `taxgate review` takes them) of the REVIEW records."""
    with results_csv.open(encoding="utf-8", newline="") as f:
        return [i for i, row in enumerate(csv.DictReader(f), 1) if row["outcome"] == "REVIEW"]


def confirmed_tins(results_csv: Path, truth_csv: Path) -> list[str]:
    """The true TINs of the CONFIRMED records, in request order (for `taxgate accounting`)."""
    with truth_csv.open(encoding="utf-8", newline="") as f:
        tin = {row["record_id"]: row["true_tin"] for row in csv.DictReader(f)}
    with results_csv.open(encoding="utf-8", newline="") as f:
        return [tin[r["record_id"]] for r in csv.DictReader(f)
                if r["outcome"] == "CONFIRMED" and tin.get(r["record_id"])]


def run(work: Path, people: int, records: int, seed: int) -> dict[str, Any]:
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    tg = Driver(work)
    synth = work / "synth"
    tg("synth", "--workdir", str(synth), "--people", str(people), "--records", str(records),
       "--seed", str(seed))
    tg("init", keep_output=False)
    tg("load", str(synth / "taxpayers.csv"), keep_output=False)
    tg("officials", "add", "ice-director", "--agency", "DHS-ICE", "--title", "Director",
       "--public-key", str(synth / "official_key.pub.pem"), "--valid-from", "2026-01-01")
    answers: dict[str, Any] = {}
    for name, pkg in variants(synth, work).items():
        out = work / "out" / name
        tg("process", str(pkg), "--out", str(out), keep_output=name != "first")
        answers[name] = answer_of(out)
    for user, role in (("rita", "reviewer"), ("rolf", "releaser")):
        tg("users", "add", user, "--role", role, stdin=PASSWORD)
    request_id = json.loads((synth / "request" / "manifest.json").read_text())["request_id"]
    rows = review_rows(work / "out" / "first" / "results.csv")
    for seq, (row, outcome) in enumerate(zip(rows[:2], ("NOT_CONFIRMED", "CONFIRMED"),
                                             strict=False), 1):
        tg("review", "propose", request_id, str(row), "--outcome", outcome, "--reason",
           "checked against the case file", "--user", "rita", stdin=PASSWORD)
        tg("review", "release", request_id, str(row), "--user", "rolf", stdin=PASSWORD)
        out = work / "out" / f"follow-up-{seq}"
        tg("review", "follow-up", request_id, str(seq), "--out", str(out))
        answers[f"follow-up-{seq}"] = answer_of(out)
    tg("review", "queue", "--all")
    for tin in confirmed_tins(work / "out" / "first" / "results.csv", synth / "truth.csv")[:5]:
        tg("accounting", tin)
    year = json.loads((work / "out" / "first" / "response.json").read_text())["completed_at"][:4]
    tg("report", "disclosures", "--year", year, "--out", str(work / "report"), keep_output=False)
    tg("ledger", "verify")
    reports = {p.name: tg._mask(p.read_text(encoding="utf-8"))
               for p in sorted((work / "report").glob("*")) if p.is_file()}
    return {"answers": answers, "commands": tg.log, "reports": reports}


def compare(before: dict[str, Any], after: dict[str, Any], path: str = "") -> list[str]:
    """Every path where ``after`` differs from ``before``."""
    if isinstance(before, dict) and isinstance(after, dict):
        diffs = []
        for key in sorted(set(before) | set(after), key=str):
            if key not in before or key not in after:
                diffs.append(f"{path}/{key}: only in {'after' if key in after else 'before'}")
            else:
                diffs += compare(before[key], after[key], f"{path}/{key}")
        return diffs
    if isinstance(before, list) and isinstance(after, list) and len(before) == len(after):
        return [d for i, (b, a) in enumerate(zip(before, after, strict=True))
                for d in compare(b, a, f"{path}[{i}]")]
    return [] if before == after else [f"{path}: {before!r:.200} != {after!r:.200}"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--workdir", type=Path)
    ap.add_argument("--out", type=Path)
    ap.add_argument("--people", type=int, default=3000)
    ap.add_argument("--records", type=int, default=600)
    ap.add_argument("--seed", type=int, default=5)
    ap.add_argument("--compare", nargs=2, type=Path, metavar=("BEFORE", "AFTER"))
    args = ap.parse_args()
    if args.compare:
        a, b = (json.loads(p.read_text(encoding="utf-8")) for p in args.compare)
        diffs = compare(a, b)
        n = sum(1 for v in a["answers"].values() if "results.csv" in v)
        for d in diffs:
            print(d)
        print(f"{len(diffs)} differences; {n} responses and {len(a['commands'])} commands "
              "compared")
        raise SystemExit(1 if diffs else 0)
    if not (args.workdir and args.out):
        ap.error("--workdir and --out, or --compare BEFORE AFTER")
    result = run(args.workdir.resolve(), args.people, args.records, args.seed)
    args.out.write_text(json.dumps(result, indent=1, sort_keys=True), encoding="utf-8")
    codes = [(" ".join(c["args"][:2]), c["exit"]) for c in result["commands"]]
    print("\n".join(f"{code:>3}  {what}" for what, code in codes))


if __name__ == "__main__":
    main()
