"""What T_high would change: false confirmations, recall and REVIEW of a finished quality
run re-decided under other values of ``confirm_match_probability`` (R23, R26).

    .venv/bin/python bench/quality.py --people 200000 --records 130000 --seed 1 \
        --no-baselines --workdir DIR
    .venv/bin/python bench/threshold_sensitivity.py DIR/seed1 [DIR/seed2 ...] \
        [--t-high 0.999 0.995 0.99 0.98 0.95] [--out FILE]

T_high enters the decision only at its last step (:mod:`taxgate.policy`): a unique,
confirmable candidate with no competitor is CONFIRMED at p >= T_high and REVIEW between
T_low and T_high. So each stored decision says exactly what it would have been under
another T_high at or above T_low: a REVIEW held only for its score (it has matching
evidence) becomes CONFIRMED when p reaches the new value, a CONFIRMED below it becomes
REVIEW; nothing else moves. The figures are scored against the run's truth with the
same :func:`taxgate.evaluate.evaluate` the quality benchmark uses.

This is evidence for the Disclosure Office, which sets T_high (docs/policy.md): it is
measured on the synthetic generator, whose non-matches fail on rules rather than on the
score, so it bounds the recall to gain, not the risk of a lower threshold.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import duckdb

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from taxgate.evaluate import evaluate  # noqa: E402
from taxgate.settings import Policy  # noqa: E402

KEY_HEX = "11" * 32  # bench/quality.py's store key


def redecided(run: Path, t_high: float, out: Path) -> Path:
    """results.csv of ``run`` as it would read under ``t_high``."""
    t_low = Policy().review_match_probability
    if t_high < t_low:
        raise SystemExit(f"T_high {t_high} is below T_low {t_low}")
    con = duckdb.connect()
    con.execute(f"ATTACH '{run / 'store' / 'taxgate.duckdb'}' AS s "
                f"(ENCRYPTION_KEY '{KEY_HEX}', READ_ONLY)")
    con.execute(f"""
        COPY (
          SELECT record_id,
                 CASE WHEN outcome = 'REVIEW' AND evidence IS NOT NULL
                           AND match_probability >= {t_high} THEN 'CONFIRMED'
                      WHEN outcome = 'CONFIRMED' AND match_probability < {t_high} THEN 'REVIEW'
                      ELSE outcome END AS outcome,
                 coalesce(reasons, '') AS reasons
          FROM s.decisions ORDER BY row_number
        ) TO '{out}' (HEADER, DELIMITER ',')""")
    con.close()
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("runs", nargs="+", type=Path, help="seedN folders of bench/quality.py")
    ap.add_argument("--t-high", nargs="+", type=float,
                    default=[0.9999, 0.999, 0.995, 0.99, 0.98, 0.95, 0.9])
    ap.add_argument("--out", type=Path, help="append the table (markdown) to this file")
    args = ap.parse_args()
    lines = ["| run | T_high | false confirmations | recall | REVIEW of lawful | "
             "REVIEW not asked for |", "|---|---|---|---|---|---|"]
    with tempfile.TemporaryDirectory() as tmp:
        for run in args.runs:
            truth = run / "synthetic" / "truth.csv"
            for t in args.t_high:
                ev = evaluate(redecided(run, t, Path(tmp) / "results.csv"), truth)
                asked = sum(row[6] for row in ev.by_category if "REVIEW" in row[1])
                extra = ev.review - asked
                lines.append(
                    f"| {run.name} | {t} | {ev.false_confirmations} | "
                    f"{ev.true_confirmations:,} / {ev.expected_confirmations:,} "
                    f"({ev.recall:.2%}) | {ev.review:,} ({ev.review_rate:.2%}) | "
                    f"{extra:,} ({extra / ev.lawful:.2%}) |")
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out:
        with args.out.open("a", encoding="utf-8") as fh:
            fh.write(text)


if __name__ == "__main__":
    main()
