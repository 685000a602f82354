"""One gate for every CONFIRMED, the machine's and a disclosure officer's (R6, R7, R23).

A record may be CONFIRMED for a candidate person only when

- the submitted address names the same delivery point as the person's *address of
  record* (contract §3: the most recently processed filing whose tax_year is among the
  request's taxable periods), and, when the person has a possible successor (R25), as
  the address of record of the two together;
- no filing of any TIN linked to the person carries a disclosure hold (R6): its own
  TINs (an ITIN and the SSN it became) and every possible successor;
- the requesting agency's safeguards status is current (R7).

:func:`confirmable` answers all three for a table of (row_number, person_id) candidates;
:func:`taxgate.policy.decide` calls it for every candidate of a request and
:func:`release_problems` for the one taxpayer a reviewer proposes to confirm, so a
released CONFIRMED passes exactly the checks an automatic one does.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import duckdb

from taxgate import delivery_point, filing_index, standardize
from taxgate.persons import (
    ADDRESS_OF_RECORD_SQL,
    PERSONS_SQL,
    SOFT_LINKS_SQL,
    create_successors,
)
from taxgate.records import REQUEST_COLUMNS
from taxgate.settings import Policy


def _period_list(periods: list[int]) -> str:
    return ", ".join(str(int(p)) for p in periods) or "NULL"


# Up to this many TINs, DuckDB filters the index's rows by them while it scans (it skips
# reading the addresses of the rows around none of them) rather than after: at 10.3M
# filings, a 100-record request's 250 linked TINs read the addresses of 9.8M rows in
# 0.38 CPU seconds instead of 0.62; thousands are near every row, and gain nothing.
_SCAN_FILTER_TINS = 1024


@contextmanager
def _tins_filtered_in_scan(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """Within the block, a join with at most :data:`_SCAN_FILTER_TINS` values on its
    small side also filters the scan of its large side by them (DuckDB's
    ``dynamic_or_filter_threshold``, restored after). The same rows either way."""
    row = con.execute("SELECT current_setting('dynamic_or_filter_threshold')").fetchone()
    before = int(row[0]) if row else 50
    con.execute(f"SET dynamic_or_filter_threshold = {max(before, _SCAN_FILTER_TINS)}")
    try:
        yield
    finally:
        con.execute(f"SET dynamic_or_filter_threshold = {before}")


def confirmable(
    con: duckdb.DuckDBPyConnection,
    *,
    requests: str,
    candidates: str,
    persons: str,
    successors: str,
    periods: list[int],
    safeguards_current: bool,
    policy: Policy,
    out: str,
) -> None:
    """Create ``out`` (row_number, person_id, at_address, successor_agrees, held,
    confirmable) for every (row_number, person_id) of ``candidates``.

    ``requests``: standardized request rows; ``persons`` (tin, person_id) and
    ``successors`` as :data:`taxgate.persons.PERSONS_SQL` and ``create_successors`` make them.
    """
    period_list = _period_list(periods)
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE _cf_linked AS
        WITH s AS ({SOFT_LINKS_SQL.format(successors=successors)}),
        cand AS (SELECT DISTINCT c.person_id, p.tin FROM {candidates} c
                 JOIN {persons} p USING (person_id)),
        partners AS (
          SELECT c.person_id, s.ssn AS other FROM cand c JOIN s ON s.itin = c.tin
          UNION SELECT c.person_id, s.itin FROM cand c JOIN s ON s.ssn = c.tin
        )
        SELECT person_id, other AS tin, true AS soft FROM partners
        WHERE other NOT IN (SELECT tin FROM {persons} p WHERE p.person_id = partners.person_id)
        UNION SELECT person_id, tin, false FROM cand
    """)
    # the addresses of record per tax year in the periods of every TIN linked to a
    # candidate, read from the index once (one pass over it, for both uses below)
    with _tins_filtered_in_scan(con):
        con.execute(f"""
            CREATE OR REPLACE TEMP TABLE _cf_addr AS
            SELECT tin, tax_year, aor, aor_rank FROM {filing_index.ADDRESSES}
            WHERE tax_year IN ({period_list}) AND tin IN (SELECT tin FROM _cf_linked)
        """)
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE _cf_aor AS
        {ADDRESS_OF_RECORD_SQL.format(periods=period_list, candidates=candidates,
                                      persons=persons, addresses="_cf_addr")}
    """)
    # A possible successor: the submitted address must also be the address of record of
    # the two together (R25).
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE _cf_soft AS
        SELECT m.person_id, arg_max(a.aor, a.aor_rank) AS aor
        FROM _cf_addr a JOIN _cf_linked m ON m.tin = a.tin
        WHERE a.tax_year IN ({period_list})
          AND m.person_id IN (SELECT person_id FROM _cf_linked WHERE soft)
        GROUP BY m.person_id
    """)
    # a hold on any filing of a linked TIN: the filing index's per-TIN flag
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE _cf_holds AS
        SELECT m.person_id, bool_or(t.held) AS held
        FROM {filing_index.TINS} t JOIN _cf_linked m ON m.tin = t.tin
        GROUP BY m.person_id
    """)
    # The streets filed in the ZIPs where a street name may be misspelled (R24).
    near_zips = f"""
        SELECT r.a_zip5 FROM (SELECT DISTINCT row_number, person_id FROM {candidates}) c
        JOIN {requests} r USING (row_number)
        JOIN (SELECT person_id, aor FROM _cf_aor UNION ALL SELECT person_id, aor FROM _cf_soft) o
          USING (person_id)
        WHERE {delivery_point.near_spelling("r", "o.aor", policy)}"""
    con.execute("CREATE OR REPLACE TEMP TABLE _cf_streets AS "
                + delivery_point.gazetteer_sql(near_zips, filing_index.STREETS))

    def same(record: str) -> str:
        return delivery_point.same_delivery_point("r", record, policy, "_cf_streets")

    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE {out} AS
        WITH k AS (
          SELECT c.row_number, c.person_id,
                 coalesce({same("o.aor")}, false) AS at_address,
                 so.aor IS NULL OR coalesce({same("so.aor")}, false) AS successor_agrees,
                 coalesce(h.held, false) AS held
          FROM (SELECT DISTINCT row_number, person_id FROM {candidates}) c
          JOIN {requests} r USING (row_number)
          LEFT JOIN _cf_aor o ON o.person_id = c.person_id
          LEFT JOIN _cf_soft so ON so.person_id = c.person_id
          LEFT JOIN _cf_holds h ON h.person_id = c.person_id
        )
        SELECT *, at_address AND successor_agrees AND NOT held
                  AND {str(bool(safeguards_current)).upper()} AS confirmable
        FROM k
    """)
    for table in ("_cf_linked", "_cf_addr", "_cf_aor", "_cf_soft", "_cf_holds", "_cf_streets"):
        con.execute(f"DROP TABLE IF EXISTS {table}")


# What a releaser is told when a proposed CONFIRMED fails a check (no taxpayer value).
PROBLEMS = {
    "at_address": "the submitted address is not the taxpayer's address of record within "
    "the request's taxable periods (contract §3)",
    "successor_agrees": "the submitted address is not the address of record of the "
    "taxpayer and a possible successor TIN together (R25)",
    "held": "a disclosure hold on a TIN linked to the taxpayer forbids confirming (R6)",
    "safeguards": "the requesting agency's safeguards status is not current (R7)",
}


def release_problems(
    con: duckdb.DuckDBPyConnection,
    *,
    record: dict[str, Any],
    tin: str,
    periods: list[int],
    safeguards_current: bool,
    policy: Policy,
) -> list[str]:
    """Why a CONFIRMED of ``record`` for the taxpayer ``tin`` would be unlawful now, in
    words (empty when it is lawful): :func:`confirmable` on the request record as sent
    and the store's filings (``con``: the store's matching connection)."""
    standardize.install(con)
    cols = list(REQUEST_COLUMNS)
    values = ", ".join(f"CAST(? AS VARCHAR) AS {c}" for c in cols)
    con.execute(f"CREATE OR REPLACE TEMP TABLE _cf_raw AS SELECT 1::BIGINT AS row_number, "
                f"{values}", [None if record.get(c) is None else str(record[c]) for c in cols])
    select = standardize.standardized_select_sql("_cf_raw", side="request")
    con.execute(f"CREATE OR REPLACE TEMP TABLE _cf_req AS {select}")
    con.execute("CREATE OR REPLACE TEMP TABLE _cf_touched AS SELECT CAST(? AS VARCHAR) AS tin",
                [tin])
    create_successors(con, "_cf_touched", policy, "_cf_successors")
    con.execute("CREATE OR REPLACE TEMP TABLE _cf_persons AS "
                + PERSONS_SQL.format(pairs="_cf_touched", successors="_cf_successors"))
    con.execute("CREATE OR REPLACE TEMP TABLE _cf_cand AS SELECT 1::BIGINT AS row_number, "
                "person_id FROM _cf_persons WHERE tin = ?", [tin])
    try:
        confirmable(con, requests="_cf_req", candidates="_cf_cand", persons="_cf_persons",
                    successors="_cf_successors", periods=periods,
                    safeguards_current=safeguards_current, policy=policy, out="_cf_checks")
        row = con.execute("SELECT at_address, successor_agrees, held FROM _cf_checks"
                          ).fetchone()
    finally:
        for table in ("_cf_raw", "_cf_req", "_cf_touched", "_cf_successors", "_cf_persons",
                      "_cf_cand", "_cf_checks"):
            con.execute(f"DROP TABLE IF EXISTS {table}")
    at_address, successor_agrees, held = row if row else (False, True, False)
    problems = []
    if not at_address:
        problems.append(PROBLEMS["at_address"])
    elif not successor_agrees:
        problems.append(PROBLEMS["successor_agrees"])
    if held:
        problems.append(PROBLEMS["held"])
    if not safeguards_current:
        problems.append(PROBLEMS["safeguards"])
    return problems
