"""Statutory checks, one requirement at a time (R5, R8, R9, R11-R15, R17, R18, §7)."""

from __future__ import annotations

import duckdb
import pytest

from taxgate import standardize, statute
from taxgate.errors import RequestRefused
from taxgate.records import REQUEST_COLUMNS
from taxgate.settings import Policy
from taxgate.stage_table import table_of

CREATED = "2026-11-20"
GOOD = dict(
    record_id="r1",
    first_name="Jose",
    middle_name="",
    last_name="Garcia",
    second_last_name="",
    date_of_birth="1980-02-03",
    tin="",
    a_number="",
    street_address="123 N Main St",
    unit="",
    city="Fresno",
    state="CA",
    zip="93701",
    removal_order_date="2025-01-01",
    judicial_review_date="",
    case_number="C-1",
    officer_id="O-1",
)


def reasons(*overrides: dict, policy: Policy | None = None) -> list[tuple[list[str], list[str]]]:
    """(rejections, holds) for each record built from GOOD with ``overrides``."""
    con = duckdb.connect()
    standardize.install(con)
    cols = ", ".join(f'"{c}" VARCHAR' for c in REQUEST_COLUMNS)
    con.execute(f"CREATE TEMP TABLE req (row_number BIGINT, {cols})")
    for i, o in enumerate(overrides, start=1):
        rec = {**GOOD, "record_id": f"r{i}", **o}
        con.execute(
            f"INSERT INTO req VALUES (?, {', '.join('?' for _ in REQUEST_COLUMNS)})",
            [i, *(rec[c] for c in REQUEST_COLUMNS)],
        )
    out = statute.evaluate_records(con, table_of(con, "req"), "out", created=CREATED,
                                   policy=policy or Policy())
    return [
        (list(r), list(h)) for r, h in
        con.execute(f"SELECT rejections, holds FROM {out.name} ORDER BY row_number").fetchall()
    ]


def test_clean_record_passes_every_rule():
    assert reasons({}) == [([], [])]


@pytest.mark.parametrize(
    "street,code",
    [
        ("Don't Care 12345", "ADDRESS_PLACEHOLDER"),
        ("00000", None),
        ("12345-6789", "ADDRESS_ZIP_ONLY"),
        ("Unknown Address 20001", "ADDRESS_PLACEHOLDER"),
        ("Failed to Provide", "ADDRESS_PLACEHOLDER"),
        ("NA NA", "ADDRESS_PLACEHOLDER"),
        ("ICE Processing Center", "ADDRESS_INSTITUTION"),
        ("Main St", "ADDRESS_INCOMPLETE"),
        ("", "ADDRESS_INCOMPLETE"),
        ("HOMELESS", "ADDRESS_PLACEHOLDER"),
    ],
)
def test_r9_section7_address_negatives_are_rejected(street, code):
    """R9 / §7: a non-empty field or a ZIP-like pattern does not count as an address."""
    ((rej, _),) = reasons({"street_address": street})
    assert rej, f"{street!r} was accepted as an address"
    if code:
        assert code in rej


@pytest.mark.parametrize("street", ["123 N Main St", "PO Box 55", "RR 2 Box 15", "4500 Highway 99"])
def test_r9_real_street_addresses_pass(street):
    assert reasons({"street_address": street}) == [([], [])]


def test_r17_valid_tin_and_name_never_stand_in_for_an_address():
    ((rej, _),) = reasons({"tin": "912345678", "street_address": "Don't Care 12345"})
    assert "ADDRESS_PLACEHOLDER" in rej


@pytest.mark.parametrize(
    "field,value,code",
    [
        ("zip", "1234", "ZIP_INVALID"),
        ("zip", "00000", "ZIP_INVALID"),
        ("zip", "10001", "ZIP_STATE_MISMATCH"),
        ("state", "XX", "STATE_INVALID"),
        ("city", "", "ADDRESS_INCOMPLETE"),
    ],
)
def test_r9_place_must_be_real_and_consistent(field, value, code):
    ((rej, _),) = reasons({field: value})
    assert code in rej


@pytest.mark.parametrize(
    "first,last,code",
    [
        ("", "Garcia", "NAME_MISSING"),
        ("Jose", "", "NAME_MISSING"),
        ("UNKNOWN", "Garcia", "NAME_PLACEHOLDER"),
        ("John", "Doe", "NAME_PLACEHOLDER"),
        ("N/A", "N/A", "NAME_PLACEHOLDER"),
        ("Test", "Garcia", "NAME_PLACEHOLDER"),
    ],
)
def test_r8_names_blank_or_placeholder_are_rejected(first, last, code):
    ((rej, holds),) = reasons({"first_name": first, "last_name": last})
    if code:
        assert code in rej
    else:
        assert rej or holds


@pytest.mark.parametrize(
    "first,last",
    [
        ("Jane", "Doe"),
        ("Unknown", "Unknown"),
        ("Test", "Test"),
        ("Null", "None"),
        ("FNU", "Null"),  # the whole name is one word of the list
        ("FNU", "LNU"),
        ("None", "Garcia"),  # NONE is no given name
    ],
)
def test_r8_placeholders_are_rejected_in_their_context(first, last):
    ((rej, _),) = reasons({"first_name": first, "last_name": last})
    assert "NAME_PLACEHOLDER" in rej


@pytest.mark.parametrize(
    "first,last",
    [("Maria", "Null"), ("James", "Doe"), ("Anna", "Test"), ("Li", "None"), ("Min", "Na")],
)
def test_r8_a_real_surname_alone_is_never_a_placeholder(first, last):
    """R8 as revised: NULL, NONE, TEST, DOE and NA are real surnames."""
    assert reasons({"first_name": first, "last_name": last}) == [([], [])]


def test_r8_fnu_with_a_real_surname_that_looks_like_a_placeholder_is_a_mononym():
    ((rej, holds),) = reasons({"first_name": "FNU", "last_name": "Doe"})
    assert rej == [] and holds == ["NAME_SINGLE_WORD"]


@pytest.mark.parametrize(
    "street", ["123 Dept St", "45 Suite Ave", "7 Lot Street", "12 Unit Rd", "123 Dept St Apt 4"])
def test_r9_a_street_named_like_a_unit_designator_is_an_address(street):
    assert reasons({"street_address": street}) == [([], [])]


def test_r9_a_unit_alone_is_still_no_street():
    ((rej, _),) = reasons({"street_address": "123 Apt 4"})
    assert "ADDRESS_INCOMPLETE" in rej


def test_r8_a_single_word_name_goes_to_review_not_rejection():
    ((rej, holds),) = reasons({"first_name": "FNU", "last_name": "Xochitl"})
    assert rej == [] and holds == ["NAME_SINGLE_WORD"]


@pytest.mark.parametrize(
    "order,jr,ok",
    [
        ("2026-08-22", "", False),  # day 90 -> reject
        ("2026-08-21", "", True),  # day 91 -> pass
        ("2025-01-01", "2026-08-22", False),  # judicial review restarts the 90 days
        ("2025-01-01", "2026-08-21", True),
    ],
)
def test_r15_ninety_days_from_order_or_judicial_review(order, jr, ok):
    ((rej, _),) = reasons({"removal_order_date": order, "judicial_review_date": jr})
    assert (rej == []) is ok
    if not ok:
        assert "REMOVAL_ORDER_TOO_RECENT" in rej


@pytest.mark.parametrize(
    "order,code",
    [
        ("2027-01-01", "REMOVAL_ORDER_IN_FUTURE"),
        ("", "REMOVAL_ORDER_MISSING"),
        ("2025-02-30", "REMOVAL_ORDER_DATE_INVALID"),
        ("01/02/2025", "REMOVAL_ORDER_DATE_INVALID"),
    ],
)
def test_r15_future_missing_or_malformed_order_dates_reject(order, code):
    ((rej, _),) = reasons({"removal_order_date": order})
    assert code in rej


def test_r4_case_and_officer_are_required():
    ((rej, _),) = reasons({"case_number": " ", "officer_id": ""})
    assert {"CASE_NUMBER_MISSING", "OFFICER_MISSING"} <= set(rej)


def test_r5_officer_over_the_cap_rejects_every_record_naming_them():
    recs = [{"officer_id": "BULK"}] * 4 + [{"officer_id": "O-2"}]
    out = reasons(*recs, policy=Policy(officer_record_cap=3))
    assert all("OFFICER_CAPACITY" in r for r, _ in out[:4])
    assert out[4] == ([], [])


def test_duplicate_record_ids_reject_every_copy():
    out = reasons({"record_id": "dup"}, {"record_id": "dup"}, {"record_id": "solo"})
    assert ["DUPLICATE_RECORD_ID" in r for r, _ in out] == [True, True, False]


def test_r18_every_applicable_reason_is_listed():
    ((rej, _),) = reasons({"street_address": "Main St", "officer_id": "", "tin": "12"})
    assert {"ADDRESS_INCOMPLETE", "OFFICER_MISSING", "TIN_INVALID"} <= set(rej)


def test_oversized_field_is_rejected_without_echoing_it():
    ((rej, _),) = reasons({"case_number": "C" * 500})
    assert "FIELD_TOO_LONG" in rej


# --- request-level rules -----------------------------------------------------------------


@pytest.mark.parametrize(
    "periods", [[], ["ALL"], "ALL", ["2020-2024"], [2019, 2020, 2021, 2022, 2023, 2024, 2025]]
)
def test_r11_taxable_periods_must_be_explicit_years(periods):
    with pytest.raises(RequestRefused) as exc:
        statute.check_taxable_periods(periods, 2026, Policy())
    assert exc.value.reason == "TAXABLE_PERIODS_INVALID"


def test_r11_explicit_years_pass():
    assert statute.check_taxable_periods([2025, 2023, 2024], 2026, Policy()) == [2023, 2024, 2025]


def test_r12_statute_and_authority_on_allow_list():
    statute.check_legal_authority("26 U.S.C. 6103(i)(2)", Policy())
    statute.check_criminal_statute("8 U.S.C. 1253(a)(1)", Policy())
    with pytest.raises(RequestRefused) as exc:
        statute.check_criminal_statute("26 U.S.C. 7201", Policy())
    assert exc.value.reason == "CRIMINAL_STATUTE_NOT_ALLOWED"
    with pytest.raises(RequestRefused) as exc:
        statute.check_legal_authority("6103(k)(6)", Policy())
    assert exc.value.reason == "LEGAL_AUTHORITY_NOT_ALLOWED"


@pytest.mark.parametrize(
    "text,code",
    [
        ("", "REASON_MISSING"),
        ("   ", "REASON_MISSING"),
        ("removal", "REASON_NOT_SPECIFIC"),
        ("immigration enforcement " * 101, "REASON_NOT_SPECIFIC"),
    ],
)
def test_r13_reason_must_be_specific(text, code):
    with pytest.raises(RequestRefused) as exc:
        statute.check_reason(text, Policy())
    assert exc.value.reason == code


def test_r7_lapsed_safeguards_refuse_the_request():
    with pytest.raises(RequestRefused) as exc:
        statute.check_safeguards(False)
    assert exc.value.reason == "SAFEGUARDS_NOT_CURRENT"


@pytest.mark.parametrize("value", ["2024-1-5", "2024-13-01", "2021-00-10", "03/15/2024"])
def test_r14_dates_must_be_exactly_yyyy_mm_dd(value):
    ((rej, _),) = reasons({"removal_order_date": value})
    assert "REMOVAL_ORDER_DATE_INVALID" in rej


def test_r8_a_blank_name_is_missing_not_a_mononym():
    ((rej, holds),) = reasons({"first_name": "Francisco", "last_name": ""})
    assert "NAME_MISSING" in rej and holds == []


def test_r8_r9_rules_of_shared_values_give_each_record_its_own_codes():
    """R8, R9: the name and place rules are evaluated once per distinct name, city and
    ZIP of a request (statute._KEYED_CALLS, RecordRule.key) and joined back. In one
    request, with values shared, missing (NULL) and blank, every record gets exactly
    the codes it gets alone."""
    batch = [
        {}, {"city": None}, {"city": None, "state": None}, {"zip": None},
        {"state": None}, {"city": "", "zip": ""}, {"city": "Unknown"},
        {"city": "Fresno", "state": "TX"}, {"zip": "10001"}, {"zip": "10001", "state": "NY",
                                                               "city": "New York"},
        {"first_name": None}, {"last_name": None}, {"first_name": None, "last_name": None},
        {"first_name": "FNU"}, {"first_name": "FNU", "last_name": "Garcia Lopez"},
        {"last_name": "LNU"}, {"first_name": "Test", "last_name": "Test"},
        {"last_name": "Unknown"}, {"first_name": "Jose", "last_name": "Null"},
        {"first_name": "Maria"}, {}, {"city": None},
    ]
    alone = [reasons(o)[0] for o in batch]
    assert reasons(*batch) == alone
    assert len({str(a) for a in alone}) >= 5  # the cases differ
