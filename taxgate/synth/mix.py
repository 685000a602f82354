"""The request's category mix: what kinds of records, how many, and their truth.

``CATEGORIES`` is the documented, configurable table. ``generate_request(mix=...)``
takes any mapping category -> share (shares are normalized; a category left out
gets none). ``expected`` is an outcome or a '|'-separated set of acceptable
outcomes; ``reasons`` is a ';'-separated list of codes that must all be present,
where an item 'A|B' accepts either code (extra codes are tolerated).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from taxgate.reasons import require


@dataclass(frozen=True)
class Category:
    name: str
    share: float
    expected: str
    reasons: str
    meaning: str


def _c(name: str, share: float, expected: str, reasons: str, meaning: str) -> Category:
    for item in filter(None, reasons.split(";")):
        for code in item.split("|"):
            require(code)
    return Category(name, share, expected, reasons, meaning)


REJ = "REJECTED"
NC = "NOT_CONFIRMED"
CATEGORIES: tuple[Category, ...] = (
    _c("clean_match", 0.33, "CONFIRMED", "",
       "the person at the address of record, written as filed"),
    _c("noisy_match", 0.301, "CONFIRMED", "",
       "the person at the address of record with 1-3 realistic variations (see NOISE_KINDS)"),
    _c("household_namesake_dob", 0.008, "CONFIRMED", "",
       "father or son of one name at one address; the DOB tells which"),
    _c("ambiguous_household", 0.012, "REVIEW|NOT_CONFIRMED", "",
       "father or son of one name at one address, no DOB and no TIN: never CONFIRMED"),
    _c("old_address", 0.07, NC, "", "the person at an earlier address from their filings"),
    _c("lka_outside_periods", 0.01, NC, "",
       "the person's last known address, from a filing outside the taxable periods"),
    _c("no_filing_in_periods", 0.01, NC, "",
       "a taxpayer with no filing in the taxable periods, at their last known address"),
    _c("wrong_address", 0.05, NC, "",
       "the person at another taxpayer's or a made-up address, same ZIP"),
    _c("wrong_unit", 0.02, NC, "", "the address of record with another apartment number"),
    _c("not_in_records", 0.05, NC, "", "a person who never filed, at a made-up address"),
    _c("lookalike_not_in_records", 0.03, NC, "",
       "a non-filer with a taxpayer's exact name, another DOB, another address in the same ZIP"),
    _c("disclosure_hold", 0.01, NC, "",
       "a taxpayer under a 6103(i)(6) hold, at the address of record"),
    _c("single_word_name", 0.005, "REVIEW", "NAME_SINGLE_WORD",
       "a one-word name written FNU/LNU + name (the DHS convention for a mononym)"),
    _c("deficient_zip_only", 0.008, REJ, "ADDRESS_ZIP_ONLY", "street field is the ZIP code"),
    _c("deficient_dont_care", 0.008, REJ, "ADDRESS_PLACEHOLDER|ADDRESS_ZIP_ONLY",
       "street field \"Don't Care 12345\""),
    _c("deficient_zeros", 0.004, REJ, "ADDRESS_ZIP_ONLY|ADDRESS_PLACEHOLDER",
       "street field \"00000\""),
    _c("deficient_unknown_address", 0.005, REJ, "ADDRESS_PLACEHOLDER", "\"Unknown Address\""),
    _c("deficient_failed_to_provide", 0.005, REJ, "ADDRESS_PLACEHOLDER", "\"Failed to Provide\""),
    _c("deficient_na_na", 0.004, REJ, "ADDRESS_PLACEHOLDER", "\"NA NA\""),
    _c("deficient_institution", 0.005, REJ, "ADDRESS_INSTITUTION",
       "a detention facility named with no street location"),
    _c("deficient_no_house_number", 0.005, REJ, "ADDRESS_INCOMPLETE", "\"Main St\" with no number"),
    _c("deficient_tin_placeholder_address", 0.005, REJ, "ADDRESS_PLACEHOLDER|ADDRESS_ZIP_ONLY",
       "R17: a real taxpayer's TIN and name with \"Don't Care 12345\" as the address"),
    _c("deficient_name_missing", 0.004, REJ, "NAME_MISSING", "first or last name blank"),
    _c("deficient_name_placeholder", 0.004, REJ, "NAME_PLACEHOLDER",
       "UNKNOWN, JOHN DOE, N/A, TEST"),
    _c("deficient_removal_too_recent", 0.006, REJ, "REMOVAL_ORDER_TOO_RECENT",
       "removal order 0-90 days before created_at (day 90 included)"),
    _c("deficient_removal_in_future", 0.003, REJ, "REMOVAL_ORDER_IN_FUTURE",
       "removal order after created_at"),
    _c("deficient_judicial_review_too_recent", 0.004, REJ, "REMOVAL_ORDER_TOO_RECENT",
       "old removal order, judicial review 0-90 days before created_at"),
    _c("deficient_removal_date_malformed", 0.003, REJ, "REMOVAL_ORDER_DATE_INVALID",
       "removal order date not a real YYYY-MM-DD date"),
    _c("deficient_removal_date_missing", 0.002, REJ, "REMOVAL_ORDER_MISSING",
       "removal order blank"),
    _c("deficient_dob_malformed", 0.002, REJ, "DATE_OF_BIRTH_INVALID", "DOB not a real date"),
    _c("deficient_case_number_missing", 0.003, REJ, "CASE_NUMBER_MISSING", "case number blank"),
    _c("deficient_officer_missing", 0.003, REJ, "OFFICER_MISSING", "officer blank"),
    _c("deficient_zip_state_mismatch", 0.004, REJ, "ZIP_STATE_MISMATCH",
       "the ZIP belongs to another state than the one given"),
    _c("deficient_zip_invalid", 0.003, REJ, "ZIP_INVALID", "ZIP not 5 or 9 digits"),
    _c("duplicate_record_id", 0.004, REJ, "DUPLICATE_RECORD_ID",
       "two records share one record_id (both are labelled)"),
)
BY_NAME: dict[str, Category] = {c.name: c for c in CATEGORIES}
DEFAULT_MIX: dict[str, float] = {c.name: c.share for c in CATEGORIES}
# Added by the bulk-officer option, not part of the mix: records moved to one officer.
OFFICER_OVER_CAP = _c("officer_over_cap", 0.0, REJ, "OFFICER_CAPACITY",
                      "one officer named on more records than the cap (R5); detail keeps "
                      "the record's original category")


def allocate(n: int, mix: Mapping[str, float] | None = None) -> dict[str, int]:
    """Record counts per category, summing to ``n`` (largest remainder; pairs stay even)."""
    mix = dict(DEFAULT_MIX if mix is None else mix)
    unknown = sorted(set(mix) - set(BY_NAME))
    if unknown:
        raise ValueError(f"unknown categories: {', '.join(unknown)}")
    names = [k for k, v in mix.items() if v > 0]
    w = np.array([mix[k] for k in names], float)
    raw = w / w.sum() * n
    counts = np.floor(raw).astype(int)
    for i in np.argsort(-(raw - counts))[: n - counts.sum()]:
        counts[i] += 1
    out = dict(zip(names, counts.tolist(), strict=True))
    if out.get("duplicate_record_id", 0) % 2:
        out["duplicate_record_id"] -= 1
        big = max(out, key=lambda k: out[k])
        out[big] += 1
    return out
