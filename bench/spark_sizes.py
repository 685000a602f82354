"""What the filing index on Spark handles at one size: rows and Arrow bytes of the filings
Spark reads and of each index table it builds, and the seconds to send and build them.

    .venv/bin/python bench/scale.py --sizes 0.01 --engine spark --keep --workdir DIR
    .venv/bin/python bench/spark_sizes.py DIR/store-p20000 [--master local[2]]

The figures are the inputs of the projection in bench/results/spark.md: bytes per
filing, variants per filing, index rows per filing, scaled to 100M filings. Then
``--sample`` filings (as requests) are scored twice on Spark with the index built on
Spark: the first call builds the session's index, the second finds it (its seconds are
candidate generation and scoring alone), and the candidate pairs per record are
counted. Prints one JSON object; nothing is written to the store.
"""

from __future__ import annotations

import argparse
import json
import os
import time

from taxgate import filing_index as fx
from taxgate import matching, standardize
from taxgate.matching import spark, spark_index
from taxgate.settings import Settings
from taxgate.stage_table import table_of
from taxgate.store import open_store


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("store")
    ap.add_argument("--master", default="local[2]")
    ap.add_argument("--partitions", type=int, default=8)
    ap.add_argument("--sample", type=int, default=2000, help="filings scored as requests")
    args = ap.parse_args()
    store = open_store(Settings(store=args.store))
    out: dict = {"master": args.master, "load_average_at_start": os.getloadavg()[0]}
    try:
        con = store.matching_connection()
        arrow = con.execute(f"SELECT * FROM {fx._source(con, 'filings')}").fetch_arrow_table()
        out["filings"] = {"rows": arrow.num_rows, "arrow_bytes": arrow.nbytes}
        del arrow
        start = time.perf_counter()
        session = spark.session(args.master, partitions=args.partitions)
        out["session_s"] = round(time.perf_counter() - start, 2)
        start = time.perf_counter()
        filings = spark_index.store_filings(session, con)
        out["send_s"] = round(time.perf_counter() - start, 2)
        tables = {}
        for table, frame in spark_index.build(session, filings).items():
            start = time.perf_counter()
            got = frame.toArrow()
            tables[table] = {"rows": got.num_rows, "arrow_bytes": got.nbytes,
                             "build_and_collect_s": round(time.perf_counter() - start, 2)}
        out["tables"] = tables
        out["build_s"] = round(sum(t["build_and_collect_s"] for t in tables.values()), 2)
        out["scoring"] = _score(store, con, args)
    finally:
        spark.stop()
        store.close()
    out["load_average_after"] = os.getloadavg()[0]
    print(json.dumps(out, indent=1))


def _score(store: object, con: object, args: argparse.Namespace) -> dict:
    """Score ``args.sample`` filings twice (index built, then found): seconds, pairs."""
    standardize.install(con)
    _, model_json = store.current_model()  # type: ignore[attr-defined]
    con.execute(  # type: ignore[attr-defined]
        "CREATE OR REPLACE TEMP TABLE _b_req AS SELECT row_number() OVER () AS row_number, "
        f"* EXCLUDE (filing_id) FROM filings USING SAMPLE {int(args.sample)} ROWS (reservoir, 5)")
    score = matching.scorer("spark", args.master, spark_partitions=args.partitions,
                            spark_index="spark")
    out: dict = {"records": args.sample}
    for label in ("with_index_build_s", "index_kept_s"):
        start = time.perf_counter()
        score(con, requests=table_of(con, "_b_req"), filings="filings",
              model_json=model_json, prior=1e-4, out="_b_pairs")
        out[label] = round(time.perf_counter() - start, 2)
    row = con.execute("SELECT count(*) FROM _b_pairs").fetchone()  # type: ignore[attr-defined]
    out["pairs"] = int(row[0]) if row else 0
    return out


if __name__ == "__main__":
    main()
