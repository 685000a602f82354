"""This code's comparison levels, as Splink writes them: what a stored model is checked
against (a model trained by another version would have its levels read with the wrong
meaning) and what a scored pair's evidence numbers are labelled with.

Splink makes them from :func:`taxgate.matching.model.comparisons` (and is imported for
it) once per process, unless the host's kept copy is given first
(:func:`taxgate.matching.kept_predict.use_kept_comparisons`).
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from taxgate.errors import StoreError
from taxgate.matching.model import comparisons

__all__ = ["check_model", "comparison_dicts", "comparison_dicts_made", "level_labels",
           "use_comparison_dicts"]


def level_labels() -> dict[str, tuple[str, ...]]:
    """Per comparison (its output column), the labels of its levels (null level aside)
    from the highest gamma down to 0: what a scored pair's evidence numbers mean."""
    return dict(_level_labels())


_DICTS: list[tuple[dict[str, Any], ...]] = []  # this process's, once made or given


def comparison_dicts() -> tuple[dict[str, Any], ...]:
    """This code's comparisons as Splink writes them for DuckDB, made once per process
    (Splink parses every level's SQL to build one: with its import, about 0.2 s), unless
    the host's kept copy was given first (:func:`use_comparison_dicts`)."""
    if not _DICTS:
        _DICTS.append(tuple(comp.get_comparison("duckdb").as_dict() for comp in comparisons()))
    return _DICTS[0]


def comparison_dicts_made() -> bool:
    """Whether this process has its comparisons already (made or given)."""
    return bool(_DICTS)


def use_comparison_dicts(dicts: tuple[dict[str, Any], ...]) -> None:
    """Take ``dicts`` as :func:`comparison_dicts`: what Splink wrote for this very code,
    kept by the host under a digest of it (:mod:`taxgate.matching.kept_predict`), so a
    process whose predict is kept never imports Splink. Ignored once this process has
    its own."""
    if not _DICTS:
        _DICTS.append(tuple(dicts))


@cache
def _level_labels() -> dict[str, tuple[str, ...]]:
    """:func:`level_labels`, built once per process (the comparisons are this code's)."""
    labels = {}
    for d in comparison_dicts():
        labels[d["output_column_name"]] = tuple(
            lv["label_for_charts"] for lv in d["comparison_levels"]
            if not lv.get("is_null_level"))
    return labels


def _levels(comparison: dict[str, Any]) -> tuple[Any, ...]:
    """What a comparison decides with: its name and, per level, label, SQL and tf column."""
    return (comparison.get("output_column_name"), tuple(
        (lv.get("label_for_charts"), lv.get("sql_condition"), bool(lv.get("is_null_level")),
         lv.get("tf_adjustment_column"))
        for lv in comparison.get("comparison_levels", [])))


@cache
def _code_levels() -> list[tuple[Any, ...]]:
    """This code's comparisons as :func:`_levels` gives them (built once per process)."""
    return [_levels(d) for d in comparison_dicts()]


def check_model(model_json: str) -> None:
    """Refuse a stored model whose comparisons or levels are not this code's (it was
    trained by another version): its levels would be read with the wrong meaning."""
    try:
        stored = [_levels(c) for c in json.loads(model_json).get("comparisons", [])]
    except (ValueError, AttributeError, TypeError):
        stored = []
    if stored != _code_levels():
        raise StoreError("the stored model's comparison levels do not match this version of "
                         "taxgate: train it again (`taxgate model train` retrains on the "
                         "stored filings)")
