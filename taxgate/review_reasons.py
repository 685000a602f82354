"""Why a record is held for a disclosure officer (REVIEW), declared once.

A REVIEW record carries, with its decision's evidence in the store, the codes of
every reason below that applies; the review desk shows their words. They never
enter a response: the agency sees only the reason codes of
:mod:`taxgate.reasons` (DISCLOSURE_OFFICER_REVIEW, NAME_SINGLE_WORD).
``docs/review-reasons.md`` is generated from this table
(``python -m taxgate.review_reasons``) and a test keeps the two identical.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass


@dataclass(frozen=True)
class ReviewReason:
    code: str
    requirement: str
    words: str  # what the desk shows


_REVIEW_REASONS: tuple[ReviewReason, ...] = (
    ReviewReason("NAME_SINGLE_WORD", "R8",
                 "The request gives a one-word name (first or last name written FNU or LNU): "
                 "it may be a real mononym, which only a person can judge."),
    ReviewReason("SCORE_BETWEEN_THRESHOLDS", "R23",
                 "The best candidate at the address matches the person with a probability "
                 "between the review and the confirmation thresholds (T_low and T_high): "
                 "strong enough to weigh, too weak to confirm without two people."),
    ReviewReason("CANDIDATES_AT_ADDRESS", "R23",
                 "Two or more taxpayers at the submitted address match the person (the "
                 "policy keeps such records for review: review_competitors)."),
    ReviewReason("CLOSE_RUNNER_UP", "R23",
                 "Another taxpayer matches the person almost as well as the best candidate "
                 "(within the policy's clear-winner margin; review_competitors)."),
    ReviewReason("CONFLICTING_IDENTIFIER", "R23, R24",
                 "The taxpayer's filings give more than one date of birth: one agrees with "
                 "the request's, another does not."),
)

REVIEW_REASONS: dict[str, ReviewReason] = {r.code: r for r in _REVIEW_REASONS}


def require_review(code: str) -> str:
    """Return ``code`` if it is a documented review reason; fail loudly otherwise."""
    if code not in REVIEW_REASONS:
        raise KeyError(f"undocumented review reason {code}")
    return code


def words(codes: list[str]) -> list[tuple[str, str]]:
    """(code, words) for each code, in registry order; an unknown code is shown as is."""
    known = [r for r in _REVIEW_REASONS if r.code in codes]
    unknown = [c for c in codes if c not in REVIEW_REASONS]
    return [(r.code, r.words) for r in known] + [(c, c) for c in unknown]


def render_markdown() -> str:
    """The review-reason reference page, as committed in docs/review-reasons.md."""
    lines = [
        "# Review reasons",
        "",
        "Generated from `taxgate/review_reasons.py` by `python -m taxgate.review_reasons`; "
        "a test keeps this page identical to the code.",
        "",
        "Why a record was held for a disclosure officer (REVIEW). Each REVIEW record carries "
        "the codes that apply with its decision in the store, and the review desk shows "
        "their words. They never enter a response: the agency's `results.csv` keeps its "
        "reason codes ([reason-codes.md](reason-codes.md)).",
        "",
        "| code | requirement | shown on the desk |",
        "|---|---|---|",
    ]
    for r in _REVIEW_REASONS:
        lines.append(f"| `{r.code}` | {r.requirement} | {r.words} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":  # pragma: no cover
    sys.stdout.write(render_markdown())
