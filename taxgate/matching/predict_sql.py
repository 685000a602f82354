"""Splink's predict of one model on one connection: its SQL generated once, then run again.

On every call Splink builds a predict's SQL in Python: every comparison level's SQL
through sqlglot, the columns of its inputs asked of DuckDB, the blocking rules and the
match weights written out. That is about 0.2 s a request, whatever its size, for
statements that depend only on the model (its JSON, the prior in it) and on the names
and columns of the tables they read, which are the same for every chunk of every
request: the input views ``_tg_left`` and ``_tg_right`` (made again for each chunk by
:func:`taxgate.matching.duckdb._input_view`) and the term-frequency tables.

So the first predict of a model on a connection runs through Splink (:func:`record`),
and the statements Splink sends to DuckDB that change something (it drops and creates
its tables; it only reads the catalog otherwise) are recorded. A later predict of the
same model on the same connection runs those statements again (:meth:`Compiled.run`):
the same tables made the same way from the inputs of the moment. A new model, a new
prior (the store's filings changed) or a new connection compiles again.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass

import duckdb

from taxgate.matching.model import (
    DISTINCT_FIRST,
    DOB_ONE_DIGIT,
    FIRST_TYPO,
    FIRST_TYPO_CLOSE,
    REORDERED,
)

_log = logging.getLogger("taxgate.matching")  # "Blocking time" lines: see phases.py
LEFT, RIGHT = "_tg_left", "_tg_right"  # the views a predict reads
REQUESTS, FILINGS = "tg_requests", "tg_filings"  # their names as Splink's source datasets
THRESHOLD_MATCH_WEIGHT = -5  # pairs below this weight are not kept

# Splink's blocking makes this table (its name then a hash); what comes after scores it.
_BLOCKED = re.compile(r"^\s*CREATE TABLE (__splink__blocked_id_pairs_\w+) AS", re.IGNORECASE)
_READS = ("SELECT", "PRAGMA", "DESCRIBE")  # what Splink asks of the catalog

# Splink joins the blocked pairs back to their rows on a text key, the source dataset's
# name, '-__-' and the uid; at 10k records that join was a quarter of the scoring
# statement. Both sides' uids are BIGINTs, so the same pairs join on an integer key
# instead: the uid doubled, plus one for a filing. Every key is made and read inside
# the predict's own statements.
_TEXT_KEY = re.compile(r"\b([lr])\.\"source_dataset\" \|\| '-__-' \|\| \1\.\"uid\"")
_INT_KEY = rf"""(\1."uid" * 2 + CAST(\1."source_dataset" = '{FILINGS}' AS BIGINT))"""


def integer_keys(sql: str) -> str:
    """``sql`` with Splink's text join keys made integer ones (:data:`_TEXT_KEY`); a key
    of another form left behind means this Splink writes its keys otherwise."""
    sql = _TEXT_KEY.sub(_INT_KEY, sql)
    if "'-__-'" in sql:
        raise RuntimeError("Splink's predict joins its pairs on keys this module does not know")
    return sql


@dataclass(frozen=True)
class Compiled:
    """A predict's statements, in order: the first ``blocking`` of them generate the
    candidate pairs; the last makes table ``output``, the scored pairs."""

    statements: tuple[str, ...]
    blocking: int
    output: str

    def run(self, con: duckdb.DuckDBPyConnection, pairs: str | None = None) -> str:
        """Run the predict on ``con`` (the inputs as they are now); the output table.

        ``pairs``: a query of the candidate pairs (``request_uid``, ``filing_uid``) the
        caller has found already, the same pairs the model's blocking rules give. Splink's
        blocking statements are then not run: its table of blocked pairs is made from
        these (:func:`blocked_from`), and the statement after it checks their keys."""
        start = time.perf_counter()
        statements = self.statements
        if pairs is not None:
            made = self.blocking - 1  # Splink's blocking, then the check of its sides
            table = _BLOCKED.match(statements[made - 1])
            if table is None:
                raise RuntimeError("this predict's blocking is not where this module put it")
            statements = (f"DROP TABLE IF EXISTS {table.group(1)}",
                          blocked_from(table.group(1), pairs), *statements[made:])
        blocked_at = self.blocking - (len(self.statements) - len(statements))
        for i, sql in enumerate(statements):
            if i == blocked_at:  # the stage's end (phases.py), however Splink blocked
                _log.info("Blocking time: %.3f seconds", time.perf_counter() - start)
            con.execute(sql)
        return self.output


def blocked_from(table: str, pairs: str) -> str:
    """The statement that makes Splink's table of blocked pairs ``table`` from the query
    ``pairs`` (``request_uid``, ``filing_uid``), keyed as :func:`sides_apart` reads them:
    the filing on the left, each uid keyed as :func:`integer_keys` keys it. (Splink's
    ``match_key``, the number of the first rule a pair meets, is not read after its
    blocking: scoring narrows it away, :func:`narrowed`.)"""
    return (f"CREATE TABLE {table} AS SELECT '0' AS match_key, "
            "CAST(filing_uid AS BIGINT) * 2 + 1 AS join_key_l, "
            f"CAST(request_uid AS BIGINT) * 2 AS join_key_r FROM ({pairs}) AS candidate_pairs")


# Level conditions of the model run in a cheaper form that is true, false or null
# exactly when the condition is (tests/test_predict_cheaper_levels.py); the model, its
# levels and what Splink trains with are unchanged. Most put a test the condition
# implies, cheap where the condition is dear, before it: a scoring CASE stops at the
# test for the pairs that fail it.
#
# DOB_ONE_DIGIT: one edit between two dates written YYYYMMDD (a digit changed, two
# adjacent ones swapped) touches two adjacent characters at most, never the year's and
# the day's both; so a pair whose years and days both differ fails it, and that is seen
# without writing either date out (strftime on both sides of every pair the earlier
# levels leave: the cheaper form took the scoring statement of 200,000 requests to 0.88x
# its CPU). A year outside 1000-9999 is not written in four digits: such a pair is left
# to the condition itself.
_DOB_CHEAPER = ("((year(dob_l) = year(dob_r) OR day(dob_l) = day(dob_r) "
                "OR NOT (year(dob_l) BETWEEN 1000 AND 9999 AND year(dob_r) BETWEEN 1000 AND 9999)) "
                f"AND {DOB_ONE_DIGIT})")

# Two names one edit apart (the typo levels, two names of opposite sex a letter apart):
# ``damerau_levenshtein(a, b) <= 1`` of two name columns. One edit (a letter changed,
# added or dropped, two adjacent ones swapped) spans two adjacent letters at most, so the
# lengths differ by one at most and, with n the shorter length, the first
# (n - 1) // 2 letters or the last n - 1 - (n - 1) // 2 agree: an edit that starts
# inside the first ends before the last begin. Most pairs of different surnames with
# their first letters in common fail that (the surname's CASE of 200,000 requests: 2.3 s
# -> 1.5 s). The test is null exactly when a name is, as the distance is.
_ONE_EDIT = re.compile(r"damerau_levenshtein\((n_\w+_l), (n_\w+_r)\) <= 1")


def _one_edit_cheaper(m: re.Match[str]) -> str:
    a, b = m.groups()
    shorter = f"greatest(least(length({a}), length({b})) - 1, 0)"
    head = f"({shorter} // 2)"
    tail = f"({shorter} - {head})"
    return (f"(abs(length({a}) - length({b})) <= 1 AND (left({a}, {head}) = left({b}, {head}) "
            f"OR right({a}, {tail}) = right({b}, {tail})) AND {m.group(0)})")


# REORDERED: the same surnames in another order. Two lists sorted alike are as long as
# each other and hold each other's first surname; most pairs of different surnames fail
# that without sorting both sides (the level 0.46 s -> 0.20 s on the pairs of 200,000
# requests that reach it). A first surname that is null (or none) is left to the
# condition.
_REORDERED_CHEAPER = ("(len(n_surnames_l) = len(n_surnames_r) AND (n_surnames_l[1] IS NULL "
                      "OR list_contains(n_surnames_r, n_surnames_l[1])) "
                      f"AND {REORDERED})")

# FIRST_TYPO: two given names close, and not two established ones. Most pairs of
# different given names that reach it are two established names: the same conjunction
# with that test first takes them out without a similarity (Kleene's AND is the same
# in either order; the level 0.21 s -> 0.06 s on the pairs of 200,000 requests that
# reach it). Before _ONE_EDIT, which then guards the distance inside it: on short given
# names that test costs about what the distance does, so it pays only on the pairs
# this one lets through.
_FIRST_TYPO_CHEAPER = f"(NOT {DISTINCT_FIRST} AND {FIRST_TYPO_CLOSE})"

# A prefix compared as a prefix: ``left(a, length(b)) = b`` (the hypocorism level: one
# side's stem begins the other's spelling key) is ``starts_with(a, b)``. Both count code
# points, and a code point's UTF-8 bytes begin no other's, so the two agree, null with
# null; starts_with cuts no string to compare it (the level 0.32-0.36 s -> 0.21-0.28 s
# on the pairs of 200,000 requests that reach it).
_LEFT_PREFIX = re.compile(r"\bleft\((\w+), length\((\w+)\)\) = \2\b")

# Each condition as Splink writes it into a statement (matched as text, as _TEXT_KEY is),
# and its cheaper form.
_CHEAPER: tuple[tuple[re.Pattern[str], Callable[[re.Match[str]], str]], ...] = (
    (re.compile(re.escape(DOB_ONE_DIGIT)), lambda _: _DOB_CHEAPER),
    (re.compile(re.escape(REORDERED)), lambda _: _REORDERED_CHEAPER),
    (re.compile(re.escape(FIRST_TYPO)), lambda _: _FIRST_TYPO_CHEAPER),
    (_ONE_EDIT, _one_edit_cheaper),
    (_LEFT_PREFIX, lambda m: f"starts_with({m.group(1)}, {m.group(2)})"),
)


def cheaper_levels(sql: str) -> str:
    """``sql`` with each level condition of :data:`_CHEAPER` in its cheaper form."""
    for written, cheaper in _CHEAPER:
        sql = written.sub(cheaper, sql)
    return sql


# Splink's scored pairs: the table its predict makes (its name then a hash).
_SCORED = re.compile(r"^\s*(CREATE TABLE __splink__df_predict_\w+ AS)\s", re.IGNORECASE)

# Splink's scoring joins each pair to its two rows, each time in one table of both
# datasets' rows. In a link of two datasets its left side is always the dataset of the
# smaller name and its right the other (Splink's _two_dataset_link_only_left_and_right_
# inputs): FILINGS and REQUESTS. Each side read from its own dataset alone builds the
# hash table of the requests' side from a chunk's 200,000 requests, not also its million
# filing variants (4.4-5.2 s -> 4.1-4.9 s a chunk, the same pairs). The statement after
# blocking (:func:`_sided`) fails the predict should Splink ever pair them otherwise.
_SIDES = {"l": (FILINGS, 1), "r": (REQUESTS, 0)}  # side: dataset, its join keys mod 2
_BOTH = re.compile(r"\binner join (__splink__df_concat_with_tf) as ([lr])\b")


def sides_apart(sql: str) -> str:
    """``sql`` with each side of the scoring statement's join read from its own dataset
    (:data:`_SIDES`); other statements are returned as they are."""
    if _SCORED.match(sql) is None:
        return sql
    sided: list[str] = []

    def own(m: re.Match[str]) -> str:
        table, side = m.groups()
        sided.append(side)
        return (f"inner join (SELECT * FROM {table} WHERE source_dataset = "
                f"'{_SIDES[side][0]}') as {side}")

    sql = _BOTH.sub(own, sql)
    if sorted(sided) != sorted(_SIDES):  # each side joined once, as this module knows
        raise RuntimeError("Splink's predict joins its pairs in a way this module does not know")
    return sql


def _sided(blocked: str) -> str:
    """A statement that fails when a pair of table ``blocked`` has a side from the other
    dataset than :func:`sides_apart` reads it from (a filing's join key is odd)."""
    wrong = " OR ".join(f"join_key_{side} % 2 <> {parity}"
                        for side, (_, parity) in _SIDES.items())
    return (f"SELECT error('Splink paired the two datasets otherwise than this module "
            f"reads them') FROM {blocked} WHERE {wrong} LIMIT 1")


def narrowed(sql: str, keep: tuple[str, ...]) -> str:
    """``sql`` with the table of scored pairs made of the columns ``keep`` alone.

    Splink keeps every input column of both sides (lists of names among them) beside
    the levels and weights; the caller reads a few. Writing every column was about a
    seventh of the scoring statement's work; the rows are the same either way. Other
    statements are returned as they are."""
    m = _SCORED.match(sql)
    if m is None or not keep:
        return sql
    cols = ", ".join(f'"{c}"' for c in keep)
    return f"{m.group(1)} SELECT {cols} FROM ({sql[m.end():]}) AS scored"


def record(con: duckdb.DuckDBPyConnection, spec: dict, tf: dict[str, str],
           keep: tuple[str, ...] = ()) -> Compiled:
    """Splink's predict of ``spec`` over the views ``_tg_left`` and ``_tg_right`` with
    the term-frequency tables ``tf`` (column -> table), run on ``con`` now (its output
    table is the answer of this call) and recorded for the next; the scored pairs with
    the columns ``keep`` alone (all when empty, :func:`narrowed`). (Splink is imported
    here, not with this module: a process whose statements are kept never needs it.)"""
    from splink import DuckDBAPI, Linker

    class _Recorder(DuckDBAPI):
        """Splink's DuckDB API; the statements it runs are kept while ``recording`` is a
        list."""

        recording: list[str] | None = None

        def _execute_sql_against_backend(self, final_sql: str) -> duckdb.DuckDBPyRelation:
            if self.recording is not None:
                final_sql = cheaper_levels(sides_apart(narrowed(integer_keys(final_sql), keep)))
                self.recording.append(final_sql)
            made = super()._execute_sql_against_backend(final_sql)
            if (blocked := _BLOCKED.match(final_sql)) is not None:
                con.execute(_sided(blocked.group(1)))
            return made

    db = _Recorder(connection=con)
    left = db.register(LEFT, table_name=REQUESTS)
    right = db.register(RIGHT, table_name=FILINGS)
    # Splink's settings validation only logs warnings (hidden at ERROR) and costs about
    # a second of SQL parsing; the model was checked by check_model.
    linker = Linker([left, right], spec, log_level=logging.ERROR, validate_settings=False)
    db.recording = []
    for col, table in tf.items():
        linker.table_management.register_term_frequency_lookup(db.register(table), col)
    pairs = linker.inference.predict(threshold_match_weight=THRESHOLD_MATCH_WEIGHT,
                                     warning_mode="never")
    recorded, db.recording = db.recording, None
    statements = tuple(s for s in recorded if not s.lstrip().upper().startswith(_READS))
    blocked = [(i, m.group(1)) for i, s in enumerate(statements) if (m := _BLOCKED.match(s))]
    made = re.compile(rf"^\s*CREATE TABLE {re.escape(pairs.physical_name)} AS", re.IGNORECASE)
    if len(blocked) != 1 or sum(1 for s in statements if made.match(s)) != 1:
        raise RuntimeError("Splink's predict ran other statements than this module expects")
    (at, table), = blocked
    at += 1  # then the check that the pairs are sided as the scoring reads them
    statements = (*statements[:at], _sided(table), *statements[at:])
    return Compiled(statements, at + 1, pairs.physical_name)
