"""Canonical identifiers and real places (R5, R9, contract §2).

One officer spelled several ways is one officer for the cap (R5); a record id is
unique whatever its invisible characters (contract §2); an id mixing Latin with
Cyrillic or Greek look-alikes is rejected; a placeholder city is no address and a
city must be a place of the given state (R9), written any of the common ways.
"""

from __future__ import annotations

import pytest
from test_statute import reasons

from taxgate.identifiers import canonical_key, is_mixed_script
from taxgate.settings import Policy

FIVE_WAYS = [
    "ERO100000",
    "ERO100000\u00a0",  # a trailing no-break space
    "ERO\u200b100000",  # zero-width space
    "\u0415RO100000",  # Cyrillic capital IE for the E
    "ERO100000.",  # a trailing dot
    "ero100000 ",  # lower case, trailing space
]


def test_r5_one_officer_spelled_five_ways_is_one_officer_for_the_cap():
    recs = [{"officer_id": w} for w in FIVE_WAYS] + [{"officer_id": "ERO200000"}]
    out = reasons(*recs, policy=Policy(officer_record_cap=5))
    assert all("OFFICER_CAPACITY" in r for r, _ in out[:6]), out
    assert "OFFICER_CAPACITY" not in out[6][0]
    # five records of that officer, however spelled, stay within a cap of five
    under = reasons(*[{"officer_id": w} for w in FIVE_WAYS[:5]],
                    policy=Policy(officer_record_cap=5))
    assert not any("OFFICER_CAPACITY" in r for r, _ in under)


def test_r5_the_keys_of_the_five_spellings_agree():
    assert {canonical_key(w) for w in FIVE_WAYS} == {"ero100000"}
    assert canonical_key("ＥＲＯ１") == "ero1"  # full-width forms (NFKC)
    assert canonical_key("ERO\u00ad1") == "ero1"  # soft hyphen
    assert canonical_key("J. SMITH") != canonical_key("J SMITH")  # inner dots are kept
    assert canonical_key("ERO\u00a0\u2003 1") == "ero 1"  # inner spaces collapse to one
    assert canonical_key(None) is None


def test_duplicate_record_ids_are_found_through_invisible_characters():
    """Contract §2: an id repeated with a zero-width space or a trailing dot is repeated."""
    out = reasons({"record_id": "A-7"}, {"record_id": "A-7\u200b"}, {"record_id": "a-7."},
                  {"record_id": "A-8"})
    assert ["DUPLICATE_RECORD_ID" in r for r, _ in out] == [True, True, True, False]


def test_an_id_of_invisible_characters_only_is_missing():
    ((rej, _),) = reasons({"record_id": "\u200b\u00a0", "officer_id": "\u2060"})
    assert {"RECORD_ID_MISSING", "OFFICER_MISSING"} <= set(rej)


@pytest.mark.parametrize("field", ["officer_id", "record_id", "case_number"])
def test_r5_a_mixed_script_id_is_rejected(field):
    ((rej, _),) = reasons({field: "\u0415RO-1"})  # Cyrillic E + Latin
    assert "IDENTIFIER_MIXED_SCRIPT" in rej


def test_single_script_ids_are_not_mixed():
    assert not is_mixed_script("ERO-100000")
    assert not is_mixed_script("Иванов-7")  # all Cyrillic: a real spelling, not a disguise
    assert is_mixed_script("Ivanоv")  # Cyrillic o inside a Latin name
    assert is_mixed_script("ΑBC")  # Greek capital alpha
    ((rej, _),) = reasons({"officer_id": "Иванов-7"})
    assert "IDENTIFIER_MIXED_SCRIPT" not in rej


@pytest.mark.parametrize("city", ["UNKNOWN", "N/A", "NONE", ".", "--", "00000", "XXX",
                                  "Unknown City", "n/a"])
def test_r9_a_placeholder_city_is_rejected(city):
    ((rej, _),) = reasons({"city": city})
    assert "ADDRESS_PLACEHOLDER" in rej, city
    assert "CITY_NOT_IN_STATE" not in rej


@pytest.mark.parametrize("city,state,zip_", [
    ("Fresno", "NY", "10001"),  # a California city given with a New York address
    ("Los Angeles", "TX", "75201"),
    ("Springfeld", "IL", "62701"),  # not a place of Illinois
])
def test_r9_a_city_outside_the_state_is_rejected(city, state, zip_):
    ((rej, _),) = reasons({"city": city, "state": state, "zip": zip_})
    assert rej == ["CITY_NOT_IN_STATE"], rej


@pytest.mark.parametrize("city,state,zip_", [
    ("St. Louis", "MO", "63101"), ("Saint Louis", "MO", "63101"), ("ST LOUIS", "MO", "63101"),
    ("Ft Worth", "TX", "76102"), ("Fort Worth", "TX", "76102"),
    ("Mt. Vernon", "NY", "10550"), ("N Las Vegas", "NV", "89030"),
    ("North Las Vegas", "NV", "89030"), ("McAllen", "TX", "78501"), ("Mc Allen", "TX", "78501"),
    ("Cañon City", "CO", "81212"), ("San José", "CA", "95113"), ("Winston-Salem", "NC", "27101"),
    ("Coeur d'Alene", "ID", "83814"), ("Brooklyn", "NY", "11201"), ("Queens", "NY", "11101"),
    ("San Juan", "PR", "00901"), ("Washington", "DC", "20001"), ("Street", "MD", "21154"),
    ("  fresno ", "CA", "93701"),
])
def test_r9_real_cities_in_their_common_spellings_are_accepted(city, state, zip_):
    ((rej, _),) = reasons({"city": city, "state": state, "zip": zip_})
    assert rej == [], (city, rej)


def test_r2_the_registry_keeps_one_spelling_of_each_agency_and_official(tmp_path):
    """An agency or official registered under a disguised spelling of a registered one
    (invisible character, Cyrillic look-alike, other case) is refused, as is a name
    with invisible characters or mixed scripts; the plain name registers."""
    import datetime as dt

    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from taxgate.canonical import new_data_key, public_key_pem
    from taxgate.domain import Official
    from taxgate.errors import BadInput
    from taxgate.gateway import Gateway
    from taxgate.settings import Settings

    settings = Settings(store=str(tmp_path / "store"), key_hex=new_data_key())
    with Gateway(settings) as gw:
        gw.init()
    pem = public_key_pem(Ed25519PrivateKey.generate().public_key())

    def add(official_id: str, agency: str) -> None:
        with Gateway(settings) as gw:
            gw.add_official(Official(official_id, agency, "Director", pem,
                                     dt.date(2026, 1, 1)), "test")

    add("ice-director", "DHS-ICE")
    add("ice-director", "DHS-ICE")  # the same spelling again is no conflict
    for official_id, agency in [("ice-director", "dhs-ice"), ("ice-director", "DHS-ICE\u200b"),
                                ("ice-director", "DHS-I\u0421E"), ("ice-dir\u0435ctor", "DHS-ICE"),
                                ("ICE-DIRECTOR", "DHS-ICE"), ("x", " DHS-CBP")]:
        with pytest.raises(BadInput):
            add(official_id, agency)
    add("cbp-commissioner", "DHS-CBP")
