"""Why a record is held for a disclosure officer (REVIEW), and why officers decide as
they do, declared once.

A REVIEW record carries, with its decision's evidence in the store, the codes of
every reason below that applies; the review desk shows their words. They never
enter a response: the agency sees only the reason codes of
:mod:`taxgate.reasons` (DISCLOSURE_OFFICER_REVIEW, NAME_SINGLE_WORD).

An officer who proposes an outcome, or a releaser who sends a proposal back, chooses
one of the :data:`DECISION_REASONS` (R23, R36) and may add a short note;
:func:`note_problem` is the one screen every review path (web, CLI, API) puts that
note through, so no taxpayer value (a TIN-like number, a date, a name or address of
the record or its candidates) reaches the ledger verbatim (R34).
``docs/review-reasons.md`` is generated from this table
(``python -m taxgate.review_reasons``) and a test keeps the two identical.
"""

from __future__ import annotations

import re
import sys
import unicodedata
from collections.abc import Iterable
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


@dataclass(frozen=True)
class DecisionReason:
    code: str
    applies_to: tuple[str, ...]  # the outcomes (or SEND_BACK) it may justify
    words: str


SEND_BACK = "SEND_BACK"

_DECISION_REASONS: tuple[DecisionReason, ...] = (
    DecisionReason("SAME_PERSON_NAME_VARIANT", ("CONFIRMED",),
                   "Same person: the names differ only in a form people really use "
                   "(nickname, accents, order, a second surname), and nothing else differs."),
    DecisionReason("SAME_PERSON_IDENTIFIER_AGREES", ("CONFIRMED",),
                   "Same person: the date of birth or TIN given in the request agrees with "
                   "the candidate's filings."),
    DecisionReason("ONE_CANDIDATE_FITS", ("CONFIRMED",),
                   "Of the candidates at the address, only one fits every element the "
                   "request gives."),
    DecisionReason("MONONYM_ESTABLISHED", ("CONFIRMED",),
                   "The one-word name is the person's real, complete name as filed."),
    DecisionReason("DIFFERENT_PERSON_NAME", ("NOT_CONFIRMED",),
                   "Different person: the names are distinct names, not variants of one."),
    DecisionReason("DIFFERENT_PERSON_IDENTIFIER", ("NOT_CONFIRMED",),
                   "Different person: the date of birth or TIN disagrees."),
    DecisionReason("CANDIDATES_NOT_DISTINGUISHABLE", ("NOT_CONFIRMED",),
                   "Two or more candidates fit and nothing in the request tells them apart."),
    DecisionReason("ADDRESS_NOT_OF_RECORD", ("NOT_CONFIRMED",),
                   "The submitted address is not the taxpayer's address of record for the "
                   "request's taxable periods."),
    DecisionReason("EVIDENCE_INSUFFICIENT", ("NOT_CONFIRMED",),
                   "The evidence is too weak to confirm the person at the address."),
    DecisionReason("REASON_DOES_NOT_FIT_EVIDENCE", (SEND_BACK,),
                   "The reason given does not fit the evidence shown: review it again."),
    DecisionReason("EVIDENCE_OVERLOOKED", (SEND_BACK,),
                   "A field of the evidence was overlooked (see the note): review it again."),
    DecisionReason("OUTCOME_NOT_ALLOWED", (SEND_BACK,),
                   "The outcome cannot be released as proposed (a check of the gateway "
                   "refuses it): propose again."),
)

DECISION_REASONS: dict[str, DecisionReason] = {r.code: r for r in _DECISION_REASONS}
NOTE_MAX = 300  # characters of an officer's note


def decision_reasons(applies_to: str) -> list[DecisionReason]:
    """The reasons an officer may choose for an outcome (or SEND_BACK), in order."""
    return [r for r in _DECISION_REASONS if applies_to in r.applies_to]


# A TIN, ZIP, phone or long id (five or more digits, separators allowed), a date in
# numbers (1980-03-04, 3/4/80, 04.03.1980) or with a month's name (March 4, 4 Mar 1980).
_LONG_NUMBER = re.compile(r"\d(?:[\s./-]?\d){4,}")
_NUMERIC_DATE = re.compile(r"\b\d{1,4}\s*[-/.]\s*\d{1,2}\s*[-/.]\s*\d{1,4}\b")
_MONTHS = ("jan(uary)?|feb(ruary)?|mar(ch)?|apr(il)?|may|june?|july?|aug(ust)?|"
           "sep(t(ember)?)?|oct(ober)?|nov(ember)?|dec(ember)?")
_NAMED_DATE = re.compile(rf"\b(\d{{1,2}}\s*({_MONTHS})\b|({_MONTHS})\.?\s*\d{{1,4}}\b)",
                         re.IGNORECASE)
# words of a name or an address that identify no one (particles, street designators)
_COMMON = frozenset({
    "de", "la", "del", "las", "los", "y", "da", "das", "do", "dos", "di", "du", "van",
    "von", "der", "den", "le", "st", "ave", "rd", "dr", "ln", "ct", "blvd", "apt",
    "unit", "ste", "suite", "po", "box", "n", "s", "e", "w", "ne", "nw", "se", "sw",
    "north", "south", "east", "west", "street", "road", "avenue", "drive", "lane",
    "court", "the", "and", "jr", "sr", "ii", "iii", "iv"
})


def _fold(text: str) -> str:
    """Lower case, accents removed: how a note and a value are compared."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def _words(text: str) -> list[str]:
    return re.findall(r"[^\W_]+", _fold(text))


def note_problem(note: str, values: Iterable[object] = ()) -> str | None:
    """Why ``note`` may not enter the ledger (None: it may), never quoting it: control
    characters, more than NOTE_MAX characters, a number of five or more digits (a TIN),
    a date, or a word or number of ``values`` (the names and addresses of the record and
    its candidates; words of two letters or fewer and common address words aside)."""
    if len(note) > NOTE_MAX:
        return f"the note is longer than {NOTE_MAX} characters"
    if any(unicodedata.category(c).startswith("C") for c in note):
        return "the note holds control or invisible characters"
    if _NUMERIC_DATE.search(note) or _NAMED_DATE.search(note):
        return "the note holds a date"
    if _LONG_NUMBER.search(note):
        return "the note holds a number of five or more digits (a TIN-like number)"
    said = set(_words(note))
    for value in values:
        for w in _words(str(value or "")):
            if w in said and w not in _COMMON and (len(w) >= 3 or (w.isdigit() and len(w) >= 2)):
                return ("the note names a value of the record or a candidate (a name or an "
                        "address); say it with the reason code, not the taxpayer's details")
    return None


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
    lines += [
        "",
        "## Officers' reasons",
        "",
        "An officer proposing an outcome, or a releaser sending a proposal back, chooses one "
        "of these codes (R23, R36) and may add a note of at most "
        f"{NOTE_MAX} characters. The note is screened before anything is stored: it is "
        "refused when it holds a number of five or more digits (a TIN-like number), a date, "
        "or a word of the record's or a candidate's name or address, so no taxpayer value "
        "enters the ledger verbatim (R34). The refusal never repeats the note.",
        "",
        "| code | for | meaning |",
        "|---|---|---|",
    ]
    for d in _DECISION_REASONS:
        lines.append(f"| `{d.code}` | {', '.join(d.applies_to)} | {d.words} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":  # pragma: no cover
    sys.stdout.write(render_markdown())
