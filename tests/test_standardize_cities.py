"""The city table behind R9's "a city of its ZIP's state": the data files read as written,
and every way of writing a listed city's usual words found (taxgate/standardize/cities.py)."""

from __future__ import annotations

import csv
import itertools
from importlib import resources

import duckdb
import pytest

from taxgate.standardize import _data, cities, install

DATA = sorted(p.name for p in resources.files("taxgate").joinpath("data").iterdir()
              if p.name.endswith(".csv"))


@pytest.mark.parametrize("name", DATA)
def test_r9_every_data_file_is_read_field_for_field(name: str) -> None:
    """Each row has exactly its header's fields (a note with an unquoted comma once made a
    row of five fields under a header of three), and reads as ``csv.DictReader`` reads
    it."""
    text = resources.files("taxgate").joinpath("data", name).read_text(encoding="utf-8")
    reference = list(csv.DictReader(text.splitlines()))
    assert all(None not in r and None not in r.values() for r in reference), name
    assert list(_data.rows(name)) == reference


def _by_definition(city: str) -> list[str]:
    """The variants as the module's docstring defines them: every combination of the
    words' forms, the first ``_MAX_VARIANTS``, the name itself first when not among them."""
    forms = cities._word_forms()
    out = [" ".join(v) for v in itertools.islice(
        itertools.product(*[forms.get(w, (w,)) for w in city.split()]), cities._MAX_VARIANTS)]
    return out if city in out else [city, *out]


def test_r9_a_city_with_no_word_to_rewrite_is_itself_and_the_others_all_their_forms() -> None:
    """For every listed city, and for spacing and words the list does not hold, the
    variants are the definition's (the shortcut for names with no such word included)."""
    names = [r["city"] for r in (*_data.rows("city_state.csv"),
                                 *_data.rows("city_state_extra.csv"))]
    names += ["NORTH  LAS VEGAS", " N LAS VEGAS", "LAS  VEGAS", "", "X"]
    assert [cities.city_variants(c) for c in names] == [_by_definition(c) for c in names]
    assert {"NORTH LAS VEGAS", "N LAS VEGAS"} <= set(cities.city_variants("N LAS VEGAS"))
    assert sum(len(cities.city_variants(c)) > 1 for c in names) > 1000  # rewrites happen


def test_r9_the_city_table_knows_short_and_long_forms_and_only_in_their_state() -> None:
    con = duckdb.connect()
    install(con)

    def known(city: str, state: str) -> bool:
        return bool(con.execute("SELECT city_known(?, ?)", [city, state]).fetchone()[0])

    assert known("N LAS VEGAS", "NV") and known("North Las Vegas", "NV")
    assert known("Queens", "NY") and known("St. Louis", "MO") and known("Saint Louis", "MO")
    assert not known("Queens", "CA") and not known("North Las Vegas", "ME")
