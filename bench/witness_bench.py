"""What checkpoints for outsiders cost, per engine: the first checkpoint over a ledger of
N entries, the next one after a request's worth of new entries, proofs, and the overseer's
offline check; against a full rebuild of the tree from every entry.

    python bench/witness_bench.py                          # 1,000,000 entries, both engines
    python bench/witness_bench.py --entries 200000 --engines embedded

Entries are shaped like the pipeline's DISCLOSURE (bench/ledger_bench.py), appended in
transactions of 100,000. PostgreSQL: TAXGATE_BENCH_PG_URL, else a throw-away server.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from ledger_bench import disclosure, store_settings  # noqa: E402

from taxgate import ledger_tree, merkle, witness  # noqa: E402
from taxgate.store import open_store  # noqa: E402


def timed(fn: Callable[[], object]) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def median_ms(fn: Callable[[], object], n: int) -> float:
    return statistics.median(timed(fn) for _ in range(n)) * 1000


def fill(store: object, n: int, start: int = 0) -> float:
    t = time.perf_counter()
    for lo in range(start, start + n, 100_000):
        store.append_events([disclosure(i) for i in range(lo, min(lo + 100_000, start + n))])  # type: ignore[attr-defined]
    return time.perf_counter() - t


def bench(engine: str, n: int, step: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="witness-bench-") as tmp, \
            store_settings(engine) as settings, open_store(settings, create=True) as s:
        s.initialize()
        log = Path(tmp) / "witness.jsonl"
        out = {"append (s)": fill(s, n)}
        head = s.ledger_head()
        assert head is not None
        out["entries"] = head.seq
        out["full rebuild: stream + hash every entry (s)"] = timed(
            lambda: merkle.root(witness.entry_leaf(e) for e in s.ledger_entries()))
        out["first checkpoint: build the stored tree (s)"] = timed(
            lambda: ledger_tree.publish(s, log))
        fill(s, step, n)
        out[f"next checkpoint after {step:,} new entries (ms)"] = timed(
            lambda: ledger_tree.publish(s, log)) * 1000
        fill(s, 1, n + step)
        out["next checkpoint after 1 new entry (ms)"] = timed(
            lambda: ledger_tree.publish(s, log)) * 1000
        size = witness.read_log(log)[-1].tree_size
        early = min(12_345, n // 3)
        out["inclusion proof of an early entry (ms)"] = median_ms(
            lambda: ledger_tree.prove_entry(s, log, early), 10)
        out["inclusion proof of the newest entry (ms)"] = median_ms(
            lambda: ledger_tree.prove_entry(s, log, size), 10)
        first = witness.read_log(log)[0].tree_size
        out["consistency proof first -> last checkpoint (ms)"] = median_ms(
            lambda: ledger_tree.prove_consistency(s, log, first), 10)
        bundle = ledger_tree.prove_entry(s, log, early)
        heads = witness.read_log(log)
        key = s.signing_key().public_key()
        out["overseer: check the log + one inclusion proof (ms)"] = median_ms(
            lambda: (witness.check_log(heads, key), witness.check_bundle(bundle, heads)), 10)
        out["proof size (bytes)"] = len(json.dumps(bundle))
        out["stored tree nodes"] = sum(s.ledger_tree_count(lv) for lv in range(8, 40))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--entries", type=int, default=1_000_000)
    ap.add_argument("--step", type=int, default=2_000, help="entries between two checkpoints")
    ap.add_argument("--engines", default="embedded,postgres")
    args = ap.parse_args()
    for engine in args.engines.split(","):
        for k, v in bench(engine, args.entries, args.step).items():
            print(f"{engine} {k}: {v:,.3f}", flush=True)


if __name__ == "__main__":
    main()
