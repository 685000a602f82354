"""One call for a whole synthetic exchange: keys, taxpayers, a signed request, truth."""

from __future__ import annotations

import base64
import datetime as dt
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from taxgate.canonical import load_private_key_pem, private_key_pem, public_key_pem
from taxgate.synth.population import generate_taxpayers
from taxgate.synth.request import generate_request
from taxgate.synth.write import write_links, write_request, write_taxpayers

DEFAULT_CREATED_AT = None  # None: the start of today (UTC), so a new request is fresh (R1)


def today_created_at() -> str:
    """Midnight UTC of the current day: a created_at the freshness window accepts today,
    and the same for every run of the day (same seed, same bytes)."""
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT00:00:00Z")
_PKCS8_ED25519 = bytes.fromhex("302e020100300506032b657004220420")


def seeded_signing_key(seed: int) -> Any:
    """An Ed25519 key derived from ``seed`` (synthetic use only), so runs are byte-identical."""
    raw = np.random.default_rng([seed, 3]).bytes(32)
    der = base64.encodebytes(_PKCS8_ED25519 + raw).decode("ascii")
    pem = f"-----BEGIN PRIVATE KEY-----\n{der}-----END PRIVATE KEY-----\n"
    return load_private_key_pem(pem.encode("ascii"))


@dataclass
class SynthPaths:
    workdir: Path
    private_key: Path
    public_key: Path
    taxpayers: Path
    links: Path
    request_dir: Path
    truth: Path
    seconds: dict[str, float] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)


def synth_all(
    workdir: Path | str, n_people: int, n_records: int, seed: int, *, fmt: str = "csv",
    created_at: str | None = DEFAULT_CREATED_AT,
    taxable_periods: Sequence[int] = (2023, 2024, 2025),
    request_id: str = "ICE-2026-000123", official_id: str = "ice-director",
    mix: Mapping[str, float] | None = None, bulk_officer_records: int | None = None,
) -> SynthPaths:
    """Write official_key.pem / official_key.pub.pem, taxpayers.{csv,parquet},
    taxpayer_links.csv, request/ (manifest.json, records.csv) and truth.csv into ``workdir``."""
    wd = Path(workdir)
    wd.mkdir(parents=True, exist_ok=True)
    secs: dict[str, float] = {}
    t0 = time.perf_counter()
    key = seeded_signing_key(seed)
    priv, pub = wd / "official_key.pem", wd / "official_key.pub.pem"
    priv.write_bytes(private_key_pem(key))
    priv.chmod(0o600)
    pub.write_text(public_key_pem(key), encoding="ascii")
    pop = generate_taxpayers(n_people, seed)
    secs["generate_taxpayers"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    taxpayers = write_taxpayers(pop, wd / f"taxpayers.{fmt}", fmt)
    links = write_links(pop, wd / "taxpayer_links.csv")
    secs["write_taxpayers"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    pkg = generate_request(
        pop, n_records, seed, created_at=created_at or today_created_at(),
        taxable_periods=taxable_periods,
        request_id=request_id, official_id=official_id, signing_key=key, mix=mix,
        bulk_officer_records=bulk_officer_records,
    )
    secs["generate_request"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    request_dir = write_request(pkg, wd / "request", wd / "truth.csv")
    secs["write_request"] = time.perf_counter() - t0
    return SynthPaths(
        wd, priv, pub, taxpayers, links, request_dir, wd / "truth.csv", secs,
        {"people": pop.n_people, "filings": pop.n_filings, "records": pkg.records.num_rows},
    )
