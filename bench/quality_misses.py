"""Why expected confirmations were not made: the misses of a finished quality run, by
the rule that stopped them (R23, R24, R25, R26).

    .venv/bin/python bench/quality.py --people 200000 --records 130000 --seed 1 \
        --no-baselines --workdir DIR
    .venv/bin/python bench/quality_misses.py DIR/seed1 [DIR/seed2 ...] [--out FILE]

Each record the generator labels CONFIRMED but taxgate did not confirm is put in the
first class its stored decision evidence shows (never a request or taxpayer value):

- ``score below T_high``: REVIEW, one candidate, its probability between T_low and T_high;
- ``two candidates``: NOT_CONFIRMED with two or more candidate persons at the address, or
  another within ``clear_winner_bits`` (namesakes, two TINs not known to be one person);
- ``address not of record``: a candidate whose name agrees, but the submitted address is
  not its address of record in the periods (or a possible successor's, or a hold);
- ``no agreeing name``: no candidate at all: no filing whose given name agrees at any
  level (a typo that is itself an established given name, an unlisted nickname, a name
  written in a way no level reads).

Per class, the generator's noise kinds (truth.csv's detail) show what the requester did.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import duckdb

KEY_HEX = "11" * 32  # bench/quality.py's store key

_CLASSIFY = """
    CREATE TABLE misses AS
    SELECT t.record_id, coalesce(nullif(t.detail, ''), 'none') AS noise,
           CASE
             WHEN d.outcome = 'REVIEW' THEN 'score below T_high'
             WHEN d.evidence IS NULL THEN 'no agreeing name'
             WHEN coalesce(CAST(d.evidence->>'candidates_at_address' AS INT), 0) >= 2
               OR CAST(d.evidence->>'runner_up_weight' AS DOUBLE)
                  > CAST(d.evidence->>'match_weight' AS DOUBLE) - {bits}
               THEN 'two candidates'
             ELSE 'address not of record'
           END AS why
    FROM read_csv('{truth}', all_varchar=true) t
    JOIN s.decisions d USING (record_id)
    WHERE t.expected_outcome = 'CONFIRMED' AND d.outcome <> 'CONFIRMED'
"""


def misses(run: Path) -> list[str]:
    """Markdown lines: the misses of ``run`` by class, with their commonest noise kinds."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from taxgate.settings import Policy

    con = duckdb.connect()
    con.execute(f"ATTACH '{run / 'store' / 'taxgate.duckdb'}' AS s "
                f"(ENCRYPTION_KEY '{KEY_HEX}', READ_ONLY)")
    con.execute(_CLASSIFY.format(truth=run / "synthetic" / "truth.csv",
                                 bits=Policy().clear_winner_bits))
    expected = con.execute(
        f"SELECT count(*) FROM read_csv('{run / 'synthetic' / 'truth.csv'}', "
        "all_varchar=true) WHERE expected_outcome = 'CONFIRMED'").fetchone()[0]
    lines = [f"### {run.name}: {expected:,} expected confirmations", "",
             "| class | misses | share of expected | commonest noise kinds (records) |",
             "|---|---|---|---|"]
    for why, n in con.execute("SELECT why, count(*) FROM misses GROUP BY why "
                              "ORDER BY count(*) DESC").fetchall():
        kinds = con.execute("""
            SELECT kind, count(*) FROM (
              SELECT unnest(string_split(noise, '+')) AS kind FROM misses WHERE why = ?)
            GROUP BY kind ORDER BY count(*) DESC, kind LIMIT 6""", [why]).fetchall()
        text = ", ".join(f"{k} {c}" for k, c in kinds)
        lines.append(f"| {why} | {n:,} | {n / expected:.2%} | {text} |")
    total = con.execute("SELECT count(*) FROM misses").fetchone()[0]
    lines += [f"| all | {total:,} | {total / expected:.2%} | |", ""]
    con.close()
    return lines


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("runs", nargs="+", type=Path, help="seedN folders of bench/quality.py")
    ap.add_argument("--out", type=Path, help="append the tables (markdown) to this file")
    args = ap.parse_args()
    text = "\n".join(line for run in args.runs for line in misses(run)) + "\n"
    print(text)
    if args.out:
        with args.out.open("a", encoding="utf-8") as fh:
            fh.write(text)


if __name__ == "__main__":
    main()
