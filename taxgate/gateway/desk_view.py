"""What a disclosure officer sees of one REVIEW record, made readable.

- :func:`candidates` finds the record's candidate taxpayers in a stable order (the
  model's best match first, then the others at the address by TIN), so a page shows
  them the same way on every load.
- :func:`evidence_chart` turns the model's evidence (Splink's level numbers and match
  weights per compared field) into rows a person reads without knowing Splink: the
  field, how far it agrees in words, and the weight for or against the match.
- :func:`taxpayer_values` lists the names and addresses of the record and its
  candidates, which an officer's note may not repeat (R34,
  :func:`taxgate.review_reasons.note_problem`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import duckdb

_FIELDS = {"first_name": "given name", "surname": "family name", "dob": "date of birth",
           "address": "address", "suffix": "suffix (Jr, Sr)",
           "middle_initial": "middle initial", "tin": "TIN"}
_LEVEL_WORDS = {"exact": "the same", "null": "not given on one side",
                "else": "different"}
RAW_FIELDS = ("first_name", "middle_name", "last_name", "street_address", "unit", "city",
              "zip")
_REQUEST_RAW = (*RAW_FIELDS, "second_last_name")


_SHOWN = ("n_first", "n_middle_initial", "n_last", "n_suffix", "dob", "a_number", "a_street",
          "a_unit", "a_po_box", "a_city", "a_state", "a_zip5")


@dataclass(frozen=True)
class Candidate:
    label: str
    fields: dict[str, str]  # standardized name/address of the taxpayer's latest filing
    agreement: dict[str, str]  # per field: agrees / differs / missing
    latest_filing: str  # source, tax year, processed date of that filing


def _text(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, list | tuple):
        return " ".join(str(x) for x in v)
    return str(v)


def _agreement(req: dict[str, Any], cand: dict[str, Any]) -> dict[str, str]:
    def cmp(a: Any, b: Any) -> str:
        if not _text(a) or not _text(b):
            return "missing"
        return "agrees" if _text(a) == _text(b) else "differs"

    req_sur, cand_sur = set(req.get("n_surnames") or []), set(cand.get("n_surnames") or [])
    return {
        "given name": cmp(req.get("n_first_canon"), cand.get("n_first_canon")),
        "family name": ("missing" if not req_sur or not cand_sur
                        else "agrees" if req_sur & cand_sur else "differs"),
        "date of birth": cmp(req.get("dob"), cand.get("dob")),
        "delivery point": cmp(req.get("a_key"), cand.get("a_key")),
        "ZIP": cmp(req.get("a_zip5"), cand.get("a_zip5")),
    }


def shown(std: dict[str, Any]) -> dict[str, str]:
    """The standardized fields an officer compares, as text."""
    return {k: _text(std.get(k)) for k in _SHOWN}


def candidate(label: str, std: dict[str, Any], filing: dict[str, Any]) -> Candidate:
    """A candidate's latest filing beside the standardized request record."""
    return Candidate(label, shown(filing), _agreement(std, filing),
                     f"{filing.get('source')} {filing.get('tax_year')}, processed "
                     f"{filing.get('processed_date')}")


@dataclass(frozen=True)
class ChartRow:
    """One compared field: how far it agrees and the weight it adds (bits)."""

    field: str
    level: str
    weight: float

    @property
    def direction(self) -> str:
        return "for" if self.weight > 0 else "against" if self.weight < 0 else "neutral"


@dataclass(frozen=True)
class EvidenceChart:
    rows: list[ChartRow]
    total_weight: float | None
    facts: list[tuple[str, str]]  # (what, value) beside the chart, in words

    @property
    def scale(self) -> float:
        """The largest weight shown (bars are drawn relative to it)."""
        return max([abs(r.weight) for r in self.rows] + [1.0])


def _labels(model_json: str | None) -> dict[str, tuple[str, ...]]:
    """Per comparison, its level labels from the highest gamma down to 0."""
    if not model_json:
        return {}
    spec = json.loads(model_json)
    return {c["output_column_name"]: tuple(
        lv.get("label_for_charts", "") for lv in c["comparison_levels"]
        if not lv.get("is_null_level")) for c in spec.get("comparisons", [])}


def _level_words(labels: tuple[str, ...], gamma: int) -> str:
    if gamma < 0:
        return _LEVEL_WORDS["null"]
    if gamma >= len(labels):
        return f"level {gamma}"
    label = labels[len(labels) - 1 - gamma]
    return _LEVEL_WORDS.get(label, label)


def evidence_chart(evidence: dict[str, Any], model_json: str | None) -> EvidenceChart:
    """The evidence of a decision's best match, per compared field, in words."""
    labels = _labels(model_json)
    levels, weights = evidence.get("levels") or {}, evidence.get("weights") or {}
    rows = [ChartRow(_FIELDS.get(comp, comp.replace("_", " ")),
                     _level_words(labels.get(comp, ()), int(levels.get(comp, -1))),
                     float(weights.get(comp) or 0.0))
            for comp in sorted(levels, key=lambda c: list(_FIELDS).index(c)
                               if c in _FIELDS else len(_FIELDS))]
    facts = []
    if evidence.get("runner_up_weight") is not None:
        facts.append(("weight of the next best candidate",
                      f"{float(evidence['runner_up_weight']):+.1f}"))
    if evidence.get("candidates_at_address") is not None:
        facts.append(("candidates at the address that match the person",
                      str(evidence["candidates_at_address"])))
    if evidence.get("namesakes_in_zip") is not None:
        facts.append(("taxpayers of the same name in the ZIP",
                      str(evidence["namesakes_in_zip"])))
    total = evidence.get("match_weight")
    return EvidenceChart(rows, float(total) if total is not None else None, facts)


def candidates(con: duckdb.DuckDBPyConnection, best_tin: str | None, a_key: str | None,
               limit: int = 10) -> list[tuple[str, dict[str, Any]]]:
    """(label, latest filing) of each candidate: the model's best match first, then the
    other taxpayers at the delivery point by TIN (a stable order)."""
    tins: list[str] = [best_tin] if best_tin else []
    if a_key:
        tins += [r[0] for r in con.execute(
            "SELECT DISTINCT tin FROM filings WHERE a_key = ? ORDER BY tin LIMIT ?",
            [a_key, limit]).fetchall() if r[0] not in tins]
    out = []
    for i, tin in enumerate(tins):
        rel = con.execute(
            "SELECT * FROM filings WHERE tin = ? ORDER BY processed_date DESC, filing_id DESC "
            "LIMIT 1", [tin])
        names = [d[0] for d in rel.description]
        row = rel.fetchone()
        if row is None:
            continue
        label = "best match (model)" if i == 0 and best_tin else f"at the address #{i}"
        out.append((label, dict(zip(names, row, strict=True))))
    return out


def taxpayer_values(record: dict[str, Any], filings: list[dict[str, Any]]) -> list[Any]:
    """The names and addresses (as given) of the record and of its candidates."""
    values: list[Any] = [record.get(k) for k in _REQUEST_RAW]
    for f in filings:
        values += [f.get(k) for k in RAW_FIELDS]
    return [v for v in values if v]
