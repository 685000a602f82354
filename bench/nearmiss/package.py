"""Write the near-miss set as the contract's files: taxpayers.csv, a signed request
package (manifest.json + records.csv), the official's key pair, and truth.csv beside it."""

from __future__ import annotations

import csv
import datetime as dt
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from bench.nearmiss.misses import KINDS
from bench.nearmiss.sources import load
from bench.nearmiss.world import FILING_COLUMNS, World
from taxgate.canonical import private_key_pem, public_key_pem, sha256_file, sign_object
from taxgate.records import REQUEST_COLUMNS


def created_at() -> str:
    """The start of today (UTC): a request is received fresh (R1: created_at within the
    policy's window before receipt), so the set is signed on the day it is built."""
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT00:00:00Z")

TRUTH_COLUMNS = ("record_id", "category", "expected_outcome", "expected_reasons", "true_tin",
                 "detail")
REASON = ("Each listed person is subject to a final order of removal entered more than ninety "
          "days ago and is under criminal investigation for willful failure to depart under "
          "8 U.S.C. 1253(a)(1); a current address is needed to locate the person.")


@dataclass
class NearMissSet:
    workdir: Path
    taxpayers: Path
    request_dir: Path
    truth: Path
    private_key: Path
    public_key: Path
    counts: dict[str, int] = field(default_factory=dict)


def _write_csv(path: Path, columns: tuple[str, ...], rows: list[dict[str, str]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as fh:
        wr = csv.DictWriter(fh, columns, extrasaction="ignore", lineterminator="\n")
        wr.writeheader()
        wr.writerows(rows)


def _request_fields(rng: np.random.Generator, i: int) -> dict[str, str]:
    back = int(rng.integers(120, 2000))
    order = np.datetime64("2026-11-20") - np.timedelta64(back, "D")
    return {
        "a_number": f"A{rng.integers(10**8, 10**9)}" if rng.random() < 0.75 else "",
        "removal_order_date": str(order), "judicial_review_date": "",
        "case_number": f"ERO{str(order)[:4]}-{i:07d}", "officer_id": f"ERO{100000 + i // 100}",
    }


def build(workdir: Path | str, *, seed: int, background: int, per_kind: int,
          near_miss_per_kind: int | None = None, full_tables: bool = False,
          request_id: str = "NM-2026-000001") -> NearMissSet:
    """Make the world and the labeled request. ``full_tables``: the suffix kind takes every
    Pub 28 spelling at least once whatever ``per_kind`` says."""
    wd = Path(workdir)
    wd.mkdir(parents=True, exist_ok=True)
    tables = load()
    w = World(tables, seed)
    rows: list[dict[str, str]] = []
    for kind in KINDS:
        n = per_kind if kind.group == "variant" else (near_miss_per_kind or per_kind)
        if full_tables and kind.name == "addr_suffix_spelling":
            n = max(n, sum(len(v) for v in tables.suffixes.values()))
        for r in kind.build(w, n):
            rows.append({**r, "category": kind.name, "expected_outcome": kind.expected,
                         "expected_reasons": ""})
    w.background(background)
    rng = np.random.default_rng([seed, 2])
    rows = [rows[int(i)] for i in rng.permutation(len(rows))]
    for i, r in enumerate(rows, 1):
        r.update(_request_fields(rng, i), record_id=f"N{i:07d}")
    filings = [w.filings[int(i)] for i in rng.permutation(len(w.filings))]

    key = Ed25519PrivateKey.from_private_bytes(np.random.default_rng([seed, 3]).bytes(32))
    priv, pub = wd / "official_key.pem", wd / "official_key.pub.pem"
    priv.write_bytes(private_key_pem(key))
    priv.chmod(0o600)
    pub.write_text(public_key_pem(key), encoding="ascii")
    taxpayers = wd / "taxpayers.csv"
    _write_csv(taxpayers, FILING_COLUMNS, filings)
    request_dir = wd / "request"
    request_dir.mkdir(exist_ok=True)
    _write_csv(request_dir / "records.csv", tuple(REQUEST_COLUMNS), rows)
    truth = wd / "truth.csv"
    _write_csv(truth, TRUTH_COLUMNS, rows)
    write_manifest(request_dir, key, request_id, len(rows))
    return NearMissSet(wd, taxpayers, request_dir, truth, priv, pub,
                       {"filings": len(filings), "records": len(rows),
                        "people": len(w.tins)})


def write_manifest(request_dir: Path, key: Ed25519PrivateKey, request_id: str,
                   count: int) -> None:
    manifest = {
        "contract_version": 1, "request_id": request_id, "requesting_agency": "DHS-ICE",
        "signing_official": "ice-director", "legal_authority": "26 U.S.C. 6103(i)(2)",
        "criminal_statute": "8 U.S.C. 1253(a)(1)", "taxable_periods": [2023, 2024, 2025],
        "reason": REASON, "created_at": created_at(), "records_file": "records.csv",
        "records_sha256": sha256_file(request_dir / "records.csv"), "record_count": count,
    }
    (request_dir / "manifest.json").write_text(
        json.dumps(sign_object(key, manifest), indent=2, ensure_ascii=False) + "\n",
        encoding="utf-8")
