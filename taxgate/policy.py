"""Decisions: candidate taxpayers + address of record -> CONFIRMED / NOT_CONFIRMED / REVIEW.

A person link is not an address verification. For each lawful request record:

0. Persons, not TINs (R25): an ITIN and an SSN whose filings give the same first
   name, first surname and date of birth, and no other TIN does, are one person
   (the holder got an SSN). Only the TINs the scored pairs touch are looked at.
1. Candidates are persons with a scored pair (any of their filings) and no veto: a
   TIN given in the request that is none of the person's TINs, or a date of birth
   that disagrees with every date of birth the person filed (a day/month swap
   still agrees).
2. The person's *address of record* (contract §3) is the address on the most
   recently processed filing, over all their TINs, whose tax_year is among the
   request's taxable periods.
3. The submitted address *is* that address when both name the same delivery point:
   same house number and street (or the same PO/rural box), the same unit where
   both give one, and the same place (ZIP5, or city and state).
4. CONFIRMED only when exactly one candidate's address of record is the submitted
   address (counting every candidate there whose name could be the one written, e.g.
   RODRIGUEZ for RODRIGUEZ-PENA, however low its probability), its probability is at least T_high, it has no disclosure hold (R6), and
   it clearly wins: every other candidate person (wherever their address of record)
   scores at least ``CLEAR_WINNER_BITS`` lower in match weight. A second candidate
   close behind (father and son with one name at one address, no DOB) -> REVIEW
   (policy.review_competitors) or NOT_CONFIRMED; one below T_high but at least
   T_low -> REVIEW (R23). Everything else -> NOT_CONFIRMED, which never says why (R21).

All of it is a few DuckDB statements over whole tables (no per-record Python). The
evidence of each decision (the winning pair's per-field levels and weights, the
runner-up's weight) goes to the store with the decision, never into a response.
"""

from __future__ import annotations

import duckdb

from taxgate.settings import Policy

# Match-weight bits (log2 odds) by which the best candidate at the address must beat
# every other candidate person. 5 bits: the runner-up is at most 1/32 as likely.
CLEAR_WINNER_BITS = 5.0

# One ITIN and one SSN sharing first name, first surname and DOB: one person (R25).
PERSONS_SQL = """
WITH touched AS (SELECT DISTINCT tin FROM {pairs}),
keys AS (
  SELECT DISTINCT n_first, n_surname1, dob FROM filings
  WHERE dob IS NOT NULL AND n_first IS NOT NULL AND n_surname1 IS NOT NULL
    AND tin IN (SELECT tin FROM touched)
),
groups AS (
  SELECT list(DISTINCT f.tin ORDER BY f.tin) AS tins
  FROM filings f JOIN keys k USING (n_first, n_surname1, dob)
  GROUP BY f.n_first, f.n_surname1, f.dob
),
links AS (
  SELECT tins[1] AS a, tins[2] AS b FROM groups
  WHERE len(tins) = 2 AND (left(tins[1], 1) = '9') <> (left(tins[2], 1) = '9')
),
itin_ssn AS (
  SELECT CASE WHEN left(a, 1) = '9' THEN a ELSE b END AS itin,
         CASE WHEN left(a, 1) = '9' THEN b ELSE a END AS ssn
  FROM links
),
unique_links AS (   -- an ITIN or SSN linked to two different partners: no link at all
  SELECT itin, ssn FROM itin_ssn
  WHERE itin IN (SELECT itin FROM itin_ssn GROUP BY itin HAVING count(DISTINCT ssn) = 1)
    AND ssn IN (SELECT ssn FROM itin_ssn GROUP BY ssn HAVING count(DISTINCT itin) = 1)
)
SELECT DISTINCT itin AS tin, ssn AS person_id FROM unique_links
UNION ALL SELECT DISTINCT ssn, ssn FROM unique_links
UNION ALL SELECT t.tin, t.tin FROM touched t
  WHERE t.tin NOT IN (SELECT itin FROM unique_links UNION ALL SELECT ssn FROM unique_links)
"""

ADDRESS_OF_RECORD_SQL = """
SELECT p.person_id,
       arg_max(
         struct_pack(a_number, a_street, a_street_name, a_unit, a_po_box,
                     a_zip5, a_city, a_state),
         (processed_date, CASE source WHEN 'F8822' THEN 2 ELSE 1 END, filing_id)
       ) AS aor
FROM filings f JOIN {persons} p ON p.tin = f.tin
WHERE tax_year IN ({periods}) AND p.person_id IN (SELECT DISTINCT person_id FROM {candidates})
GROUP BY p.person_id
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
    con.execute(f"CREATE OR REPLACE TEMP TABLE _persons AS {PERSONS_SQL.format(pairs=pairs)}")
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE _candidates AS
        WITH per_person AS (
          SELECT p.row_number, s.person_id,
                 max(p.match_probability) AS p,
                 max(p.match_weight) AS w,
                 arg_max(p.evidence, p.match_weight) AS evidence,
                 arg_max(p.tin, p.match_weight) AS tin,
                 bool_or(p.name_compatible) AS name_compatible,
                 bool_or(p.dob_agrees) AS any_dob_agrees,
                 bool_or(p.dob_disagrees) AS any_dob_disagrees
          FROM {pairs} p JOIN _persons s ON s.tin = p.tin
          GROUP BY p.row_number, s.person_id
        )
        SELECT c.*
        FROM per_person c JOIN {requests} r USING (row_number)
        WHERE (r.tin IS NULL OR trim(r.tin) = ''
               OR trim(r.tin) IN (SELECT s.tin FROM _persons s WHERE s.person_id = c.person_id))
          AND NOT (c.any_dob_disagrees AND NOT c.any_dob_agrees)
    """)
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE _aor AS
        {ADDRESS_OF_RECORD_SQL.format(periods=period_list, candidates="_candidates",
                                      persons="_persons")}
    """)
    con.execute("""
        CREATE OR REPLACE TEMP TABLE _holds AS
        SELECT s.person_id, bool_or(coalesce(upper(trim(f.disclosure_hold)), '') = 'Y') AS held
        FROM filings f JOIN _persons s ON s.tin = f.tin
        WHERE s.person_id IN (SELECT DISTINCT person_id FROM _candidates)
        GROUP BY s.person_id
    """)
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE {out} AS
        WITH judged AS (
          SELECT c.row_number, c.person_id, c.tin, c.p, c.w, c.evidence, c.name_compatible,
                 coalesce({SAME_DELIVERY_POINT}, false) AS at_address,
                 coalesce(h.held, false) AS held
          FROM _candidates c
          JOIN {requests} r USING (row_number)
          LEFT JOIN _aor o ON o.person_id = c.person_id
          LEFT JOIN _holds h ON h.person_id = c.person_id
        ),
        summary AS (
          SELECT row_number,
                 count(*) FILTER (WHERE at_address AND (p >= {t_low} OR name_compatible))
                   AS n_at_address,
                 arg_max(struct_pack(tin, p, w, evidence, held, person_id), w)
                   FILTER (WHERE at_address AND p >= {t_low}) AS best
          FROM judged GROUP BY row_number
        ),
        runner_up AS (
          SELECT j.row_number, max(j.w) AS w2
          FROM judged j JOIN summary s USING (row_number)
          WHERE s.best IS NOT NULL AND j.person_id <> s.best.person_id
          GROUP BY j.row_number
        )
        SELECT r.row_number,
               CASE
                 WHEN s.n_at_address IS NULL OR s.n_at_address = 0 THEN 'NOT_CONFIRMED'
                 WHEN s.best.held THEN 'NOT_CONFIRMED'
                 WHEN s.n_at_address >= 2 THEN '{competitors_outcome}'
                 WHEN u.w2 IS NOT NULL AND s.best.w - u.w2 < {CLEAR_WINNER_BITS}
                   THEN '{competitors_outcome}'
                 WHEN s.best.p >= {t_high} THEN 'CONFIRMED'
                 ELSE 'REVIEW'
               END AS outcome,
               s.best.tin AS tin,
               s.best.p AS match_probability,
               CASE WHEN s.best IS NOT NULL THEN
                 json_merge_patch(s.best.evidence, json_object(
                   'runner_up_weight', round(u.w2, 3),
                   'candidates_at_address', s.n_at_address))
               END AS evidence
        FROM {requests} r LEFT JOIN summary s USING (row_number)
        LEFT JOIN runner_up u USING (row_number)
    """)
