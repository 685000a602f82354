"""Decisions: candidate taxpayers + address of record -> CONFIRMED / NOT_CONFIRMED / REVIEW.

A person link is not an address verification. For each lawful request record:

1. Candidates are taxpayers (TINs) with a person-match probability of at least
   T_low (policy.review_match_probability) on any of their filings, and no veto: a
   TIN given in the request that differs, or a date of birth that disagrees with
   every date of birth the taxpayer filed (a day/month swap still agrees).
2. The taxpayer's *address of record* (contract §3) is the address on the most
   recently processed filing whose tax_year is among the request's taxable periods.
3. The submitted address *is* that address when both name the same delivery point:
   same house number and street (or the same PO/rural box), the same unit where
   both give one, and the same place (ZIP5, or city and state).
4. CONFIRMED only when exactly one candidate's address of record is the submitted
   address, its probability is at least T_high and it has no disclosure hold (R6).
   Two such candidates (father and son with one name at one address) -> REVIEW
   (policy.review_competitors) or NOT_CONFIRMED; one below T_high -> REVIEW (R23).
   Everything else -> NOT_CONFIRMED, which never says why (R21).

All of it is one DuckDB statement over whole tables (no per-record Python).
"""

from __future__ import annotations

import duckdb

from taxgate.settings import Policy

ADDRESS_OF_RECORD_SQL = """
SELECT tin,
       arg_max(
         struct_pack(a_number, a_street, a_street_name, a_unit, a_po_box,
                     a_zip5, a_city, a_state),
         (processed_date, CASE source WHEN 'F8822' THEN 2 ELSE 1 END, filing_id)
       ) AS aor
FROM filings
WHERE tax_year IN ({periods}) AND tin IN (SELECT DISTINCT tin FROM {candidates})
GROUP BY tin
"""

SAME_DELIVERY_POINT = """
(
  (r.a_po_box IS NOT NULL AND r.a_po_box = o.aor.a_po_box AND r.a_zip5 = o.aor.a_zip5)
  OR (
    r.a_number IS NOT NULL AND r.a_number = o.aor.a_number
    AND (r.a_street = o.aor.a_street
         OR (length(r.a_street_name) >= 6
             AND damerau_levenshtein(r.a_street, o.aor.a_street) <= 1))
    AND (r.a_unit IS NULL OR o.aor.a_unit IS NULL OR r.a_unit = o.aor.a_unit)
    AND (r.a_zip5 = o.aor.a_zip5 OR (r.a_city = o.aor.a_city AND r.a_state = o.aor.a_state))
  )
)
"""


def decide(
    con: duckdb.DuckDBPyConnection,
    *,
    requests: str,
    pairs: str,
    periods: list[int],
    policy: Policy,
    out: str,
) -> None:
    """Create ``out`` (row_number, outcome, tin, match_probability, evidence) for every
    row of ``requests`` from the scored ``pairs`` (row_number, filing_id, tin,
    match_probability, evidence)."""
    t_low = float(policy.review_match_probability)
    t_high = float(policy.confirm_match_probability)
    period_list = ", ".join(str(int(p)) for p in periods)
    competitors_outcome = "REVIEW" if policy.review_competitors else "NOT_CONFIRMED"
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE _candidates AS
        WITH per_tin AS (
          SELECT p.row_number, p.tin,
                 max(p.match_probability) AS p,
                 arg_max(p.evidence, p.match_probability) AS evidence,
                 bool_or(p.dob_agrees) AS any_dob_agrees,
                 bool_or(p.dob_disagrees) AS any_dob_disagrees
          FROM {pairs} p GROUP BY p.row_number, p.tin
        )
        SELECT c.*, r.tin AS request_tin
        FROM per_tin c JOIN {requests} r USING (row_number)
        WHERE c.p >= {t_low}
          AND (r.tin IS NULL OR trim(r.tin) = '' OR trim(r.tin) = c.tin)
          AND NOT (c.any_dob_disagrees AND NOT c.any_dob_agrees)
    """)
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE _aor AS
        {ADDRESS_OF_RECORD_SQL.format(periods=period_list, candidates="_candidates")}
    """)
    con.execute("""
        CREATE OR REPLACE TEMP TABLE _holds AS
        SELECT tin, bool_or(coalesce(upper(trim(disclosure_hold)), '') = 'Y') AS held
        FROM filings WHERE tin IN (SELECT DISTINCT tin FROM _candidates) GROUP BY tin
    """)
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE {out} AS
        WITH judged AS (
          SELECT c.row_number, c.tin, c.p, c.evidence,
                 coalesce({SAME_DELIVERY_POINT}, false) AS at_address,
                 coalesce(h.held, false) AS held
          FROM _candidates c
          JOIN {requests} r USING (row_number)
          LEFT JOIN _aor o ON o.tin = c.tin
          LEFT JOIN _holds h ON h.tin = c.tin
        ),
        summary AS (
          SELECT row_number,
                 count(*) FILTER (WHERE at_address) AS n_at_address,
                 arg_max(struct_pack(tin, p, evidence, held), p) FILTER (WHERE at_address)
                   AS best
          FROM judged GROUP BY row_number
        )
        SELECT r.row_number,
               CASE
                 WHEN s.n_at_address IS NULL OR s.n_at_address = 0 THEN 'NOT_CONFIRMED'
                 WHEN s.best.held THEN 'NOT_CONFIRMED'
                 WHEN s.n_at_address >= 2 THEN '{competitors_outcome}'
                 WHEN s.best.p >= {t_high} THEN 'CONFIRMED'
                 ELSE 'REVIEW'
               END AS outcome,
               s.best.tin AS tin,
               s.best.p AS match_probability,
               s.best.evidence AS evidence
        FROM {requests} r LEFT JOIN summary s USING (row_number)
    """)
