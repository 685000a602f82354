"""The shapes of the contract's files: columns, outcomes, manifest fields.

Declared once here and used by intake, loading, the generator and the response
writer, so a column is spelled in one place.
"""

from __future__ import annotations

from enum import StrEnum


class Outcome(StrEnum):
    CONFIRMED = "CONFIRMED"
    NOT_CONFIRMED = "NOT_CONFIRMED"
    REJECTED = "REJECTED"
    REVIEW = "REVIEW"


# Taxpayer records (contract §1): column -> required
TAXPAYER_COLUMNS: dict[str, bool] = {
    "tin": True,
    "first_name": True,
    "middle_name": False,
    "last_name": True,
    "date_of_birth": False,
    "street_address": True,
    "unit": False,
    "city": True,
    "state": True,
    "zip": True,
    "tax_year": True,
    "source": True,
    "processed_date": True,
    "disclosure_hold": False,
}
FILING_SOURCES = ("RETURN", "W7", "F8822")

# Request records (contract §2): column -> required
REQUEST_COLUMNS: dict[str, bool] = {
    "record_id": True,
    "first_name": True,
    "middle_name": False,
    "last_name": True,
    "second_last_name": False,
    "date_of_birth": False,
    "tin": False,
    "a_number": False,
    "street_address": True,
    "unit": False,
    "city": True,
    "state": True,
    "zip": True,
    "removal_order_date": True,
    "judicial_review_date": False,
    "case_number": True,
    "officer_id": True,
}

# manifest.json fields (contract §2): field -> JSON type(s) accepted
MANIFEST_FIELDS: dict[str, tuple[type, ...]] = {
    "contract_version": (int,),
    "request_id": (str,),
    "requesting_agency": (str,),
    "signing_official": (str,),
    "legal_authority": (str,),
    "criminal_statute": (str,),
    "taxable_periods": (list,),
    "reason": (str,),
    "created_at": (str,),
    "records_file": (str,),
    "records_sha256": (str,),
    "record_count": (int,),
    "signature": (str,),
}

RESULT_COLUMNS = ("record_id", "outcome", "reasons")

# The longest value a real field of each kind may hold; longer is FIELD_TOO_LONG.
MAX_FIELD_LENGTH = 200
# A field this long is not a record at all: the file is refused (RECORDS_MALFORMED).
MAX_FILE_FIELD_BYTES = 64 * 1024
