"""R23, R24: a nickname the name tables list for a given name agrees as directly as its
first reading; the product's nickname table draws on a second public source; a request
without its unit weighs the building by its share of the filings.

Level scans run the model's own first-name levels on the inputs
``matching.duckdb._input_view`` computes (real DuckDB, the product's tables), as
``test_name_variants_rules`` does.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from test_matching_r24 import _f, _req, build_world
from test_name_variants_rules import first_name_levels
from test_names_agree import _outcomes, decide
from world_cache import trained_once

from taxgate.matching import model
from taxgate.settings import Policy
from taxgate.standardize import build_nickname_table

# (full name, nickname) pairs the table lists, none as the nickname's first reading:
# KATHY is first KATHERINE's, KENNY is ambiguous, CATHIE is listed as KATHY is.
LISTED = [("KATHLEEN", "KATHY"), ("KENNETH", "KENNY"), ("CATHLEEN", "CATHIE"),
          ("KATHRYN", "KATE")]


def test_r24_a_listed_nickname_agrees_at_its_own_level():
    """KATHY for KATHLEEN, KENNY for KENNETH, CATHIE for CATHLEEN (R24): the nickname
    table's own pair, not its first reading, agrees at the "listed nickname" level, both
    ways, above the weaker tie of two nicknames of one third name."""
    levels = first_name_levels(LISTED + [(b, a) for a, b in LISTED])
    assert set(levels.values()) == {"listed nickname"}, levels
    labels = [lv["label_for_charts"] for lv in
              model.comparisons()[0].get_comparison("duckdb").as_dict()["comparison_levels"]]
    assert labels.index("listed nickname") < labels.index("nickname variant")


def test_r23_listed_nickname_is_a_namesake_level_and_keeps_opposite_sexes_apart():
    """Another taxpayer at the address whose given name is a listed nickname of the
    request's competes however far behind it scores (R23), and a listed pair of opposite
    sexes a letter or an ending apart (ANDREW/ANDREA, LOUIS/LOUISE) still agrees at no
    level."""
    assert "listed nickname" in Policy().namesake_first_levels
    apart = [("ANDREA", "ANDREW"), ("LOUISE", "LOUIS"), ("JOSEPHINE", "JOSEPH")]
    levels = first_name_levels(apart + [(b, a) for a, b in apart])
    assert set(levels.values()) == {"else"}, levels


def _nickname_rows() -> list[dict[str, str]]:
    with (Path(build_nickname_table.DATA) / "name_nickname_en.csv").open(newline="") as fh:
        return list(csv.DictReader(fh))


def test_r24_second_public_source_adds_hypocorisms_the_first_lacks():
    """JEREMY for JEREMIAH, STAN for STANLEY (R24): the nicknames package lacks them; the
    second public source (corp-names, its version recorded per row) lists them, so the
    pair agrees at the listed-nickname level. Its pairs share their full name's initial
    (a second opinion never joins names of two initials, which the contradicting-name
    rule keeps apart) and never become a nickname's first reading."""
    second = [r for r in _nickname_rows() if r["source"].startswith("corp-names ")]
    assert {"JEREMY": "JEREMIAH"}.items() <= {r["variant"]: r["canonical"]
                                               for r in second}.items()
    assert all(r["variant"][0] == r["canonical"][0] and r["is_primary"] == "N"
               for r in second)
    levels = first_name_levels([("JEREMIAH", "JEREMY"), ("JEREMY", "JEREMIAH")])
    assert set(levels.values()) == {"listed nickname"}, levels


def test_nickname_table_is_the_build_script_output():
    """The committed table is what ``build_nickname_table`` writes from the pinned sources."""
    rows = [tuple(r.values()) for r in _nickname_rows()]
    assert rows == build_nickname_table.build_rows()


# One taxpayer alone in a building; another among forty neighbours in one building.
SURNAMES = ["OKONKWO", "ABERNATHY", "VANDERMEULEN", "KOWALCZYK", "ESTERHAZY", "MBEKI",
            "LINDGREN", "QUISPE", "NAKAMURA", "OYELARAN"]
BUILDING = [
    _f("000000301", "ROSALIND", None, "TREMBLAY", "1970-02-03", "70 Quetzal St", "Apt 1", 2024),
    _f("000000302", "ROSALIND", None, "ACHTERBERG", "1970-02-03", "80 Quetzal St", "Apt 41",
       2024),
    *[_f(f"0000004{i:02d}", "WALTER", None, SURNAMES[i % 10], None, "80 Quetzal St",
         f"Apt {i + 1}", 2024) for i in range(40)],
]


@pytest.fixture(scope="module")
def building_world(tmp_path_factory: pytest.TempPathFactory):
    tmp = tmp_path_factory.mktemp("building")
    with trained_once(tmp_path_factory):
        return build_world(tmp, BUILDING), tmp


def test_r24_a_missing_unit_weighs_the_building_by_its_share_of_filings(building_world):
    """A request that gives no unit meets its taxpayer at the "same building" level (R24:
    a unit missing on one side); that evidence is worth as much as the building is rare
    among the filings, as the delivery point's is: the building of 41 filings weighs
    about log2(41) bits less than the building of one, and both still confirm with the
    taxpayer's date of birth."""
    out = decide(building_world, [
        _req("alone", "ROSALIND", "TREMBLAY", "70 Quetzal St", dob="1970-02-03"),
        _req("crowded", "ROSALIND", "ACHTERBERG", "80 Quetzal St", dob="1970-02-03"),
    ])
    alone, crowded = out["alone"]["evidence"], out["crowded"]["evidence"]
    assert alone["levels"]["address"] == crowded["levels"]["address"] == 4  # same building
    gap = alone["weights"]["address"] - crowded["weights"]["address"]
    assert 4.0 < gap < 6.5, gap
    assert _outcomes(out) == {"alone": "CONFIRMED", "crowded": "CONFIRMED"}
