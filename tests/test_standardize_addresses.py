"""Address standardization to USPS Pub 28 form (R10, R24)."""

from __future__ import annotations

import pytest

from taxgate.standardize import standardize_rows
from taxgate.standardize.one_row import address_columns

# Every input named in this module is standardized in ONE query on first use
# (the SQL is the same; one query per case would only cost planning time).
_ADDR_FIELDS = ("street_address", "unit", "city", "state", "zip")
_PENDING: set[tuple] = set()
_DONE: dict[tuple, dict] = {}


def _std(case: tuple) -> dict:
    if case not in _DONE:
        todo = sorted(_PENDING | {case}, key=repr)
        rows = standardize_rows([dict(zip(_ADDR_FIELDS, c, strict=True)) for c in todo])
        _DONE.update(zip(todo, map(address_columns, rows), strict=True))
    return _DONE[case]


def _case(street, unit=None, city="Springfield", state="IL", zip="62701") -> tuple:
    return (street, unit, city, state, zip)


def cases(*rows):
    """Register parametrize rows whose first item(s) are inputs of ``a``."""
    for row in rows:
        args = row if isinstance(row, tuple) else (row,)
        _PENDING.add(_case(args[0]))
        if len(args) > 1 and (args[1] is None or isinstance(args[1], str)):
            _PENDING.add(_case(args[0], args[1]))
    return list(rows)


def a(street, unit=None, city="Springfield", state="IL", zip="62701"):
    return _std(_case(street, unit, city, state, zip))


def key(street, unit=None, zip="62701"):
    return a(street, unit, zip=zip)["a_key"]


def test_r10_pub28_full_example_same_delivery_point():
    assert key("123 North Main Street Apartment 4") == key("123 N MAIN ST APT 4")
    assert key("123 N. Main St., Apt. 4") == "123|N MAIN ST|4|62701"
    assert key("123 N MAIN ST APT 4") != key("123 N MAIN ST APT 5")


@pytest.mark.parametrize("raw, street", cases(
    ("1 Main Street", "MAIN ST"), ("1 Oak Avenue", "OAK AVE"),
    ("1 Sunset Boulevard", "SUNSET BLVD"),
    ("1 Elm Av", "ELM AVE"), ("1 Pine Drive", "PINE DR"), ("1 Lake Parkway", "LAKE PKWY"),
    ("1 Rose Lane", "ROSE LN"), ("1 Mill Road", "MILL RD"), ("1 Hill Court", "HILL CT"),
    ("1 Bay Circle", "BAY CIR"), ("1 Park Place", "PARK PL"), ("1 Elm Terrace", "ELM TER"),
    ("1 Old Turnpike", "OLD TPKE"), ("1 Fox Crossing", "FOX XING"), ("1 Pine Heights", "PINE HTS"),
    ("1 Cedar Expressway", "CEDAR EXPY"), ("1 Green Trail", "GREEN TRL"),
))
def test_r10_street_suffixes_pub28_c1(raw, street):
    assert a(raw)["a_street"] == street


@pytest.mark.parametrize("raw, street", cases(
    ("10 North Main St", "N MAIN ST"), ("10 Northeast Oak Ave", "NE OAK AVE"),
    ("10 Main St South", "MAIN ST S"), ("10 SW 5th Ave", "SW 5TH AVE"),
    ("10 E Capitol St NE", "E CAPITOL ST NE"), ("10 Main North", "MAIN N"),
))
def test_r10_directionals_pre_and_post(raw, street):
    assert a(raw)["a_street"] == street


@pytest.mark.parametrize("raw, street, name", cases(
    ("500 N St", "N ST", "N"),
    ("500 N St NW", "N ST NW", "N"),
    ("500 North Street", "N ST", "N"),
    ("500 N Main St", "N MAIN ST", "MAIN"),
    ("500 East St", "E ST", "E"),
))
def test_r24_directional_as_street_name_stays_a_name(raw, street, name):
    r = a(raw)
    assert (r["a_street"], r["a_street_name"]) == (street, name)


@pytest.mark.parametrize("street, unit", cases(
    ("123 Main St Apt 4", None), ("123 Main St Apartment 4", None), ("123 Main St #4", None),
    ("123 Main St # 4", None), ("123 Main St Unit 4", None), ("123 Main St Ste 4", None),
    ("123 Main St Suite 4", None), ("123 Main St", "Apt. 4"), ("123 Main St", "#4"),
    ("123 Main St", "4"), ("123 Main St", "APT 04"), ("123 Main St, Apt 4", None),
    ("123 Main St Rm 4", None), ("123 Main St Lot 4", None), ("123 Main St Spc 4", None),
    ("123 Main St Trlr 4", None), ("123 Main St Bldg 4", None), ("123 Main St 4", None),
))
def test_r24_unit_designators_move_to_a_unit(street, unit):
    r = a(street, unit)
    assert (r["a_number"], r["a_street"], r["a_unit"]) == ("123", "MAIN ST", "4")


def test_r24_units_with_letters_and_floors():
    assert a("9 Elm St Apt 4-B")["a_unit"] == "4B"
    assert a("9 Elm St", "Apt 4B")["a_unit"] == "4B"
    assert a("9 Elm St Apt B")["a_unit"] == "B"
    assert a("9 Elm St 2nd Floor")["a_unit"] == "2"
    assert a("9 Elm St Rear")["a_unit"] == "REAR"
    assert a("9 Elm St", "Basement")["a_unit"] == "BSMT"
    assert a("9 Elm St")["a_unit"] is None


@pytest.mark.parametrize("raw", cases("12 Fifth Ave", "12 5th Ave", "12 5 Ave", "12 FIFTH AVENUE"))
def test_r10_ordinal_street_names(raw):
    r = a(raw)
    assert (r["a_street"], r["a_street_name"]) == ("5TH AVE", "5TH")


@pytest.mark.parametrize("raw, name", cases(
    ("1 First St", "1ST"), ("1 Second St", "2ND"), ("1 Third St", "3RD"), ("1 Eleventh St", "11TH"),
    ("1 Twenty First St", "21ST"), ("1 Twenty-Second St", "22ND"), ("1 112 St", "112TH"),
    ("1 21 St", "21ST"), ("1 13 St", "13TH"),
))
def test_r10_spelled_out_and_bare_ordinals(raw, name):
    assert a(raw)["a_street_name"] == name


@pytest.mark.parametrize("raw, street", cases(
    ("100 Highway 66", "HWY 66"), ("100 Hwy 66", "HWY 66"), ("100 US Highway 101", "US HWY 101"),
    ("100 U.S. Hwy 101 S", "US HWY 101 S"), ("100 State Route 1", "SR 1"), ("100 SR 1", "SR 1"),
    ("100 County Road 12", "CR 12"), ("100 CR 12", "CR 12"), ("100 Co Rd 12", "CR 12"),
    ("100 Farm to Market Road 1960", "FM 1960"), ("100 Interstate 95", "I 95"),
    ("100 I-95", "I 95"), ("100 State Highway 71", "STATE HWY 71"),
))
def test_r10_highway_forms(raw, street):
    r = a(raw)
    assert r["a_street"] == street and r["a_number"] == "100"


def test_r10_highway_number_is_not_a_unit():
    assert a("100 US Hwy 66")["a_unit"] is None


@pytest.mark.parametrize("raw", cases("P.O. Box 12", "PO Box 12", "POST OFFICE BOX 12", "PO BX 12",
                                   "P O Box 12", "Box 12", "POB 12", "PO Box #12", "p.o. box 0012"))
def test_r9_po_boxes(raw):
    r = a(raw)
    assert (r["a_po_box"], r["a_street"], r["a_number"]) == ("12", "PO BOX 12", None)
    assert r["a_key"] == "|PO BOX 12||62701"


@pytest.mark.parametrize("raw", cases("RR 2 Box 15", "Rural Route 2 Box 15", "R.R. 2, Box 15",
                                   "Route 2 Box 15", "RR 2 BX 15"))
def test_r9_rural_routes(raw):
    r = a(raw)
    assert (r["a_po_box"], r["a_street"]) == ("15", "RR 2 BOX 15")


def test_r9_highway_contract_route():
    assert a("HC 65 Box 300")["a_street"] == "HC 65 BOX 300"


@pytest.mark.parametrize("raw, number", cases(
    ("123A Main St", "123A"), ("123-A Main St", "123A"), ("12-14 Main St", "12-14"),
    ("123 1/2 Main St", "123 1/2"),
))
def test_r10_house_number_forms(raw, number):
    r = a(raw)
    assert r["a_number"] == number and r["a_street"] == "MAIN ST"


def test_r10_zip_plus4_state_and_city():
    r = a("1 Main St", None, "St. Louis", "Missouri", "63101-1234")
    assert (r["a_zip5"], r["a_state"], r["a_city"]) == ("63101", "MO", "SAINT LOUIS")
    assert a("1 Main St", None, "San José", "ca", "950021234")["a_zip5"] == "95002"
    assert a("1 Main St", None, "X", "CA", "9500")["a_zip5"] is None
    assert a("1 Main St", None, "X", "CA", "ABCDE")["a_zip5"] is None


def test_r10_no_street_gives_null_key():
    r = a(None)
    assert r["a_key"] is None and r["a_street"] is None


def test_r10_accents_and_case_in_street():
    assert key("12 Calle Peñasco") == key("12 CALLE PENASCO")


@pytest.mark.parametrize("raw, street", cases(
    ("1 Fox Crssing", "FOX XING"), ("1 Elk Prarie", "ELK PR"), ("1 Bay Causway", "BAY CSWY"),
    ("1 Oak Strave", "OAK STRA"), ("1 Moon Cresent", "MOON CRES"), ("1 Moon Crecent", "MOON CRES"),
    ("1 Moon Crscnt", "MOON CRES"), ("1 Elk Plaines", "ELK PLNS"), ("1 Elm Height", "ELM HTS"),
    ("1 Elm Hgts", "ELM HTS"), ("1 Rose Lanes", "ROSE LN"), ("1 Rose La", "ROSE LN"),
    ("1 Old Trpk", "OLD TPKE"), ("1 Old Tpk", "OLD TPKE"), ("1 Oak Pk", "OAK PARK"),
    ("1 Mill Ck", "MILL CRK"), ("1 Mill Cr", "MILL CRK"), ("1 Hill Crt", "HILL CT"),
    ("1 Fox Havn", "FOX HVN"), ("1 Deer Tr", "DEER TRL"),
))
def test_r10_r24_every_pub28_c1_common_suffix_spelling(raw, street):
    """Pub 28 C1 lists these as commonly used spellings of a suffix: the standard one."""
    assert a(raw)["a_street"] == street


def test_r24_common_suffix_spellings_keep_the_street_type_apart():
    """A spelling of one suffix never turns into another suffix (ST vs CT: R24)."""
    assert key("1 Hill Crt") != key("1 Hill Cir") and key("1 Mill Cr") != key("1 Mill Cir")
    assert key("1 Oak Pk") != key("1 Oak Pl") and key("1 Deer Tr") != key("1 Deer Ter")


@pytest.mark.parametrize("raw, street", cases(
    ("10 North-East Oak Ave", "NE OAK AVE"), ("10 North East Oak Ave", "NE OAK AVE"),
    ("10 N E Oak Ave", "NE OAK AVE"), ("10 N. E. Oak Ave", "NE OAK AVE"),
    ("10 N.E. Oak Ave", "NE OAK AVE"), ("10 Oak Ave South-West", "OAK AVE SW"),
    ("10 Oak Ave South West", "OAK AVE SW"), ("10 Oak Ave S W", "OAK AVE SW"),
    ("10 Oak South-East", "OAK SE"), ("10 North-West 5th St", "NW 5TH ST"),
    ("10 S-E Oak Ave", "SE OAK AVE"), ("10 US Hwy 1 North East", "US HWY 1 NE"),
))
def test_r10_r24_two_word_and_hyphenated_directionals(raw, street):
    """NORTHEAST, NORTH EAST, NORTH-EAST, N E and N.E. are the one directional NE."""
    assert a(raw)["a_street"] == street


@pytest.mark.parametrize("raw, street, name", cases(
    ("10 North East St", "N E ST", "E"), ("10 N East St", "N E ST", "E"),
    ("10 South West Ave NE", "S W AVE NE", "W"), ("10 N E", "N E", "N"),
))
def test_r24_two_directional_words_before_a_bare_suffix_stay_a_name(raw, street, name):
    """NORTH EAST ST is East Street, north: the pair is glued only when a name follows."""
    r = a(raw)
    assert (r["a_street"], r["a_street_name"]) == (street, name)


def test_r24_hyphenated_directional_keeps_number_unit_and_direction_exact():
    """The hyphen of a directional is not the hyphen of 12-14 or of unit 4-B, and the
    pair is its own directional: NE is neither N, E nor SE (R24)."""
    r = a("12-14 North-East Oak Ave Apt 4-B")
    assert (r["a_number"], r["a_street"], r["a_unit"]) == ("12-14", "NE OAK AVE", "4B")
    keys = {key(s) for s in ("10 North-East Oak Ave", "10 South-East Oak Ave",
                             "10 North Oak Ave", "10 East Oak Ave", "10 North-West Oak Ave")}
    assert len(keys) == 5


@pytest.mark.parametrize("street, unit", cases(
    ("123 Main St Stop 4", None), ("123 Main St", "Stop 4"), ("123 Main St Hangar 4", None),
    ("123 Main St", "Hanger 4"), ("123 Main St Hngr 4", None), ("123 Main St", "Key 4"),
    ("123 Main St Pier 4", None), ("123 Main St", "Slip 4"), ("123 Main St Space 4", None),
    ("123 Main St", "Trailer 4"), ("123 Main St Dept 4", None), ("123 Main St", "Lot #4"),
))
def test_r24_every_pub28_c2_designator_with_a_number_moves_to_a_unit(street, unit):
    r = a(street, unit)
    assert (r["a_number"], r["a_street"], r["a_unit"]) == ("123", "MAIN ST", "4")


@pytest.mark.parametrize("street, unit, want", cases(
    ("9 Elm St Penthouse 2", None, "PH2"), ("9 Elm St", "PH 2", "PH2"),
    ("9 Elm St Ph2", None, "PH2"), ("9 Elm St", "Basement 1", "BSMT1"),
    ("9 Elm St Rear 1", None, "REAR1"), ("9 Elm St Front", None, "FRNT"),
    ("9 Elm St", "Front", "FRNT"), ("9 Elm St Side", None, "SIDE"),
    ("9 Elm St", "Lower", "LOWR"), ("9 Lower Mill Rd", None, None),
))
def test_r24_designators_that_stand_alone_keep_their_name(street, unit, want):
    """PENTHOUSE 2 is PH 2 and not the 2 of APT 2; a street word after one (LOWER MILL RD)
    is no unit number."""
    assert a(street, unit)["a_unit"] == want
    assert key("9 Elm St Penthouse 2") != key("9 Elm St Apt 2")
