"""Ledger benchmark: cost of appending events and of verifying the chain, per engine.

    python bench/ledger_bench.py                       # 1,000,000 entries, both engines
    python bench/ledger_bench.py --entries 200000 --engines embedded

PostgreSQL: TAXGATE_BENCH_PG_URL names an empty database to use; otherwise a
throw-away server is started as for the tests (tests/pg_server.py).
Reports, per engine: bulk append (events in transactions of --batch), single-event
transactions, streaming the entries back, and verify (stream + hash + signatures),
scaled to one million entries.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from taxgate import ledger  # noqa: E402
from taxgate.canonical import new_data_key  # noqa: E402
from taxgate.domain import LedgerEvent  # noqa: E402
from taxgate.settings import Settings  # noqa: E402
from taxgate.store import open_store  # noqa: E402


def disclosure(i: int) -> LedgerEvent:
    """An event shaped like the pipeline's DISCLOSURE (its TIN becomes a digest)."""
    return LedgerEvent("DISCLOSURE", {
        "request_id": "BENCH-1", "record_id": f"R{i:09d}", "tin": f"9{i:08d}",
        "requesting_agency": "DHS-ICE", "signing_official": "ice-director",
        "officer_id": f"OFF-{i % 400}", "case_number": f"CASE-{i % 9000}",
        "legal_authority": "26 U.S.C. 6103(i)(2)", "criminal_statute": "8 U.S.C. 1253(a)(1)",
        "purpose": "bench", "taxable_periods": [2023, 2024, 2025],
        "disclosed_at": "2026-11-20T14:01:00.000000Z", "data_elements": ["address confirmation"],
        "match_probability": 0.999731, "model_version": "model-x", "policy_version": "policy-y",
    }, "BENCH-1")


@contextlib.contextmanager
def store_settings(engine: str) -> Iterator[Settings]:
    key = new_data_key()
    if engine == "embedded":
        with tempfile.TemporaryDirectory(prefix="taxgate-bench-") as tmp:
            yield Settings(store=str(Path(tmp) / "store"), key_hex=key)
        return
    url = os.environ.get("TAXGATE_BENCH_PG_URL")
    if url:
        yield Settings(store=url, key_hex=key)
        return
    import psycopg
    from pg_server import running_server

    with running_server() as server:
        with psycopg.connect(server.url, autocommit=True) as admin:
            admin.execute("CREATE DATABASE bench")
        yield Settings(store=server.url_for("bench"), key_hex=key)


def bench(engine: str, n: int, batch: int, singles: int) -> dict[str, float]:
    with store_settings(engine) as settings, open_store(settings, create=True) as store:
        store.initialize()
        t = time.perf_counter()
        for start in range(0, n, batch):
            store.append_events([disclosure(i) for i in range(start, min(n, start + batch))])
        append_s = time.perf_counter() - t
        t = time.perf_counter()
        for i in range(singles):
            store.append_events([disclosure(n + i)])
        single_s = time.perf_counter() - t
        t = time.perf_counter()
        total = sum(1 for _ in store.ledger_entries())
        stream_s = time.perf_counter() - t
        t = time.perf_counter()
        report = ledger.verify(store.ledger_entries(), store.signing_key().public_key())
        verify_s = time.perf_counter() - t
        assert report.ok, report.problem
    per_m = 1_000_000 / total
    return {
        "entries": total,
        "append_us_per_event": append_s / n * 1e6,
        "append_s_per_million": append_s * 1_000_000 / n,
        "single_event_tx_ms": single_s / max(singles, 1) * 1e3,
        "stream_s_per_million": stream_s * per_m,
        "verify_s_per_million": verify_s * per_m,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--entries", type=int, default=1_000_000)
    ap.add_argument("--batch", type=int, default=100_000, help="events per transaction")
    ap.add_argument("--singles", type=int, default=200, help="one-event transactions to time")
    ap.add_argument("--engines", default="embedded,postgres")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    results = {e: bench(e, args.entries, args.batch, args.singles)
               for e in args.engines.split(",")}
    if args.json:
        print(json.dumps(results, indent=2))
        return
    print(f"ledger bench: {args.entries:,} DISCLOSURE events in transactions of {args.batch:,}")
    for engine, r in results.items():
        print(f"\n[{engine}] {r['entries']:,} entries (checkpoints included)")
        print(f"  append (bulk)          {r['append_us_per_event']:8.1f} us/event  "
              f"({r['append_s_per_million']:.1f} s per million)")
        print(f"  append (1 event / tx)  {r['single_event_tx_ms']:8.2f} ms/transaction")
        print(f"  stream entries         {r['stream_s_per_million']:8.1f} s per million")
        print(f"  verify                 {r['verify_s_per_million']:8.1f} s per million")


if __name__ == "__main__":
    main()
