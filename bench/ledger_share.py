"""How much of `process` is the ledger? Per engine, on the same synthetic request.

    python bench/ledger_share.py                      # 20,000 people, 20,000 records
    python bench/ledger_share.py --people 200000 --records 100000

Runs init, load, officials add and process through the pipeline on each engine and
reports process's stages; "ledger" is building the events, committing decisions,
response and events in one transaction, and checkpointing (the results file is
written there too). PostgreSQL: TAXGATE_BENCH_PG_URL names an empty database,
otherwise a throw-away server is started as for the tests.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import platform
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "tests"))

from ledger_bench import store_settings  # noqa: E402

from taxgate.canonical import load_public_key_pem  # noqa: E402
from taxgate.domain import Official  # noqa: E402
from taxgate.gateway import Gateway  # noqa: E402
from taxgate.synth import synth_all  # noqa: E402


def run(engine: str, paths, work: Path) -> dict[str, float]:  # noqa: ANN001
    with store_settings(engine) as settings, Gateway(settings) as gw:
        gw.init()
        gw.load(paths.taxpayers)
        key = load_public_key_pem(paths.public_key.read_text())
        from taxgate.canonical import public_key_pem

        gw.add_official(
            Official(
                "ice-director", "DHS-ICE", "Director", public_key_pem(key), dt.date(2026, 1, 1)
            ),
            "bench",
        )
        result = gw.process(paths.request_dir, work / f"out-{engine}")
        stages = dict(result.timings.stages)
        total = sum(stages.values())
        return {
            **{k: round(v, 3) for k, v in stages.items()},
            "total": round(total, 3),
            "ledger_share": round(stages.get("ledger", 0.0) / total, 4),
            "confirmed": result.counts.get("CONFIRMED", 0),
        }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--people", type=int, default=20_000)
    ap.add_argument("--records", type=int, default=20_000)
    ap.add_argument("--engines", default="embedded,postgres")
    ap.add_argument("--seed", type=int, default=3)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="taxgate-bench-") as tmp:
        work = Path(tmp)
        paths = synth_all(work / "synthetic", args.people, args.records, args.seed)
        out = {
            "machine": {
                "python": platform.python_version(),
                "cpus": __import__("os").cpu_count(),
                "platform": platform.platform(),
            },
            "people": args.people,
            "filings": paths.counts["filings"],
            "records": args.records,
        }
        for engine in args.engines.split(","):
            out[engine] = run(engine, paths, work)
            print(engine, json.dumps(out[engine]), flush=True)
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
