"""Score a response against known truth (synthetic data only).

A truth file (written by :mod:`taxgate.synth`) holds record_id, category,
expected_outcome (one outcome, or several acceptable ones joined by '|'),
expected_reasons and true_tin. The primary figure is the false confirmation: a
CONFIRMED where CONFIRMED was not an acceptable answer (R26).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import duckdb


@dataclass
class Evaluation:
    total: int
    false_confirmations: int
    true_confirmations: int
    expected_confirmations: int
    review: int
    lawful: int
    wrong_rejections: int
    missed_rejections: int
    by_category: list[tuple] = field(default_factory=list)
    confusion: list[tuple] = field(default_factory=list)

    @property
    def recall(self) -> float:
        return (
            self.true_confirmations / self.expected_confirmations
            if self.expected_confirmations
            else 1.0
        )

    @property
    def review_rate(self) -> float:
        return self.review / self.lawful if self.lawful else 0.0

    @property
    def precision(self) -> float:
        confirmed = self.true_confirmations + self.false_confirmations
        return self.true_confirmations / confirmed if confirmed else 1.0

    @property
    def f05(self) -> float:
        p, r = self.precision, self.recall
        return (1.25 * p * r / (0.25 * p + r)) if (p + r) else 0.0


def evaluate(results_csv: Path, truth_csv: Path) -> Evaluation:
    """Compare results.csv with the truth file, record by record (joined on position
    within each record_id, so duplicated ids are compared too)."""
    con = duckdb.connect()
    con.execute(f"""
        CREATE TEMP TABLE j AS
        WITH r AS (SELECT *, row_number() OVER (PARTITION BY record_id) AS k
                   FROM read_csv('{results_csv}', all_varchar=true, header=true)),
             t AS (SELECT *, row_number() OVER (PARTITION BY record_id) AS k
                   FROM read_csv('{truth_csv}', all_varchar=true, header=true))
        SELECT t.record_id, t.category, t.expected_outcome,
               coalesce(t.expected_reasons, '') AS expected_reasons,
               r.outcome, coalesce(r.reasons, '') AS reasons,
               list_contains(string_split(t.expected_outcome, '|'), r.outcome) AS ok
        FROM t LEFT JOIN r USING (record_id, k)
    """)
    summary = con.execute("""
        SELECT count(*),
          count(*) FILTER (WHERE outcome = 'CONFIRMED'
                           AND NOT list_contains(string_split(expected_outcome, '|'), 'CONFIRMED')),
          count(*) FILTER (WHERE outcome = 'CONFIRMED' AND expected_outcome = 'CONFIRMED'),
          count(*) FILTER (WHERE expected_outcome = 'CONFIRMED'),
          count(*) FILTER (WHERE outcome = 'REVIEW' AND expected_outcome <> 'REJECTED'),
          count(*) FILTER (WHERE expected_outcome <> 'REJECTED'),
          count(*) FILTER (WHERE outcome = 'REJECTED' AND expected_outcome <> 'REJECTED'),
          count(*) FILTER (WHERE outcome <> 'REJECTED' AND expected_outcome = 'REJECTED')
        FROM j
    """).fetchone()
    assert summary is not None
    (total, fc, tc, ec, review, lawful, wrong_rej, missed_rej) = summary
    by_category = con.execute("""
        SELECT category, expected_outcome, count(*) AS n,
               count(*) FILTER (WHERE ok) AS correct,
               count(*) FILTER (WHERE outcome = 'CONFIRMED') AS confirmed,
               count(*) FILTER (WHERE outcome = 'NOT_CONFIRMED') AS not_confirmed,
               count(*) FILTER (WHERE outcome = 'REVIEW') AS review,
               count(*) FILTER (WHERE outcome = 'REJECTED') AS rejected
        FROM j GROUP BY ALL ORDER BY category
    """).fetchall()
    confusion = con.execute("""
        SELECT expected_outcome, outcome, count(*) FROM j GROUP BY ALL ORDER BY ALL
    """).fetchall()
    return Evaluation(
        total, fc, tc, ec, review, lawful, wrong_rej, missed_rej, by_category, confusion
    )
