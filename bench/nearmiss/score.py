"""Per-kind figures of a results.csv against the near-miss truth."""

from __future__ import annotations

import csv
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from bench.nearmiss.misses import KINDS

OUTCOMES = ("CONFIRMED", "NOT_CONFIRMED", "REVIEW", "REJECTED")
BY_NAME = {k.name: k for k in KINDS}


@dataclass
class KindScore:
    kind: str
    group: str
    n: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    by_ids: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    misses: Counter[str] = field(default_factory=Counter)   # detail of each failure

    @property
    def confirmed(self) -> int:
        return self.outcomes["CONFIRMED"]

    @property
    def failures(self) -> int:
        """False confirmations (near misses) or unconfirmed variants."""
        return self.confirmed if self.group == "near miss" else self.n - self.confirmed

    @property
    def recall(self) -> float:
        return self.confirmed / self.n if self.n else 1.0

    @property
    def review_share(self) -> float:
        return self.outcomes["REVIEW"] / self.n if self.n else 0.0

    def as_dict(self) -> dict[str, object]:
        return {"kind": self.kind, "group": self.group, "n": self.n,
                "outcomes": dict(self.outcomes), "failures": self.failures,
                "recall": round(self.recall, 4) if self.group == "variant" else None,
                "false_confirmations": self.confirmed if self.group == "near miss" else None,
                "review_share": round(self.review_share, 4),
                "by_ids": {k: dict(v) for k, v in sorted(self.by_ids.items())},
                "failing_details": dict(self.misses.most_common(12))}


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def score(results: Path, truth: Path) -> dict[str, KindScore]:
    """Join on record_id (unique in this set) and count outcomes per kind."""
    outcome = {r["record_id"]: r["outcome"] for r in _rows(results)}
    scores: dict[str, KindScore] = {k.name: KindScore(k.name, k.group) for k in KINDS}
    for t in _rows(truth):
        s = scores[t["category"]]
        got = outcome.get(t["record_id"], "MISSING")
        s.n += 1
        s.outcomes[got] += 1
        ids, _, detail = t["detail"].partition(":")
        s.by_ids[ids][got] += 1
        bad = got == "CONFIRMED" if s.group == "near miss" else got != "CONFIRMED"
        if bad:
            s.misses[f"{detail or ids} -> {got}"] += 1
    return scores


def totals(scores: dict[str, KindScore]) -> dict[str, object]:
    near = [s for s in scores.values() if s.group == "near miss"]
    var = [s for s in scores.values() if s.group == "variant"]
    n_var = sum(s.n for s in var)
    n_all = sum(s.n for s in scores.values())
    return {
        "near_miss_records": sum(s.n for s in near),
        "false_confirmations": sum(s.confirmed for s in near),
        "variant_records": n_var,
        "variant_recall": round(sum(s.confirmed for s in var) / n_var, 4) if n_var else None,
        "kinds_below_98": [s.kind for s in var if s.recall < 0.98],
        "near_miss_kinds_with_fc": [s.kind for s in near if s.confirmed],
        "review_share": round(sum(s.outcomes["REVIEW"] for s in scores.values()) / n_all, 4)
        if n_all else 0.0,
        "rejected": sum(s.outcomes["REJECTED"] for s in scores.values()),
    }
