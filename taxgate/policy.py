"""Decisions: candidate taxpayers + address of record -> CONFIRMED / NOT_CONFIRMED / REVIEW.

A person link is not an address verification. For each lawful request record:

0. Persons, not TINs (R25): an ITIN and an SSN with the same first name and first
   surname, the ITIN's last tax year before the SSN's first, a date of birth in
   common and no full double surname that differs, and neither with another such
   partner, are one person (the holder got an SSN). Such a pair without a shared
   date of birth (one side never gave it) is only a *possible successor* when it
   shares an address or a double surname, or the SSN begins within two years (the
   policy's ``successor_gap_years``) of the ITIN's end in the state it left, nearby
   or as the only such partner of either, or in any state as the only such partner
   of both anywhere (:mod:`taxgate.persons`): never merged, it can only
   withhold a confirmation (step 4). Only the TINs whose name key the scored pairs
   touch are looked at.
1. Candidates are persons with a scored pair (any of their filings) and no veto: a
   TIN given in the request that is none of the person's TINs, or a date of birth
   that disagrees with every date of birth the person filed (a day/month swap
   still agrees). A TIN or DOB only corroborates a name: only pairs whose given
   name agrees at some level count, and a person with none is no candidate
   (``_GIVEN_AGREES``: a contradicting given name, or surname + address alone).
2. The person's *address of record* (contract §3) is the address on the most
   recently processed filing, over all their TINs, whose tax_year is among the
   request's taxable periods.
3. The submitted address *is* that address when both name the same delivery point
   (:mod:`taxgate.delivery_point`): the same house number, directionals, street type
   and ZIP5 (or the same PO/rural box), the same unit where both give one, and the same
   street name, or one misspelled within the policy where the filings name no other
   street that near in the ZIP.
4. The best candidate is the highest-weight one at the submitted address whose
   probability is at least T_low or whose name is compatible. CONFIRMED only when
   it is the only candidate person there (counting every namesake there — exact
   name, nickname, JUAN/JOHN, initial, swapped order: RODRIGUEZ for RODRIGUEZ-PENA,
   the first-name levels of ``policy.namesake_first_levels`` — however low its score,
   and anyone else within ``policy.clear_winner_bits``), passes the checks every
   CONFIRMED passes (:func:`taxgate.confirm.confirmable`: no disclosure hold on any
   linked TIN (R6), any possible successor agrees, the agency's safeguards are
   current (R7)), every other candidate person anywhere scores at least
   ``policy.clear_winner_bits`` lower, and its probability is at least T_high (R23:
   nothing is confirmed below T_high without two people).
   A second candidate (father and son of one name at one address, no DOB) ->
   NOT_CONFIRMED, or REVIEW where ``policy.review_competitors`` says so; a best at
   T_low or above but below T_high -> REVIEW (R23). Every REVIEW carries its reasons
   for the desk (:mod:`taxgate.review_reasons`) in the evidence, never in a response.
   Everything else -> NOT_CONFIRMED, which never says why (R21).

All of it is a few DuckDB statements over whole tables (no per-record Python). The
evidence of each decision (the winning pair's per-field levels and weights, the
runner-up's weight) goes to the store with the decision, never into a response.
"""

from __future__ import annotations

import duckdb

from taxgate.confirm import confirmable
from taxgate.errors import BadInput
from taxgate.persons import PERSONS_SQL, create_successors
from taxgate.review_reasons import require_review
from taxgate.settings import Policy
from taxgate.stage_table import ScoredPairs, StageTable, materialize

# First-name levels at which another person at the address is a namesake of the
# request however far behind it scores (``policy.namesake_first_levels``): the name as
# written could be theirs (exact, a nickname, JUAN/JOHN, an initial, given and family
# name swapped). A person met only through a typo or one shared name of a compound
# given name (MARIA ROSA / ROSA) is a competitor only when it scores within
# ``policy.clear_winner_bits`` of the best.

# A TIN or a date of birth corroborates a name, never replaces one (R17, R23): a pair
# counts for its person only when the request's given name agrees with the filing's at
# some level of the model (exact, nickname, compound given name, typo, swapped order,
# cross-language, initial). A person none of whose pairs does (a contradicting given
# name, or none given on either side: surname + address alone) is no candidate, however
# well the TIN, the date of birth, the surname or the address agree. Which spellings are
# distinct names rather than typos is the model's (policy
# ``established_given_name_min_count``, docs/matching.md).
_GIVEN_AGREES = "p.first_name_level > 0"

# Ties are broken on values, never on the order rows happen to arrive in, so the same
# request gives the same decision (and the same TIN in the ledger) every time: a pair by
# weight, then TIN, then evidence; a person by weight, then person id.
_PAIR_ORDER = "(p.match_weight, p.tin, p.evidence)"


def _gammas(pairs: ScoredPairs, comparison: str, labels: tuple[str, ...]) -> list[int]:
    """Splink's gamma (level number in the evidence) of the named levels of a comparison,
    as the matching stage scored ``pairs``."""
    levels = pairs.levels[comparison]
    unknown = sorted(set(labels) - set(levels))
    if unknown:
        raise BadInput(f"the policy names {comparison} levels the model does not have: "
                       f"{', '.join(unknown)}")
    top = len(levels) - 1
    return [top - i for i, label in enumerate(levels) if label in labels]


def decide(
    con: duckdb.DuckDBPyConnection,
    *,
    requests: StageTable,
    pairs: ScoredPairs,
    periods: list[int],
    policy: Policy,
    safeguards_current: bool,
    out: str,
) -> StageTable:
    """Table ``out`` (row_number, outcome, tin, match_probability, evidence) for every
    row of ``requests`` from the scored ``pairs`` (:func:`taxgate.matching.duckdb.score`).
    ``safeguards_current``: the requesting agency's safeguards status (R7)."""

    t_low = float(policy.review_match_probability)
    t_high = float(policy.confirm_match_probability)
    bits = float(policy.clear_winner_bits)
    competitors_outcome = "REVIEW" if policy.review_competitors else "NOT_CONFIRMED"
    strong = ", ".join(str(g) for g in _gammas(pairs, "first_name",
                                               policy.namesake_first_levels))
    same_zip = min(_gammas(pairs, "address", ("same ZIP",)))
    req, prs = requests.name, pairs.name
    create_successors(con, prs, policy, "_successors")
    con.execute("CREATE OR REPLACE TEMP TABLE _persons AS "
                + PERSONS_SQL.format(pairs=prs, successors="_successors"))
    con.execute("CREATE OR REPLACE TEMP TABLE _candidates AS "
                + _candidates_sql(requests=req, pairs=prs, persons="_persons",
                                  strong=strong))
    confirmable(con, requests=req, candidates="_candidates", persons="_persons",
                successors="_successors", periods=periods,
                safeguards_current=safeguards_current, policy=policy, out="_checks")
    why = _review_reasons_sql(t_low, t_high, bits)
    decided = materialize(
        con, out, _decided_sql(requests=req, candidates="_candidates", checks="_checks",
                               t_low=t_low, t_high=t_high, bits=bits, same_zip=same_zip,
                               competitors_outcome=competitors_outcome, why=why))
    for table in ("_successors", "_persons", "_candidates", "_checks"):
        con.execute(f"DROP TABLE IF EXISTS {table}")  # free the memory for what follows
    return decided


def _candidates_sql(*, requests: str, pairs: str, persons: str, strong: str) -> str:
    """Per request row and person, the best pair whose given name agrees (R23: the name
    must agree; a TIN or DOB only corroborates), keeping persons the request's TIN and
    DOB do not contradict. ``strong``: the first-name levels that make a namesake."""
    return f"""
        WITH per_person AS (
          SELECT p.row_number, s.person_id,
                 max(p.match_probability) FILTER (WHERE {_GIVEN_AGREES}) AS p,
                 max(p.match_weight) FILTER (WHERE {_GIVEN_AGREES}) AS w,
                 -- the best pair's TIN and evidence, from one pass over the pairs
                 arg_max({{'tin': p.tin, 'evidence': p.evidence}}, {_PAIR_ORDER})
                   FILTER (WHERE {_GIVEN_AGREES}) AS best,
                 coalesce(bool_or(p.name_compatible) FILTER (WHERE {_GIVEN_AGREES}), false)
                   AS name_compatible,
                 coalesce(bool_or(p.name_compatible AND p.first_name_level IN ({strong}))
                          FILTER (WHERE {_GIVEN_AGREES}), false) AS namesake,
                 max(p.address_level) FILTER (WHERE {_GIVEN_AGREES}) AS address_level,
                 bool_or({_GIVEN_AGREES}) AS given_agrees,
                 bool_or(p.dob_agrees) AS any_dob_agrees,
                 bool_or(p.dob_disagrees) AS any_dob_disagrees
          FROM {pairs} p JOIN {persons} s ON s.tin = p.tin
          GROUP BY p.row_number, s.person_id
        )
        SELECT c.* EXCLUDE (given_agrees, best), c.best.evidence, c.best.tin
        FROM per_person c JOIN {requests} r USING (row_number)
        -- the request's TIN, when it is one of the person's (one row at most: distinct)
        LEFT JOIN (SELECT DISTINCT tin, person_id FROM {persons}) rt
          ON rt.tin = trim(r.tin) AND rt.person_id = c.person_id
        WHERE c.given_agrees
          AND (r.tin IS NULL OR trim(r.tin) = '' OR rt.tin IS NOT NULL)
          AND NOT (c.any_dob_disagrees AND NOT c.any_dob_agrees)
"""


def _decided_sql(*, requests: str, candidates: str, checks: str, t_low: float,
                 t_high: float, bits: float, same_zip: int, competitors_outcome: str,
                 why: str) -> str:
    """The outcome of every request row from its candidates and their checks: the best
    candidate at the address, competitors within ``bits`` (R23), T_high / T_low (R24)."""
    ranked = _ranked_ctes(candidates=candidates, checks=checks, t_low=t_low, bits=bits,
                          same_zip=same_zip)
    return f"""
{ranked}
        decided AS (
          SELECT r.row_number, s.best, s.n_at_address, s.zip_namesakes, u.w2,
                 CASE
                   WHEN s.n_at_address IS NULL OR s.n_at_address = 0 THEN 'NOT_CONFIRMED'
                   WHEN NOT s.best.confirmable THEN 'NOT_CONFIRMED'
                   WHEN s.n_at_address >= 2 THEN '{competitors_outcome}'
                   WHEN u.w2 IS NOT NULL AND s.best.w - u.w2 < {bits}
                     THEN '{competitors_outcome}'
                   WHEN s.best.p >= {t_high} THEN 'CONFIRMED'
                   WHEN s.best.p >= {t_low} THEN 'REVIEW'
                   ELSE 'NOT_CONFIRMED'
                 END AS outcome
          FROM {requests} r LEFT JOIN summary s USING (row_number)
          LEFT JOIN runner_up u USING (row_number)
        )
        SELECT row_number, outcome,
               best.tin AS tin,
               best.p AS match_probability,
               CASE WHEN best IS NOT NULL THEN
                 json_merge_patch(best.evidence, json_object(
                   'runner_up_weight', round(w2, 3),
                   'candidates_at_address', n_at_address,
                   'namesakes_in_zip', zip_namesakes,
                   'disclosure_hold', best.held,
                   'review_reasons', CASE WHEN outcome = 'REVIEW' THEN {why} END))
               END AS evidence
        FROM decided
"""


def _ranked_ctes(*, candidates: str, checks: str, t_low: float, bits: float,
                 same_zip: int) -> str:
    """The CTEs ``judged`` (candidates with their checks), ``top`` (the best at the
    address), ``summary`` (how many compete with it) and ``runner_up`` (the next weight)."""
    return f"""
        WITH judged AS (
          SELECT c.row_number, c.person_id, c.tin, c.p, c.w, c.evidence, c.name_compatible,
                 c.namesake, c.address_level,
                 c.any_dob_agrees AND c.any_dob_disagrees AS dob_conflict,
                 k.at_address, k.confirmable, k.held
          FROM {candidates} c
          JOIN {checks} k USING (row_number, person_id)
        ),
        top AS (
          SELECT row_number,
                 arg_max(struct_pack(tin, p, w, evidence, person_id, name_compatible,
                                    confirmable, dob_conflict, held), (w, person_id))
                   FILTER (WHERE at_address AND (p >= {t_low} OR name_compatible)) AS best
          FROM judged GROUP BY row_number
        ),
        summary AS (
          SELECT j.row_number, any_value(t.best) AS best,
                 count(*) FILTER (WHERE j.at_address AND (j.namesake OR (
                     (j.p >= {t_low} OR j.name_compatible)
                     AND j.w >= t.best.w - {bits}))) AS n_at_address,
                 count(*) FILTER (WHERE j.person_id <> t.best.person_id AND j.name_compatible
                                  AND j.address_level >= {same_zip}) AS zip_namesakes
          FROM judged j JOIN top t USING (row_number)
          WHERE t.best IS NOT NULL
          GROUP BY j.row_number
        ),
        runner_up AS (
          SELECT j.row_number, max(j.w) AS w2
          FROM judged j JOIN summary s USING (row_number)
          WHERE s.best IS NOT NULL AND j.person_id <> s.best.person_id
          GROUP BY j.row_number
        ),
"""


def _review_reasons_sql(t_low: float, t_high: float, bits: float) -> str:
    """The codes (:mod:`taxgate.review_reasons`) of why a REVIEW row of ``decided`` is
    held, as a DuckDB list expression."""
    conditions = (
        ("CANDIDATES_AT_ADDRESS", "n_at_address >= 2"),
        ("CLOSE_RUNNER_UP", f"n_at_address < 2 AND w2 IS NOT NULL AND best.w - w2 < {bits}"),
        ("SCORE_BETWEEN_THRESHOLDS", f"best.p >= {t_low} AND best.p < {t_high}"),
        ("CONFLICTING_IDENTIFIER", "best.dob_conflict"),
    )
    items = ", ".join(f"CASE WHEN coalesce({cond}, false) THEN '{require_review(code)}' END"
                      for code, cond in conditions)
    return f"list_filter([{items}], x -> x IS NOT NULL)"
