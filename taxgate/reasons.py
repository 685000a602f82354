"""Every reason code taxgate can put in a response, declared once.

A reason code names the rule a request or record failed; it never describes a
taxpayer. ``docs/reason-codes.md`` is generated from this table
(``python -m taxgate.reasons``) and a test keeps the two identical, so every code
an agency can receive is documented with the requirement behind it.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from enum import StrEnum


class Scope(StrEnum):
    REQUEST = "request"  # the whole request is refused; every record carries the code
    RECORD = "record"  # one record is rejected (or held) on its own


@dataclass(frozen=True)
class Reason:
    code: str
    scope: Scope
    requirements: str
    meaning: str


_REASONS: tuple[Reason, ...] = (
    # --- whole-request refusals -------------------------------------------------
    Reason("MANIFEST_MALFORMED", Scope.REQUEST, "contract §2",
           "manifest.json is missing, a symbolic link, not strict UTF-8 JSON (a repeated key, "
           "a number over 20 characters, nesting over 8 levels), lacks a required field of "
           "the right type, or its request_id is not of the documented syntax"),
    Reason("CONTRACT_VERSION_UNSUPPORTED", Scope.REQUEST, "contract §2",
           "contract_version is not one this gateway implements"),
    Reason("RECORDS_MALFORMED", Scope.REQUEST, "contract §2",
           "the records file is missing, a symbolic link, not UTF-8 CSV, has a wrong header, "
           "a ragged row or an oversized field"),
    Reason("CHECKSUM_MISMATCH", Scope.REQUEST, "R3, contract §2",
           "records_sha256 does not match the bytes of the records file"),
    Reason("RECORD_COUNT_MISMATCH", Scope.REQUEST, "contract §2",
           "record_count does not match the number of records in the file"),
    Reason("REQUEST_TOO_LARGE", Scope.REQUEST, "R18, contract §2",
           "the request holds more records, or its records file more bytes, than the "
           "policy allows"),
    Reason("SIGNATURE_INVALID", Scope.REQUEST, "R1, R3",
           "the Ed25519 signature does not verify over the canonical manifest"),
    Reason("OFFICIAL_NOT_AUTHORIZED", Scope.REQUEST, "R1, R2",
           "the signing official is not in the registry for the requesting agency"),
    Reason("OFFICIAL_NOT_VALID_ON_DATE", Scope.REQUEST, "R1, R2",
           "the signing official's registration is not valid on the request's created_at "
           "or on the day it is received"),
    Reason("CREATED_AT_INVALID", Scope.REQUEST, "R1, R15",
           "created_at is not an ISO 8601 time with a zone, or lies after receipt by more "
           "than the policy's clock skew"),
    Reason("CREATED_AT_STALE", Scope.REQUEST, "R1, contract §2",
           "created_at lies further before receipt than the policy's window (default 7 "
           "days); a replay of identical bytes is answered from the store instead"),
    Reason("SAFEGUARDS_NOT_CURRENT", Scope.REQUEST, "R7",
           "the requesting agency's 6103(p)(4) safeguards status is lapsed"),
    Reason("CERTIFICATION_OVERDUE", Scope.REQUEST, "R32",
           "the agency has not certified the return or destruction of earlier disclosed "
           "data by its due date (only when block_overdue_certifications is on)"),
    Reason("LEGAL_AUTHORITY_NOT_ALLOWED", Scope.REQUEST, "R12",
           "legal_authority is not on the policy's allow-list"),
    Reason("CRIMINAL_STATUTE_NOT_ALLOWED", Scope.REQUEST, "R12",
           "criminal_statute is not a designated non-tax federal criminal statute "
           "on the allow-list"),
    Reason("TAXABLE_PERIODS_INVALID", Scope.REQUEST, "R11",
           "taxable_periods is empty, not explicit years (e.g. \"ALL\" or a range), "
           "or longer than the policy allows"),
    Reason("REASON_MISSING", Scope.REQUEST, "R13",
           "the manifest gives no reason why the information is relevant"),
    Reason("REASON_NOT_SPECIFIC", Scope.REQUEST, "R13, R5",
           "the reason is boilerplate: too short, or one phrase repeated"),
    Reason("REQUEST_ID_REUSED", Scope.REQUEST, "contract §2, §3",
           "this request_id was already received, from another agency or with different "
           "bytes"),
    # --- per-record rejections ----------------------------------------------------
    Reason("RECORD_ID_MISSING", Scope.RECORD, "contract §2", "record_id is blank"),
    Reason("DUPLICATE_RECORD_ID", Scope.RECORD, "contract §2",
           "the record_id appears more than once in the request"),
    Reason("IDENTIFIER_MIXED_SCRIPT", Scope.RECORD, "R5, contract §2",
           "record_id, officer_id or case_number mixes Latin letters with Cyrillic or Greek "
           "look-alikes"),
    Reason("NAME_MISSING", Scope.RECORD, "R8", "first_name or last_name is blank"),
    Reason("NAME_PLACEHOLDER", Scope.RECORD, "R8",
           "a name field holds a placeholder (UNKNOWN, N/A, JOHN DOE, TEST, ...)"),
    Reason("ADDRESS_INCOMPLETE", Scope.RECORD, "R9",
           "no house number and street name (or PO/rural box), or city/state/ZIP missing"),
    Reason("ADDRESS_PLACEHOLDER", Scope.RECORD, "R9, R17",
           "the street field is a placeholder (\"Don't care\", UNKNOWN, N/A, SAME, HOMELESS, ...), "
           "or the city is one (UNKNOWN, N/A, NONE, punctuation or digits only)"),
    Reason("ADDRESS_ZIP_ONLY", Scope.RECORD, "R9, R17",
           "the only address-like content of the street field is a 5- or 9-digit number"),
    Reason("ADDRESS_INSTITUTION", Scope.RECORD, "R9",
           "an institution or detention facility named without a street location"),
    Reason("ZIP_INVALID", Scope.RECORD, "R9",
           "the ZIP is not 5 or 9 digits, or is not a ZIP code that exists"),
    Reason("ZIP_STATE_MISMATCH", Scope.RECORD, "R9",
           "the ZIP code does not belong to the given state"),
    Reason("CITY_NOT_IN_STATE", Scope.RECORD, "R9",
           "the city is not a place of the given state (USPS city names, common spellings "
           "and abbreviations allowed)"),
    Reason("STATE_INVALID", Scope.RECORD, "R9", "state is not a 2-letter USPS code"),
    Reason("DATE_OF_BIRTH_INVALID", Scope.RECORD, "contract §2",
           "date_of_birth is not a real YYYY-MM-DD date in the past"),
    Reason("TIN_INVALID", Scope.RECORD, "R17, contract §2", "tin is given but is not 9 digits"),
    Reason("REMOVAL_ORDER_MISSING", Scope.RECORD, "R14, R15", "removal_order_date is blank"),
    Reason("REMOVAL_ORDER_DATE_INVALID", Scope.RECORD, "R14, R15",
           "removal_order_date is not a real YYYY-MM-DD date"),
    Reason("REMOVAL_ORDER_IN_FUTURE", Scope.RECORD, "R15",
           "the removal order (or judicial review) date is after the request's created_at"),
    Reason("REMOVAL_ORDER_TOO_RECENT", Scope.RECORD, "R15",
           "the policy's days (default 90) have not passed since the removal order, or since "
           "the judicial review date when given"),
    Reason("JUDICIAL_REVIEW_DATE_INVALID", Scope.RECORD, "R14, R15",
           "judicial_review_date is not a real date or precedes the removal order"),
    Reason("CASE_NUMBER_MISSING", Scope.RECORD, "R4, R5", "case_number is blank"),
    Reason("OFFICER_MISSING", Scope.RECORD, "R4, R5", "officer_id is blank"),
    Reason("OFFICER_CAPACITY", Scope.RECORD, "R5",
           "the officer is named on more records of this request than the policy allows"),
    Reason("FIELD_TOO_LONG", Scope.RECORD, "R37",
           "a field is longer than any real value of its kind"),
    Reason("FIELD_CONTROL_CHARACTER", Scope.RECORD, "R37, contract §2",
           "a field holds a control character (NUL, ESC, ...; tab and line breaks "
           "excepted)"),
    # --- held for a disclosure officer (REVIEW) --------------------------------------
    Reason("NAME_SINGLE_WORD", Scope.RECORD, "R8",
           "a one-word name (a possible mononym): held for a disclosure officer"),
    Reason("DISCLOSURE_OFFICER_REVIEW", Scope.RECORD, "R23",
           "held for two-person review; the final answer follows in a later response"),
)

REASONS: dict[str, Reason] = {r.code: r for r in _REASONS}
REQUEST_REASONS = frozenset(r.code for r in _REASONS if r.scope is Scope.REQUEST)


def require(code: str) -> str:
    """Return ``code`` if it is a documented reason code; fail loudly otherwise."""
    if code not in REASONS:
        raise KeyError(f"undocumented reason code {code}")
    return code


# The contract sections a requirement cites, as the integration guide's sections: the
# page is for agencies, who read the project's documents.
_GUIDE = {"§1": "[filings](integration.md#the-taxpayer-filings)",
          "§2": "[package](integration.md#the-request-package)",
          "§3": "[response](integration.md#the-response)"}


def _requirement_cell(text: str) -> str:
    return re.sub(r"contract (§\d)(?:, (§\d))?",
                  lambda m: ", ".join(_GUIDE[s] for s in m.groups() if s), text)


def render_markdown() -> str:
    """The reason-code reference page, as committed in docs/reason-codes.md."""
    lines = [
        "# Reason codes",
        "",
        "Generated from `taxgate/reasons.py` by `python -m taxgate.reasons`; a test keeps "
        "this page identical to the code.",
        "",
        "A *request* code refuses the whole request: every record is REJECTED with it and "
        "`taxgate process` exits 2. A *record* code rejects (or, for the last two, holds for "
        "review) one record; a record carries every record code that applies, `;`-separated.",
        "",
        "| code | scope | requirement | meaning |",
        "|---|---|---|---|",
    ]
    for r in _REASONS:
        lines.append(f"| `{r.code}` | {r.scope.value} | {_requirement_cell(r.requirements)} "
                     f"| {r.meaning} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":  # pragma: no cover
    sys.stdout.write(render_markdown())
