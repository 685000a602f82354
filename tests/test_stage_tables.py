"""Stages hand each other typed results, and SQL is built whole (issue 13, item 5).

Each stage returns a :class:`taxgate.stage_table.StageTable` (the table it made and its
columns) and the next stage takes that object as a parameter: no stage reads a
temporary table by a name it was not handed, and no SQL text is edited by string
replacement after it is built (values are bound as parameters or rendered once by the
builder).
"""

from __future__ import annotations

import ast
import inspect
import re
from collections import defaultdict
from pathlib import Path

import duckdb
import pytest

from taxgate import matching, policy, standardize, statute
from taxgate.errors import BadInput
from taxgate.matching import duckdb as matching_duckdb
from taxgate.records import REQUEST_COLUMNS
from taxgate.settings import Policy
from taxgate.stage_table import ScoredPairs, StageTable, materialize, table_of

PACKAGE = Path(__file__).resolve().parents[1] / "taxgate"
_NAME = re.compile(r"\b_tg_[a-z0-9_]+")

# Reads by name that remain, each with the step that removes it (none: the publish step
# takes the decisions and the records it is handed).
KNOWN_READS: set[tuple[str, str]] = set()
KNOWN_UNNAMED_ONCE: set[str] = set()

# `?` placeholders rewritten to psycopg's `%s` by the PostgreSQL store's executor (the
# store's dialect, issue 13 item 7); no stage edits SQL.
KNOWN_REPLACES = {"store/postgres.py"}
_SQL_NAMES = re.compile(r"sql|select|query|statement", re.IGNORECASE)


def _modules() -> dict[str, str]:
    return {p.relative_to(PACKAGE).as_posix(): p.read_text(encoding="utf-8")
            for p in sorted(PACKAGE.rglob("*.py"))}


def test_each_stage_table_name_is_spelled_only_in_the_module_that_names_it():
    """A temporary table is named by one module; every other reaches it through the
    StageTable that module's stage returned."""
    where: dict[str, set[str]] = defaultdict(set)
    for module, text in _modules().items():
        for name in set(_NAME.findall(text)):
            where[name].add(module)
    shared = sorted((n, sorted(ms)) for n, ms in where.items()
                    if len({m for m in ms if (m, n) not in KNOWN_READS}) > 1)
    assert not shared, f"temporary tables spelled in more than one module: {shared}"


def test_the_pipeline_spells_each_table_name_once():
    """The orchestrator names each stage's table once and hands the object on, so a
    stage's input is always the StageTable the previous stage returned."""
    repeated = []
    for module, text in _modules().items():
        if not module.startswith("pipeline/") or module in KNOWN_UNNAMED_ONCE:
            continue
        names = _NAME.findall(text)
        repeated += sorted({(module, n) for n in names if names.count(n) > 1})
    assert not repeated, f"table names spelled more than once: {repeated}"


def _replace_calls(text: str) -> list[tuple[int, str]]:
    """``X.replace(...)`` calls that edit SQL: on a value named like SQL text, or
    replacing a ``$placeholder``."""
    found = []
    for node in ast.walk(ast.parse(text)):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and node.func.attr == "replace" and node.args):
            continue
        root = node.func.value
        while isinstance(root, ast.Call) and isinstance(root.func, ast.Attribute):
            root = root.func.value  # a chain: sql.replace(...).replace(...)
        first = node.args[0]
        placeholder = (isinstance(first, ast.Constant) and isinstance(first.value, str)
                       and first.value.startswith("$"))
        named_sql = isinstance(root, ast.Name) and bool(_SQL_NAMES.search(root.id))
        if placeholder or named_sql:
            found.append((node.lineno, ast.unparse(node)[:60]))
    return found


def test_sql_is_never_edited_by_string_replacement():
    """SQL is built whole by its builder; parameters are bound ($name, ?) or rendered
    once when it is built, never substituted into finished text."""
    edits = [(m, line, code) for m, text in _modules().items() if m not in KNOWN_REPLACES
             for line, code in _replace_calls(text)]
    assert not edits, f"SQL edited by str.replace: {edits}"


def test_the_replace_scan_finds_an_edit():
    """The scan above is not blind: it sees the edits it forbids."""
    assert len(_replace_calls('sql = sql.replace("$created", d).replace("x", "y")')) == 2
    assert len(_replace_calls('s = text.replace("$min_days", "3")')) == 1
    assert _replace_calls('s = name.replace("_", " ")') == []


@pytest.mark.parametrize(
    ("function", "inputs", "returns"),
    [
        (statute.evaluate_records, {"records": "StageTable"}, "StageTable"),
        (matching_duckdb.score, {"requests": "StageTable"}, "ScoredPairs"),
        (policy.decide, {"requests": "StageTable", "pairs": "ScoredPairs"}, "StageTable"),
    ],
)
def test_stages_take_and_return_stage_tables(function, inputs, returns):
    """The statute, matching and policy stages take the tables they read as StageTables
    and return the one they make; the matching stage's pairs carry the comparison levels
    they were scored with, which the policy reads by label (ScoredPairs)."""
    sig = inspect.signature(function)
    assert sig.return_annotation == returns
    for name, kind in inputs.items():
        assert sig.parameters[name].annotation == kind, name


def test_the_policy_reads_levels_from_the_pairs_it_is_handed():
    """The level numbers the policy reads come with the scored pairs, so the policy needs
    nothing from the matching stage's model (issue 13: stages never import each other)."""
    levels = {"first_name": ("exact", "nickname", "else"), "address": ("same ZIP", "else")}
    pairs = ScoredPairs("p", ("row_number",), levels)
    assert policy._gammas(pairs, "first_name", ("exact", "else")) == [2, 0]
    assert policy._gammas(pairs, "address", ("same ZIP",)) == [1]
    with pytest.raises(BadInput, match="levels the model does not have: typo"):
        policy._gammas(pairs, "first_name", ("typo",))


def test_the_spark_engine_returns_what_the_duckdb_engine_returns():
    """Both engines take and return the same typed tables (spark.py imports pyspark only
    inside the function, so its signature is read without starting a JVM)."""
    from taxgate.matching import spark

    duck, other = inspect.signature(matching.score), inspect.signature(spark.score)
    assert other.return_annotation == duck.return_annotation == "ScoredPairs"
    assert other.parameters["requests"].annotation == "StageTable"


def _records(con: duckdb.DuckDBPyConnection, name: str, rows: list[dict]) -> StageTable:
    cols = ", ".join(f'"{c}" VARCHAR' for c in REQUEST_COLUMNS)
    con.execute(f"CREATE TEMP TABLE {name} (row_number BIGINT, {cols})")
    for i, rec in enumerate(rows, start=1):
        con.execute(f"INSERT INTO {name} VALUES (?, {', '.join('?' for _ in REQUEST_COLUMNS)})",
                    [i, *(rec.get(c) for c in REQUEST_COLUMNS)])
    return table_of(con, name)


GOOD = {
    "record_id": "r1", "first_name": "Juan", "last_name": "Mendoza",
    "date_of_birth": "1980-03-04", "street_address": "123 N Main St", "city": "Houston",
    "state": "TX", "zip": "77002", "removal_order_date": "2024-01-15",
    "case_number": "C-1", "officer_id": "O-1",
}


def test_r15_statute_reads_the_table_it_is_handed_and_binds_the_request_date():
    """R15: the statutory checks read whatever table they are handed (not one of a known
    name), return their own with its columns, and the request's created date is bound,
    not pasted into the SQL: a removal order on that date is too recent, one long before
    it is not."""
    con = duckdb.connect()
    standardize.install(con)
    records = _records(con, "anything_at_all", [
        GOOD, {**GOOD, "record_id": "r2", "removal_order_date": "2026-11-20"}])
    checks = statute.evaluate_records(con, records, "my_checks", created="2026-11-20",
                                      policy=Policy())
    assert checks == StageTable("my_checks", ("row_number", "rejections", "holds"))
    sql = statute.record_checks_sql(records, StageTable("k", ()), Policy())
    assert "$created" in sql and "2026-11-20" not in sql
    rows = con.execute(f"SELECT row_number, rejections FROM {checks.name} "
                       "ORDER BY row_number").fetchall()
    assert rows == [(1, []), (2, ["REMOVAL_ORDER_TOO_RECENT"])]
    lawful = materialize(con, "lawful", f"SELECT * FROM {statute.lawful_sql(records, checks)}")
    assert lawful.count(con) == 1 and lawful.columns == records.columns


def test_a_stage_table_names_its_table_and_columns():
    """materialize runs a built statement with bound parameters into the table it names,
    replacing an earlier request's; the result knows its columns and rows."""
    con = duckdb.connect()
    first = materialize(con, "t", "SELECT ?::INTEGER AS a, ?::VARCHAR AS b", [1, "x"])
    again = materialize(con, "t", "SELECT $n::INTEGER AS n", {"n": 7})
    assert first == StageTable("t", ("a", "b"))
    assert again == StageTable("t", ("n",)) and again.count(con) == 1
    assert again.relation(con).fetchall() == [(7,)]
    again.drop(con)
    assert con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = 't'"
                       ).fetchone() == (0,)
