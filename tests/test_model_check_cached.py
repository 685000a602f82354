"""The stored model is checked against this code's comparisons on every request; the
code's side is built once per process (a long-lived service answers many requests),
and the check refuses a model of other levels whatever was accepted before."""

from __future__ import annotations

import json

import pytest

from taxgate.errors import StoreError
from taxgate.matching import levels, model


def _spec() -> dict:
    return {"comparisons": [c.get_comparison("duckdb").as_dict() for c in model.comparisons()]}


def test_a_model_of_other_levels_is_refused_after_a_good_one_was_accepted():
    good = json.dumps(_spec())
    levels.check_model(good)
    other = _spec()
    other["comparisons"][0]["comparison_levels"][2]["label_for_charts"] = "renamed"
    with pytest.raises(StoreError, match="comparison levels do not match"):
        levels.check_model(json.dumps(other))
    levels.check_model(good)
    assert levels._code_levels.cache_info().currsize == 1  # built once, not per request


def test_level_labels_are_the_codes_and_a_caller_cannot_change_them():
    labels = levels.level_labels()
    spec = _spec()["comparisons"]
    assert list(labels) == [c["output_column_name"] for c in spec]
    labels.clear()
    assert len(levels.level_labels()) == len(spec)
