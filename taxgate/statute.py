"""The legal rules, one small rule per requirement, each yielding a reason code.

Request-level rules (R7, R11, R12, R13, R18) are plain functions of the manifest.
Record-level rules (R4, R5, R8, R9, R14, R15, R17, contract §2) are SQL boolean
expressions, true when the record *violates* the rule, evaluated by DuckDB over the
whole request at once (no per-record Python). A record gets every code that applies
(R18); a REJECTED record is never passed on to matching.

The address rules use the macros installed by :func:`taxgate.standardize.install`.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass

import duckdb

from taxgate.errors import RequestRefused
from taxgate.identifiers import install_keys
from taxgate.reasons import require
from taxgate.records import MAX_FIELD_LENGTH, REQUEST_COLUMNS
from taxgate.settings import Policy
from taxgate.stage_table import StageTable, materialize

# --- request-level rules -----------------------------------------------------------------

_YEAR = re.compile(r"^\d{4}$")


def check_legal_authority(value: str, policy: Policy) -> None:
    """R12: the legal authority is on the allow-list (26 U.S.C. 6103(i)(2))."""
    if _norm(value) not in {_norm(v) for v in policy.allowed_legal_authorities}:
        raise RequestRefused("LEGAL_AUTHORITY_NOT_ALLOWED", "legal_authority is not allowed")


def check_criminal_statute(value: str, policy: Policy) -> None:
    """R12: a specifically designated non-tax federal criminal statute."""
    if _norm(value) not in {_norm(v) for v in policy.allowed_criminal_statutes}:
        raise RequestRefused(
            "CRIMINAL_STATUTE_NOT_ALLOWED", "criminal_statute is not on the allow-list"
        )


def check_taxable_periods(periods: object, created_year: int, policy: Policy) -> list[int]:
    """R11: explicit tax years, not empty, not "ALL", not a range, at most the policy's."""
    if not isinstance(periods, list) or not periods:
        raise RequestRefused("TAXABLE_PERIODS_INVALID", "taxable_periods must list tax years")
    years: list[int] = []
    for p in periods:
        if isinstance(p, bool) or not isinstance(p, int) or not _YEAR.match(str(p)):
            raise RequestRefused("TAXABLE_PERIODS_INVALID",
                                 "taxable_periods must hold only explicit years")
        if not 1900 <= p <= created_year:
            raise RequestRefused("TAXABLE_PERIODS_INVALID", "a taxable period is out of range")
        years.append(p)
    if len(set(years)) != len(years):
        raise RequestRefused("TAXABLE_PERIODS_INVALID", "taxable_periods repeats a year")
    if len(years) > policy.max_taxable_periods:
        raise RequestRefused(
            "TAXABLE_PERIODS_INVALID",
            f"taxable_periods names more than {policy.max_taxable_periods} years",
        )
    return sorted(years)


def check_reason(text: str, policy: Policy) -> None:
    """R13: a specific reason; blank, too short or one phrase repeated is refused."""
    words = re.findall(r"[A-Za-zÀ-ÿ0-9]{2,}", text or "")
    if not words:
        raise RequestRefused("REASON_MISSING", "the manifest gives no reason")
    distinct = {w.lower() for w in words}
    repeated = len(words) >= 20 and len(distinct) * 4 < len(words)
    if len(distinct) < policy.min_reason_words or repeated:
        raise RequestRefused("REASON_NOT_SPECIFIC", "the reason is not specific")


def check_request_size(count: int, policy: Policy) -> None:
    """R18 / contract §2: at most the policy's records per request."""
    if count > policy.max_records_per_request:
        raise RequestRefused(
            "REQUEST_TOO_LARGE",
            f"the request holds more than {policy.max_records_per_request} records",
        )


def check_safeguards(current: bool) -> None:
    """R7: no release to an agency whose safeguards status is lapsed."""
    if not current:
        raise RequestRefused("SAFEGUARDS_NOT_CURRENT",
                             "the agency's safeguards status is not current")


def _norm(value: str) -> str:
    return re.sub(r"[\s.]+", " ", (value or "").upper()).strip()


# --- record-level rules -------------------------------------------------------------------


@dataclass(frozen=True)
class RecordRule:
    """A record rule: ``violated`` is a DuckDB boolean expression over one request row."""

    code: str
    requirement: str
    violated: str
    holds_for_review: bool = False  # REVIEW instead of REJECTED
    key: tuple[str, ...] = ()  # the columns it reads alone: see _KEYED_CALLS


def _blank(col: str) -> str:
    return f"(nullif(trim({col}), '') IS NULL)"


def _bad_date(col: str) -> str:
    """Not a real calendar date written exactly YYYY-MM-DD (2024-1-5 is refused)."""
    shape = r"'\d{4}-\d{2}-\d{2}'"
    return (f"(NOT {_blank(col)} AND (NOT regexp_full_match(trim({col}), {shape}) "
            f"OR try_strptime(trim({col}), '%Y-%m-%d') IS NULL))")


def _no_key(col: str) -> str:
    """An identifier with nothing left once invisible characters and spaces are gone."""
    return f"(coalesce({col}_key, '') = '')"


def _date(col: str) -> str:
    return f"CAST(try_strptime(trim({col}), '%Y-%m-%d') AS DATE)"


# R8 [P]: a possible real mononym is written with the FNU/LNU convention (first or last
# name unknown) beside a single word; a blank field is simply a missing name.
_MONONYM = (
    "(upper(trim(first_name)) = 'FNU' AND NOT contains(trim(last_name), ' ') "
    "AND NOT _s_last_placeholder AND upper(trim(last_name)) <> 'LNU') OR "
    "(upper(trim(last_name)) = 'LNU' AND NOT contains(trim(first_name), ' ') "
    "AND NOT _s_first_placeholder AND upper(trim(first_name)) <> 'FNU')"
)
_ANCHOR = f"coalesce({_date('judicial_review_date')}, {_date('removal_order_date')})"
_STREET_OK = "NOT _s_addr_placeholder AND NOT _s_addr_zip_only AND NOT _s_addr_institution"
_STATE = "upper(trim(state))"
_STATE_OK = f"({_STATE} IN (SELECT abbr FROM std_state))"
_CITY_PLACEHOLDER = f"city_is_placeholder(city, {_STATE})"

# Macro calls that several rules make, each evaluated once per record into a column of
# its own (:func:`evaluate_records` computes them first), which the rules read.
_SHARED_CALLS = {
    "_s_street_location": "addr_has_street_location(street_address)",
    "_s_addr_placeholder": "addr_is_placeholder(street_address)",
    "_s_addr_zip_only": "addr_zip_only(street_address)",
    "_s_addr_institution": "addr_is_institution(street_address)",
}
# Calls on columns that many records of a request share (a name, a city and state):
# each evaluated once per distinct value of its key columns, then joined to the
# records, as are the rules with a ``key``, which read their key's columns and calls
# alone (at 1.28M records: 34,000 given names, 73,000 family names, 23,000 cities).
_NAME_KEY, _LAST_KEY, _FULL_NAME_KEY = ("first_name",), ("last_name",), ("first_name", "last_name")
_CITY_KEY, _ZIP_KEY = ("city", "state"), ("zip", "state")
_KEYED_CALLS: dict[str, tuple[tuple[str, ...], str]] = {
    "_s_surname_placeholder": (_LAST_KEY, "surname_is_placeholder(last_name)"),
    "_s_first_placeholder": (_NAME_KEY, "name_is_placeholder(first_name)"),
    "_s_last_placeholder": (_LAST_KEY, "name_is_placeholder(last_name)"),
    "_s_city_placeholder": (_CITY_KEY, _CITY_PLACEHOLDER),
}
_ZIP_FORMAT_OK = r"regexp_full_match(trim(zip), '\d{5}(-?\d{4})?')"
_TOO_LONG = " OR ".join(f"length(coalesce({c}, '')) > {MAX_FIELD_LENGTH}" for c in REQUEST_COLUMNS)
# C0 and C1 control characters and DEL, but tab, LF and CR (RFC 4180 allows line breaks
# in a quoted field; standardization reads them as spaces).
_CONTROL = r"'[\x00-\x08\x0B\x0C\x0E-\x1F\x7F-\x{9F}]'"
# One match over the fields joined by a tab (no control character here): the answer of
# a match per field, in half the time (1.28M records: 0.63 s against 1.2 s)
_HAS_CONTROL = f"regexp_matches(concat_ws(chr(9), {', '.join(REQUEST_COLUMNS)}), {_CONTROL})"


def record_rules(policy: Policy) -> tuple[RecordRule, ...]:
    """Every record rule under ``policy``; ``$created``, ``$min_days`` and ``$officer_cap``
    are parameters of the statement, bound by :func:`record_check_parameters`."""
    return (
        RecordRule("RECORD_ID_MISSING", "contract §2", _no_key("record_id")),
        RecordRule(
            "DUPLICATE_RECORD_ID",
            "contract §2",
            # the canonical key (taxgate.identifiers): "R1", "r1 " and "R1." are one id
            f"(NOT {_no_key('record_id')} "
            "AND count(*) OVER (PARTITION BY record_id_key) > 1)",
        ),
        RecordRule(
            "IDENTIFIER_MIXED_SCRIPT",
            "R5, contract §2",
            "record_id_mixed OR officer_id_mixed OR case_number_mixed",
        ),
        RecordRule(
            "NAME_MISSING",
            "R8",
            f"{_blank('first_name')} OR {_blank('last_name')}",
        ),
        RecordRule(
            "NAME_PLACEHOLDER",
            "R8",
            "(_s_first_placeholder AND upper(trim(first_name)) <> 'FNU') OR "
            "(_s_surname_placeholder AND upper(trim(last_name)) <> 'LNU') OR "
            "name_is_placeholder(concat_ws(' ', first_name, last_name)) OR "
            "name_is_placeholder_words(concat_ws(' ', first_name, last_name)) OR "
            "(upper(trim(first_name)) = 'FNU' AND upper(trim(last_name)) = 'LNU')",
            key=_FULL_NAME_KEY,
        ),
        RecordRule("NAME_SINGLE_WORD", "R8", f"({_MONONYM})", True, _FULL_NAME_KEY),
        RecordRule(
            "ADDRESS_PLACEHOLDER",
            "R9, R17",
            "_s_addr_placeholder OR _s_city_placeholder",
        ),
        RecordRule(
            "ADDRESS_ZIP_ONLY",
            "R9, R17",
            "NOT _s_addr_placeholder AND _s_addr_zip_only",
        ),
        RecordRule(
            "ADDRESS_INSTITUTION",
            "R9",
            "NOT _s_addr_placeholder AND _s_addr_institution",
        ),
        RecordRule(
            "ADDRESS_INCOMPLETE",
            "R9",
            f"({_STREET_OK} AND NOT coalesce(_s_street_location, false))"
            f" OR {_blank('city')} OR {_blank('state')} OR {_blank('zip')}",
        ),
        RecordRule(
            "STATE_INVALID",
            "R9",
            f"NOT {_blank('state')} AND NOT (upper(trim(state)) IN (SELECT abbr FROM std_state))",
            key=_CITY_KEY,
        ),
        RecordRule(
            "ZIP_INVALID",
            "R9",
            f"NOT {_blank('zip')} AND (NOT {_ZIP_FORMAT_OK} OR NOT zip_exists(left(trim(zip), 5)))",
            key=_ZIP_KEY,
        ),
        RecordRule(
            "ZIP_STATE_MISMATCH",
            "R9",
            f"NOT {_blank('zip')} AND {_ZIP_FORMAT_OK} AND zip_exists(left(trim(zip), 5)) "
            f"AND NOT {_blank('state')} AND (upper(trim(state)) IN (SELECT abbr FROM std_state)) "
            "AND NOT zip_in_state(left(trim(zip), 5), upper(trim(state)))",
            key=_ZIP_KEY,
        ),
        RecordRule(
            "CITY_NOT_IN_STATE",
            "R9",
            f"NOT {_blank('city')} AND {_STATE_OK} AND NOT _s_city_placeholder "
            f"AND NOT city_in_state(city, {_STATE})",
            key=_CITY_KEY,
        ),
        RecordRule(
            "DATE_OF_BIRTH_INVALID",
            "contract §2",
            f"{_bad_date('date_of_birth')} OR {_date('date_of_birth')} > $created "
            f"OR {_date('date_of_birth')} < DATE '1900-01-01'",
        ),
        RecordRule(
            "TIN_INVALID",
            "R17",
            rf"NOT {_blank('tin')} AND NOT regexp_full_match(trim(tin), '\d{{9}}')",
        ),
        RecordRule("REMOVAL_ORDER_MISSING", "R14, R15", _blank("removal_order_date")),
        RecordRule("REMOVAL_ORDER_DATE_INVALID", "R14, R15", _bad_date("removal_order_date")),
        RecordRule(
            "JUDICIAL_REVIEW_DATE_INVALID",
            "R14, R15",
            f"{_bad_date('judicial_review_date')} OR "
            f"{_date('judicial_review_date')} < {_date('removal_order_date')}",
        ),
        RecordRule(
            "REMOVAL_ORDER_IN_FUTURE",
            "R15",
            f"{_date('removal_order_date')} > $created "
            f"OR {_date('judicial_review_date')} > $created",
        ),
        RecordRule(
            "REMOVAL_ORDER_TOO_RECENT",
            "R15",
            # R15: accept only when created_at > anchor + N days (day N rejects, N+1 passes)
            f"{_ANCHOR} <= $created AND NOT ($created > {_ANCHOR} + to_days($min_days))",
        ),
        RecordRule("CASE_NUMBER_MISSING", "R4, R5", _no_key("case_number")),
        RecordRule("OFFICER_MISSING", "R4, R5", _no_key("officer_id")),
        RecordRule(
            "OFFICER_CAPACITY",
            "R5",
            # one officer however spelled: counted by the canonical key
            f"NOT {_no_key('officer_id')} AND "
            "count(*) OVER (PARTITION BY officer_id_key) > $officer_cap",
        ),
        RecordRule("FIELD_TOO_LONG", "R37", _TOO_LONG),
        RecordRule("FIELD_CONTROL_CHARACTER", "R37, contract §2", _HAS_CONTROL),
    )


def _verdict(rule: RecordRule) -> str:
    """Whether a record violates ``rule`` (a keyed rule's column: :func:`_keyed_ctes`)."""
    return f'"_r_{rule.code}"' if rule.key else f"coalesce(({rule.violated}), false)"


def _codes(selected: Iterable[RecordRule]) -> str:
    """The codes of the ``selected`` rules a record violates, in order, as a DuckDB list."""
    items = ", ".join(f"CASE WHEN {_verdict(r)} THEN '{r.code}' END" for r in selected)
    return f"list_filter([{items}], x -> x IS NOT NULL)"


_Made = list[tuple[tuple[str, ...], list[str]]]  # per keyed CTE: its key, what it adds


def _joined(made: _Made, to: str, within: tuple[str, ...] | None = None) -> tuple[str, str]:
    """The columns the keyed CTEs of ``made`` add, and their joins to ``to`` on their
    keys (NULL to NULL); only those whose key lies within ``within``, when given."""
    use = [(j, k, c) for j, (k, c) in enumerate(made) if within is None or set(k) < set(within)]
    joins = "".join(f" JOIN _k{j} x{j} ON " + " AND ".join(
        f"{to}.{c} IS NOT DISTINCT FROM x{j}.{c}" for c in k) for j, k, _ in use)
    return "".join(f", x{j}.{c}" for j, _, cols in use for c in cols), joins


def _keyed_ctes(records: str, rules: tuple[RecordRule, ...]) -> tuple[list[str], _Made]:
    """Per key (of :data:`_KEYED_CALLS` and the keyed rules): a CTE ``_k<i>`` of the
    request's distinct values of it, its calls and its rules' verdicts (``_r_<code>``),
    with what the keys within it computed (a name's calls, for a whole name)."""
    keys = sorted({k for k, _ in _KEYED_CALLS.values()} | {r.key for r in rules if r.key},
                  key=lambda k: (len(k), k))
    ctes: list[str] = []
    made: _Made = []
    for i, key in enumerate(keys):
        calls = [f"{call} AS {col}" for col, (k, call) in _KEYED_CALLS.items() if k == key]
        verdicts = [f'coalesce(({r.violated}), false) AS "_r_{r.code}"'
                    for r in rules if r.key == key]
        inherited, joins = _joined(made, "d", key)
        values = (f"SELECT d.*{inherited} FROM (SELECT DISTINCT {', '.join(key)} "
                  f"FROM {records}) d{joins}")
        for added in (calls, verdicts):  # the verdicts may read the calls
            values = f"SELECT *{''.join(', ' + a for a in added)} FROM ({values})"
        ctes.append(f"_k{i} AS ({values})")
        made.append((key, [c.rsplit(" AS ", 1)[1] for c in calls + verdicts]))
    return ctes, made


def record_checks_sql(records: StageTable, keys: StageTable, policy: Policy) -> str:
    """The SELECT of :func:`evaluate_records` (row_number, rejections, holds) over
    ``records`` joined to their identifier ``keys``: the keyed calls and rules once per
    distinct value of their key (:func:`_keyed_ctes`), the shared macro calls once per
    record, then every rule. Built whole; :func:`record_check_parameters` binds it."""
    rules = record_rules(policy)
    for r in rules:
        require(r.code)
    rejects = [r for r in rules if not r.holds_for_review]
    holds = [r for r in rules if r.holds_for_review]
    shared = ", ".join(f"{call} AS {column}" for column, call in _SHARED_CALLS.items())
    ctes, made = _keyed_ctes(records.name, rules)
    columns, joins = _joined(made, "r")
    return f"""
        WITH {', '.join(ctes)}
        SELECT row_number, {_codes(rejects)} AS rejections, {_codes(holds)} AS holds
        FROM (SELECT *, {shared} FROM (
                SELECT r.*, k.* EXCLUDE (row_number){columns}
                FROM {records.name} r JOIN {keys.name} k ON k.row_number = r.row_number
                {joins}))"""


def record_check_parameters(created: str, policy: Policy) -> dict[str, object]:
    """The values the rules name: ``$created`` (the request's created_at date,
    YYYY-MM-DD), ``$min_days`` (R15) and ``$officer_cap`` (R5)."""
    return {
        "created": dt.date.fromisoformat(created),
        "min_days": int(policy.min_days_after_removal_order),
        "officer_cap": int(policy.officer_record_cap),
    }


def evaluate_records(
    con: duckdb.DuckDBPyConnection, records: StageTable, out: str, *, created: str,
    policy: Policy,
) -> StageTable:
    """Table ``out`` (row_number, rejections VARCHAR[], holds VARCHAR[]) of ``records``.

    ``created`` is the request's created_at date (YYYY-MM-DD). Every violated rule's
    code is listed, in the order of :func:`record_rules`. Identifiers are compared by
    their canonical keys (:mod:`taxgate.identifiers`), computed once into ``out_ids``.
    """
    keys = install_keys(con, records.name, f"{out}_ids")
    return materialize(con, out, record_checks_sql(records, keys, policy),
                       record_check_parameters(created, policy))


def lawful_sql(records: StageTable, checks: StageTable) -> str:
    """The rows of ``records`` that no rule rejects or holds (``checks``: the table
    :func:`evaluate_records` made of them), as a subquery: only these are matched."""
    return (f"(SELECT r.* FROM {records.name} r JOIN {checks.name} u USING (row_number) "
            "WHERE len(u.rejections) = 0 AND len(u.holds) = 0)")
