"""What each policy value of :class:`taxgate.settings.Policy` means and which requirement
it serves: the source of docs/policy.md (a test holds them equal)."""

from __future__ import annotations

POLICY_DOCS: dict[str, str] = {
    "min_days_after_removal_order": "R15: days that must pass after the removal order (or "
    "the judicial review date) before created_at; the request must come strictly later",
    "officer_record_cap": "R5: most records of one request that may name one officer",
    "max_records_per_request": "R18: most records one request may hold",
    "max_records_file_bytes": "R18: largest records file accepted, in bytes",
    "created_at_max_age_days": "R1: days created_at may lie before receipt (a replay of "
    "identical bytes is answered from the store whatever its age)",
    "created_at_max_skew_minutes": "R1: minutes created_at may lie after receipt (clock skew)",
    "max_taxable_periods": "R11: most tax years one request may name",
    "allowed_legal_authorities": "R12: accepted legal_authority values",
    "allowed_criminal_statutes": "R12: designated non-tax federal criminal statutes",
    "min_reason_words": "R13: fewest distinct words a specific reason must have",
    "hold_single_word_names": "R8: put a one-word name before a disclosure officer (REVIEW)",
    "confirm_match_probability": "R23: person-match probability at or above which a "
    "unique candidate may be CONFIRMED (T_high)",
    "review_match_probability": "R23: probability at or above which a candidate counts "
    "(T_low): a lone one between T_low and T_high goes to REVIEW",
    "review_competitors": "R23: REVIEW (true) or NOT_CONFIRMED (false, the default) when "
    "two taxpayers both match the person and the address, or one scores within "
    "clear_winner_bits of the best",
    "clear_winner_bits": "R23: match-weight bits (log2 odds) by which the best candidate "
    "must beat every other candidate person to be CONFIRMED",
    "successor_gap_years": "R25: most tax years between an ITIN's last filing and a "
    "same-name SSN's first, in the state the ITIN left (or anywhere, as each other's only "
    "such partner), for the two to be possibly one "
    "person (which withholds a confirmation of the ITIN's address)",
    "namesake_first_levels": "R23: first-name levels at which another taxpayer at the "
    "address competes with the best however far behind it scores",
    "street_name_max_edits": "R24: most edits (Damerau-Levenshtein) by which a street name "
    "may be misspelled and still name the address of record; 0: names must be exact",
    "street_name_min_length_for_edits": "R24: shortest street name (both sides) that the "
    "spelling tolerance applies to; never below 3 (N and S are directionals, not typos)",
    "established_given_name_min_count": "R23: SSA births (all years, both sexes; "
    "given_names.csv keeps 500 or more) at or above which a given-name spelling is "
    "established: two established names a letter apart are two names, not a typo",
    "given_name_sex_dominance": "R23: how many times more SSA births of one sex than of "
    "the other make a given name that sex's: two established names of opposite sex a "
    "letter or an ending apart (ANDREW/ANDREA) are never nicknames or variants of each other",
    "hypocorism_min_letters": "R23: fewest letters of a full given name a clipped form must "
    "keep (MEL of MELANIE, KEN of KENNY) for the two to agree as a hypocorism",
    "evidence_retention_days": "R3, R30, R40: days the signed manifest and records file of "
    "an answered request are kept (sealed) for evidence and re-checks",
    "certification_due_days": "R32: days after a request's last disclosure by which its "
    "agency must certify that the data was returned or destroyed",
    "block_overdue_certifications": "R32: refuse new requests from an agency with an "
    "overdue return/destroy certification (CERTIFICATION_OVERDUE); off by default",
    "alert_refused_signatures": "R39: refusals whose signature did not verify, within "
    "alert_window_minutes, that raise an incident alert; 0: never",
    "alert_window_minutes": "R39: the window refused signatures are counted in",
    "public_report_min_cell": "R29: instance and taxpayer counts below this (but above 0) "
    "are suppressed in the public report; 0 or 1: none",
}
