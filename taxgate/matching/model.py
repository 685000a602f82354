"""The person-match model, described without naming an engine.

Splink compares a request record with each taxpayer filing on standardized
columns (docs/architecture.md) and gives a match probability for the *person*.
Whether the *address* is the taxpayer's address of record is a separate, exact
question answered by :mod:`taxgate.policy` — a person link is not an address
verification.

At training (:func:`taxgate.matching.training.train`: the first ``load``, then
``taxgate model train``) u probabilities are estimated from
the loaded filings by random sampling and m probabilities by expectation
maximisation on pairs of filings (blocked on the TIN, then on name and date of
birth), so what "agreement" is worth is learned from the records themselves.
Levels that only requests show (a nickname, an anglicized given name, a swap of
given and family name, a typo) cannot be learned from clean filings: each level
has a documented floor, ``M_FLOORS``, applied after EM (:func:`apply_m_floors`).
Term-frequency adjustments make a common value (GARCIA, JOSE, a crowded delivery
point) count for less than a rare one. See docs/matching.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from taxgate.filing_index import A_BLDG, TF_COLUMNS
from taxgate.matching.name_levels import (
    COMPOUND_GIVEN,
    DISTINCT_FIRST,
    HYPOCORISM,
    LISTED_NICKNAME,
    NICKNAME_VARIANT,
    OPPOSITE_SEX_NEAR,
    REORDERED,
    SAME_PERSON_NAME,
    SPELLING,
    SWAPPED,
)
from taxgate.settings import Policy
from taxgate.standardize._data import column

if TYPE_CHECKING:  # Splink is imported where its objects are made, not with this module
    import splink.comparison_library as cl
    from splink import SettingsCreator
    from splink.internals.blocking_rule_creator import BlockingRuleCreator

MODEL_FAMILY = "taxgate-person-v7"
__all__ = ["A_BLDG", "COMPOUND_GIVEN", "DISTINCT_FIRST", "DOB_ONE_DIGIT", "FIRST_TYPO",
           "FIRST_TYPO_CLOSE", "HYPOCORISM", "LISTED_NICKNAME", "MODEL_FAMILY", "M_FLOORS",
           "NICKNAME_VARIANT", "OPPOSITE_SEX_NEAR", "PARTICLE_GLUED", "REORDERED",
           "SAME_PERSON_NAME", "SPELLING", "SWAPPED", "TF_COLUMNS", "U_UNOBSERVED", "NameRules",
           "apply_m_floors", "blocking_rules", "comparisons", "em_blocking_rules", "settings"]


@dataclass(frozen=True)
class NameRules:
    """The policy values the model's inputs read (docs/matching.md): a given name with at
    least ``established_min_count`` SSA births is *established* (two established names a
    letter apart are two names), and a name is of one sex when the SSA counts
    ``sex_dominance`` times more births of that sex than of the other (ANDREA, LOUISE: F;
    ANDREW, LOUIS: M; JESSIE, RENE: neither); a clipped given name keeps a stem of at
    least ``hypocorism_min_letters`` letters of the full name (MEL of MELANIE)."""

    established_min_count: int
    sex_dominance: float
    hypocorism_min_letters: int = 3

    @classmethod
    def of(cls, policy: Policy) -> NameRules:
        return cls(int(policy.established_given_name_min_count),
                   float(policy.given_name_sex_dominance),
                   int(policy.hypocorism_min_letters))


def _lvl(sql: str, label: str, *, m: float, tf_col: str | None = None) -> dict[str, Any]:
    level: dict[str, Any] = {
        "sql_condition": sql,
        "label_for_charts": label,
        "m_probability": m,
    }
    if tf_col:
        level["tf_adjustment_column"] = tf_col
        level["tf_adjustment_weight"] = 1.0
    return level


def _null(*cols: str) -> dict[str, Any]:
    cond = " OR ".join(f"{c}_l IS NULL OR {c}_r IS NULL" for c in cols)
    return {"sql_condition": cond, "label_for_charts": "null", "is_null_level": True}


def _else(m: float) -> dict[str, Any]:
    return {"sql_condition": "ELSE", "label_for_charts": "else", "m_probability": m}


# A family name with a particle glued to its front is the family name the particle is
# dropped from (DEJESUS / DE JESUS, DELTORO / TORO, DELACRUZ / DE LA CRUZ): standardization
# drops a separate particle, so one side's first surname is a prefix of
# name_particle_glued.csv plus the other's, itself a name of four letters or more;
# particles kept as tokens (VAN DYKE / VANDYKE) agree once the spaces are out. The other
# side is the filed or requested surname, so a real surname is never split on its own
# (DELGADO is GADO only against a GADO at the same address, and DEAN, DIAZ never).
def _glued(a: str, b: str) -> str:
    prefixes = ", ".join(f"'{p}'" for p in column("name_particle_glued.csv", "prefix"))
    return (f"(length({b}) >= 4 AND length({a}) > length({b}) AND ends_with({a}, {b}) "
            f"AND list_contains([{prefixes}], left({a}, length({a}) - length({b}))))")


PARTICLE_GLUED = (
    _glued("n_surname1_l", "n_surname1_r") + " OR " + _glued("n_surname1_r", "n_surname1_l")
    + " OR replace(n_last_l, ' ', '') = replace(n_last_r, ' ', '')"
)


# One edit in a name of four letters or more (JONES/JENES, ROJAS/ROJES, WANG/WAEG): the
# Jaro-Winkler bound alone misses a substitution in a short name.
def _one_edit(a: str, b: str) -> str:
    return f"(length({a}_l) >= 4 AND damerau_levenshtein({a}_l, {b}_r) <= 1)"



# A typo in a given name: close by Jaro-Winkler or one edit, and not two established
# given names (DISTINCT_FIRST). (Scoring runs it with the cheaper test first:
# predict_sql.cheaper_levels.)
FIRST_TYPO_CLOSE = ("(jaro_winkler_similarity(n_first_l, n_first_r) >= 0.90 OR "
                    + _one_edit("n_first", "n_first") + ")")
FIRST_TYPO = f"{FIRST_TYPO_CLOSE} AND NOT {DISTINCT_FIRST}"


# Two dates of birth one keystroke apart as written (YYYYMMDD): a digit changed or two
# adjacent digits swapped. (Scoring runs a cheaper equivalent: predict_sql.cheaper_levels.)
DOB_ONE_DIGIT = "damerau_levenshtein(strftime(dob_l, '%Y%m%d'), strftime(dob_r, '%Y%m%d')) <= 1"


def comparisons() -> list[cl.CustomComparison]:
    """Comparisons in order of their evidence; levels most specific first."""
    import splink.comparison_library as cl

    first = cl.CustomComparison(
        output_column_name="first_name",
        comparison_levels=[
            _null("n_first"),
            _lvl("n_first_l = n_first_r", "exact", m=0.80, tf_col="n_first"),
            _lvl(f"n_first_canon_l = n_first_canon_r AND {SAME_PERSON_NAME}", "nickname",
                 m=0.06),
            _lvl(SPELLING, "spelling", m=0.02),
            _lvl(LISTED_NICKNAME, "listed nickname", m=0.02),
            _lvl(NICKNAME_VARIANT, "nickname variant", m=0.01),
            _lvl(HYPOCORISM, "hypocorism", m=0.01),
            _lvl(COMPOUND_GIVEN, "compound given name", m=0.03),
            _lvl(FIRST_TYPO, "typo", m=0.04),
            _lvl(SWAPPED, "given/family swapped", m=0.01),
            _lvl(f"n_first_xlang_l = n_first_xlang_r AND {SAME_PERSON_NAME}", "cross-language",
                 m=0.02),
            _lvl(
                "(length(n_first_l) = 1 OR length(n_first_r) = 1) "
                "AND left(n_first_l, 1) = left(n_first_r, 1)",
                "initial",
                m=0.01,
            ),
            _else(0.03),
        ],
    )
    surname = cl.CustomComparison(
        output_column_name="surname",
        comparison_levels=[
            _null("n_last"),
            _lvl("n_last_l = n_last_r", "exact", m=0.75, tf_col="n_last"),
            _lvl(REORDERED, "surnames reordered", m=0.02),
            _lvl("n_surname1_l = n_surname1_r", "first surname", m=0.10, tf_col="n_surname1"),
            _lvl("list_has_any(n_surnames_l, n_surnames_r)", "a surname in common", m=0.08),
            _lvl(PARTICLE_GLUED, "particle glued", m=0.03),
            _lvl(
                "jaro_winkler_similarity(n_last_l, n_last_r) >= 0.92 OR "
                "jaro_winkler_similarity(n_surname1_l, n_surname1_r) >= 0.92 OR "
                + _one_edit("n_surname1", "n_surname1"),
                "typo",
                m=0.04,
            ),
            _lvl(SWAPPED, "given/family swapped", m=0.01),
            _else(0.02),
        ],
    )
    dob = cl.CustomComparison(
        output_column_name="dob",
        comparison_levels=[
            _null("dob"),
            _lvl("dob_l = dob_r", "exact", m=0.93),
            _lvl(
                "year(dob_l) = year(dob_r) AND month(dob_l) = day(dob_r) "
                "AND day(dob_l) = month(dob_r)",
                "day/month swapped",
                m=0.03,
            ),
            _lvl(DOB_ONE_DIGIT, "one digit", m=0.03),
            _else(0.01),
        ],
    )
    address = cl.CustomComparison(
        output_column_name="address",
        comparison_levels=[
            _null("a_zip5"),
            _lvl("a_key_l = a_key_r", "same delivery point", m=0.55, tf_col="a_key"),
            _lvl("a_bldg_l = a_bldg_r", "same building", m=0.08, tf_col="a_bldg"),
            _lvl(
                "a_number_l = a_number_r AND (a_zip5_l = a_zip5_r OR a_city_l = a_city_r)",
                "same number and place",
                m=0.04,
            ),
            _lvl("a_zip5_l = a_zip5_r", "same ZIP", m=0.13),
            _lvl("a_state_l = a_state_r", "same state", m=0.10),
            _else(0.10),
        ],
    )
    suffix = cl.CustomComparison(
        output_column_name="suffix",
        comparison_levels=[
            _null("n_suffix"),
            _lvl("n_suffix_l = n_suffix_r", "same", m=0.98),
            _else(0.02),
        ],
    )
    middle = cl.CustomComparison(
        output_column_name="middle_initial",
        comparison_levels=[
            _null("n_middle_initial"),
            _lvl("n_middle_initial_l = n_middle_initial_r", "same", m=0.95),
            _else(0.05),
        ],
    )
    tin = cl.CustomComparison(
        output_column_name="tin",
        comparison_levels=[
            _null("tin"),
            _lvl("tin_l = tin_r", "same", m=0.97),
            _else(0.03),
        ],
    )
    return [first, surname, dob, address, suffix, middle, tin]


# Floors for m of levels that requests show and clean filings cannot teach EM
# (docs/matching.md): roughly the share of true request matches showing the level
# in the noise studies behind the synthetic generator, kept conservative.
M_FLOORS: dict[tuple[str, str], float] = {
    ("first_name", "nickname"): 0.03,
    ("first_name", "listed nickname"): 0.01,
    ("first_name", "spelling"): 0.01,
    ("first_name", "nickname variant"): 0.005,
    ("first_name", "hypocorism"): 0.005,
    ("first_name", "compound given name"): 0.01,
    ("first_name", "typo"): 0.02,
    ("first_name", "given/family swapped"): 0.02,
    ("first_name", "cross-language"): 0.01,
    ("first_name", "initial"): 0.005,
    ("first_name", "else"): 0.01,
    ("surname", "surnames reordered"): 0.02,
    ("surname", "first surname"): 0.10,
    ("surname", "a surname in common"): 0.05,
    ("surname", "particle glued"): 0.02,
    ("surname", "typo"): 0.02,
    ("surname", "given/family swapped"): 0.02,
    ("surname", "else"): 0.01,
    ("dob", "day/month swapped"): 0.01,
    ("dob", "one digit"): 0.01,
    ("dob", "else"): 0.005,
    ("address", "same delivery point"): 0.30,
    ("address", "same building"): 0.03,
    ("address", "same number and place"): 0.01,
    ("suffix", "else"): 0.02,
    ("middle_initial", "else"): 0.05,
    ("tin", "else"): 0.02,
}


# u of a level random pairs of filings never showed (a given/family swap, say): a
# conservative stand-in, far above what an unobserved rate in 2e6 pairs could be.
U_UNOBSERVED = 1e-4


def apply_m_floors(spec: dict[str, Any]) -> dict[str, Any]:
    """Raise each floored level's m to its floor, then renormalize each comparison's
    non-null levels to sum to one; give a level with no u estimate ``U_UNOBSERVED``.
    Works on a saved Splink model (JSON dict)."""
    for comp in spec["comparisons"]:
        name = comp["output_column_name"]
        levels = [lv for lv in comp["comparison_levels"] if not lv.get("is_null_level")]
        for lv in levels:
            if lv.get("u_probability") is None:
                lv["u_probability"] = U_UNOBSERVED
            floor = M_FLOORS.get((name, lv.get("label_for_charts", "")))
            m = lv.get("m_probability")
            if floor is not None and (m is None or m < floor):
                lv["m_probability"] = floor
            elif m is None:
                lv["m_probability"] = 1e-4
        total = sum(lv["m_probability"] for lv in levels)
        for lv in levels:
            lv["m_probability"] = lv["m_probability"] / total
    return spec


def blocking_rules() -> list[BlockingRuleCreator | dict[str, Any]]:
    """The rules that generate a request's candidate pairs.

    Candidate generation decides the cost (docs/matching.md, bench/results/scale.md).
    A confirmation needs the submitted address to be the address of record (same house
    number or box, same ZIP or same city): the first two rules find every such pair in
    the same ZIP, and every other person at that delivery point. (A wrong ZIP with the
    right city and number is found only through the name or DOB rules.) The others find
    who could compete with or veto the winner: namesakes in the ZIP, a DOB or a TIN in
    common. Each key is narrow enough that pairs grow with the number of people who
    share it, not with the square of the store (nationwide or statewide name keys did).
    """
    from splink import block_on

    return [
        block_on("a_zip5", "a_number"),
        block_on("a_zip5", "a_po_box"),
        block_on("dob", "substr(n_first, 1, 1)", "substr(n_surname1, 1, 1)"),
        block_on("n_first_canon", "n_surname1", "a_zip5"),
        block_on("n_surname1", "a_zip5", "substr(n_first, 1, 1)"),
        block_on("tin"),
    ]

# TF_COLUMNS and A_BLDG (the building of a street address) are defined with the filing
# index (taxgate.filing_index), which counts their values at load.


def em_blocking_rules() -> list[BlockingRuleCreator]:
    """The EM sessions at load, on pairs of filings: within one TIN (a person's own
    filings teach names, DOB and address variation); same name and DOB (teach TIN,
    address, suffix, middle initial). Each session leaves the comparisons it blocks on
    fixed."""
    from splink import block_on

    return [block_on("tin"), block_on("n_first", "n_surname1", "dob")]


def settings(probability_two_random_records_match: float) -> SettingsCreator:
    """Splink settings for linking request records (left) to filings (right)."""
    from splink import SettingsCreator

    return SettingsCreator(
        link_type="link_only",
        unique_id_column_name="uid",
        comparisons=list[Any](comparisons()),
        blocking_rules_to_generate_predictions=blocking_rules(),
        probability_two_random_records_match=probability_two_random_records_match,
        retain_matching_columns=False,
        retain_intermediate_calculation_columns=False,
        additional_columns_to_retain=[],
    )
