"""The SQL conditions of the model's name levels that tell one person's name from two
people's (R23, R24; docs/matching.md). Pairwise over the columns
:func:`taxgate.matching.duckdb._input_view` gives each side (``_l``: request, ``_r``:
filing, or the other way round); :mod:`taxgate.matching.model` orders them into levels.
"""

from __future__ import annotations

# Two spellings that are both established given names (at least the policy's
# established_given_name_min_count SSA births, computed per side as *_established by
# matching.duckdb._input_view) are two names, never one name with a typo (R23):
# JUAN/JUANA, MARIO/MARIA, JOHN/JOAN, MARK/MARY. The fuzzy levels exclude them.
DISTINCT_FIRST = "(n_first_established_l AND n_first_established_r)"

# Two established given names of opposite sex (policy ``given_name_sex_dominance``) a letter
# or an ending apart are two people's names, whatever a nickname or cross-language table
# says (R23): ANDREW/ANDREA, LOUIS/LOUISE, JUAN/JUANA, PAUL/PAULA, DANIEL/DANIELLE,
# JOSEPH/JOSEPHINE, ALEXANDER/ALEXANDRA. An ending: names of five letters or more with
# a stem of four or more in common and at most three letters after it on either side; a
# clipped form (ALEX of ALEXANDRA, JESS of JESSICA) is a nickname, not an ending. (ANDREA
# is a man's name in Italian: the exact spelling still agrees; when in doubt, no
# confirmation.)
_LONGER = "greatest(length(n_first_l), length(n_first_r))"
OPPOSITE_SEX_NEAR = (
    f"({DISTINCT_FIRST} AND n_first_sex_l <> n_first_sex_r AND ("
    "damerau_levenshtein(n_first_l, n_first_r) <= 1 OR "
    f"(least(length(n_first_l), length(n_first_r)) >= 5 AND {_LONGER} >= 7 "
    f"AND left(n_first_l, {_LONGER} - 3) = left(n_first_r, {_LONGER} - 3))))"
)
SAME_PERSON_NAME = f"NOT coalesce({OPPOSITE_SEX_NEAR}, false)"

# One name spelled two ways (R23): the same spelling key (``n_first_spell``: TH = T,
# C = K, a doubled consonant one; matching.name_keys.spelling_key), so not two
# established names: MATTHEW/MATHEW, MICHELLE/MICHELE, MELISSA/MELISA, MOHAMMED/MOHAMED,
# ERIC/ERIK, CARL/KARL, THERESA/TERESA. Never two names of opposite sex.
SPELLING = f"n_first_spell_l = n_first_spell_r AND {SAME_PERSON_NAME}"

# A hypocorism by rule (R23): one side is a clipped form of the other, its stem
# (``n_first_hypo``: a diminutive -IE/-Y/-I/-EY after two consonants dropped, the
# spelling key taken; matching.name_keys.hypocoristic_stem) beginning the other's
# spelling key: MEL/MELANIE,
# COLE/COLEMAN, KATHY/KATHLEEN, CATHIE/CATHLEEN, KENNY/KENNETH, SAMMIE/SAMUEL. Two names
# of opposite sex never are (policy ``given_name_sex_dominance``: CHRISTY/CHRISTOPHER), nor
# two established names a letter apart (ERIC/ERICA, JOHN/JOHNA, JOAN/JOANN, ARLIE/ARLINE:
# the typo rule's distinct names).
def _clipped(a: str, b: str) -> str:
    return (f"(n_first_hypo_{a} IS NOT NULL AND "
            f"left(n_first_spell_{b}, length(n_first_hypo_{a})) = n_first_hypo_{a})")


HYPOCORISM = (
    f"({_clipped('l', 'r')} OR {_clipped('r', 'l')}) "
    "AND NOT coalesce(n_first_sex_l <> n_first_sex_r, false) "
    f"AND NOT ({DISTINCT_FIRST} AND damerau_levenshtein(n_first_l, n_first_r) <= 1)"
)

# Both family names, in the other order (RIVERA GARCIA / GARCIA RIVERA): the same
# surnames, not merely one in common.
REORDERED = "n_last_l <> n_last_r AND list_sort(n_surnames_l) = list_sort(n_surnames_r)"

# Given and family name swapped, either side possibly with a typo (SALAZRA PEREZ, FELIPE)
# or in the other language (GARCIA SUSAN, SUSANA GARCIA), unless the two spellings are
# distinct established given names (GARCIA JUANA is not JUAN GARCIA).
SWAPPED = (
    "(list_contains(n_surnames_r, n_first_l) OR n_first_xlang_l = n_surname1_xlang_r "
    "OR (jaro_winkler_similarity(n_first_l, n_surname1_r) >= 0.92 "
    "AND NOT (n_first_established_l AND n_surname1_established_r))) "
    "AND (list_contains(n_surnames_l, n_first_r) OR n_surname1_xlang_l = n_first_xlang_r "
    "OR (jaro_winkler_similarity(n_surname1_l, n_first_r) >= 0.92 "
    "AND NOT (n_surname1_established_l AND n_first_established_r)))"
)

# One is listed as a nickname of the other, but not as its first reading (KATHY of
# KATHLEEN, where KATHY is first KATHERINE's; KENNY of KENNETH, an ambiguous nickname;
# CATHIE, which the table spells KATHY, of CATHLEEN): the name tables' own pair, as
# direct a tie as the first reading, never between names of opposite sex (R24).
LISTED_NICKNAME = (
    "(list_contains(n_first_nicks_l, n_first_r) OR list_contains(n_first_nicks_r, n_first_l)) "
    f"AND {SAME_PERSON_NAME}"
)

# Both are nicknames of one third name (MARY and MARIA of MARIAH), and neither of the
# other: a weaker tie than a direct nickname (BILL of WILLIAM), not enough between two
# established names.
NICKNAME_VARIANT = (
    "list_has_any(n_first_nicks_l, n_first_nicks_r) AND ("
    "list_contains(n_first_nicks_l, n_first_r) OR list_contains(n_first_nicks_r, n_first_l) "
    f"OR NOT {DISTINCT_FIRST}) AND {SAME_PERSON_NAME}"
)

# A given name of one side is the other's first (MARIA ROSA / ROSA, JOSE / JOSE LUIS):
# the person goes by a second given name. A middle name or initial in common under two
# first names that are not the same name (ZEBEDIAH ANA / MARIBEL ANA, JUANA MARIA /
# JUAN MARIA, ZEBEDIAH V / MARIA V) is not.
COMPOUND_GIVEN = (
    "list_has_any(n_given_all_l, n_given_all_r) AND "
    "(list_contains(n_given_all_r, n_first_l) OR list_contains(n_given_all_l, n_first_r))"
)
