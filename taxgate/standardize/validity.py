"""Address and ZIP validity macros for the statute checks (R9).

Each macro answers one question about a raw street line, so a check can name
the reason it rejects: no street location, a placeholder, a ZIP and nothing
else, an institution without a street. Lists of words are data files.
A non-empty field or a ZIP-like pattern never counts as an address.
"""

from __future__ import annotations

import re

from taxgate.standardize._data import column
from taxgate.standardize._sql import alternation

_BLANK = "street IS NULL OR trim(CAST(street AS VARCHAR)) = ''"


def _placeholder_pattern() -> str:
    """One RE2 pattern over a folded street line: with its numbers dropped, it is a
    phrase of the list or only words of it; or it is XXX or zeros. One full match costs
    a fifth of splitting the line and looking each word up (at 1.28M records 0.28 s
    against 1.51 s, the same answer on every line and on 300,000 generated ones)."""
    phrases = column("addr_placeholders.csv", "placeholder")
    number, word = "[0-9]+", alternation(p for p in phrases if " " not in p)
    each = (f"(?:{number} )*" + f"(?: {number})* ".join(re.escape(t) for t in p.split(" "))
            + f"(?: {number})*" for p in phrases)
    return "|".join([f"(?:{number} )*{word}(?: (?:{number}|{word}))*", *each,
                     "X{2,}( X+)*|0+( 0+)*"]).replace("'", "''")


def validity_macros() -> dict[str, str]:
    """Macro signature -> body."""
    institutions = alternation(column("addr_institution_words.csv", "phrase"))
    return {
        # house number + street name, or a PO box / rural-route box
        "addr_has_street_location(street)": r"""
            coalesce(list_transform([std_fold_addr(street)], lambda fa:
                std_po_box(fa) IS NOT NULL
                OR std_rr_box(fa).box <> ''
                OR list_transform(
                       [std_number_split(list_transform([std_unit_split(fa).street],
                            lambda st: CASE WHEN st <> '' THEN st ELSE fa END)[1])],
                       lambda ns: ns.num <> '' AND regexp_matches(ns.num, '[1-9]')
                                  AND NOT std_is_unit_only(ns.rest))[1])[1], false)
        """,
        # UNKNOWN, N/A, NA NA, DON'T CARE 12345, 00000, XXX ... (numbers ignored); a
        # line of punctuation alone folds to nothing, and is one too
        "addr_is_placeholder(street)": f"""
            CASE WHEN {_BLANK} THEN false ELSE
                coalesce(regexp_full_match(std_fold(street), '{_placeholder_pattern()}'), true) END
        """,
        # the only address-like content is a 5- or 9-digit number (12345, 12345-6789)
        "addr_zip_only(street)": f"""
            CASE WHEN {_BLANK} THEN false ELSE
                coalesce(list_transform([regexp_extract_all(std_fold(street), '[0-9]+')],
                    lambda d: (len(d) = 1 AND length(d[1]) IN (5, 9))
                              OR (len(d) = 2 AND length(d[1]) = 5 AND length(d[2]) = 4))[1], false)
                AND NOT addr_has_street_location(street) END
        """,
        # a detention facility / institution named without a house number and street
        "addr_is_institution(street)": f"""
            CASE WHEN {_BLANK} THEN false ELSE
                coalesce(regexp_matches(std_fold(street), '\\b{institutions}\\b'), false)
                AND NOT addr_has_street_location(street) END
        """,
        # a state as a 2-letter code: codes kept, names looked up (TEXAS -> TX)
        "std_state_code(p_state)": """
            CASE WHEN length(std_fold(p_state)) = 2 THEN std_fold(p_state)
                 ELSE (SELECT s.abbr FROM std_state s WHERE s.name = std_fold(p_state)) END
        """,
        # the ZIP (5 or 9 digits) is a known ZIP5
        "zip_exists(p_zip)": "coalesce(std_zip5(p_zip) IN (SELECT zip5 FROM zip_state), false)",
        # the ZIP is a known ZIP5 of that state (2-letter code or state name)
        "zip_in_state(p_zip, p_state)": """
            EXISTS (SELECT 1 FROM zip_state z
                    WHERE z.zip5 = std_zip5(p_zip) AND z.state = std_state_code(p_state))
        """,
    }
