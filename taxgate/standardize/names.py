"""Name standardization macros (R8, R24).

A name becomes token lists: given-name tokens (first and middle) and
family-name tokens (last, then a request's second_last_name). On the way:
``std_fold``; surname prefixes glued (MC DONALD -> MCDONALD, O BRIEN -> OBRIEN);
generational suffixes taken out into ``n_suffix`` (never dropped silently);
particles dropped (DE LA CRUZ -> [CRUZ]) unless nothing else is left; written
abbreviations of given names spelled out (MA. -> MARIA, WM -> WILLIAM).
Nicknames and cross-language classes are joined in ``select.py`` from
``name_first_lookup``.
"""

from __future__ import annotations

from taxgate.standardize._data import column, mapping, rows
from taxgate.standardize._sql import sql_list, sql_lookup


def name_macros() -> dict[str, str]:
    """Macro signature -> body, generated from the data tables."""
    particles_all = sql_list(column("name_particles.csv", "particle"))
    particles_given = sql_list(r["particle"] for r in rows("name_particles.csv")
                               if r["in_given"] == "Y")
    suffix_map = mapping("name_suffix.csv", "variant", "suffix")
    suffixes = sql_list(suffix_map)
    abbrev = "coalesce(" + sql_lookup("t", mapping("name_abbrev.csv", "abbrev", "name")) + ", t)"
    placeholders = sql_list(column("name_placeholders.csv", "placeholder"))
    real_surnames = sql_list(r["placeholder"] for r in rows("name_placeholders.csv")
                             if r["real_surname"] == "Y")
    words = sql_list(r["placeholder"] for r in rows("name_placeholders.csv")
                     if " " not in r["placeholder"])
    return {
        # a list without particle tokens, unless that would leave it empty
        "std_drop_particles(toks, parts)": """
            CASE WHEN len(list_filter(toks, lambda t: NOT list_contains(parts, t))) > 0
                 THEN list_filter(toks, lambda t: NOT list_contains(parts, t))
                 ELSE toks END
        """,
        # a list without suffix tokens after its first token
        "std_drop_suffixes(toks)": f"""
            list_filter(toks, lambda t, i: i = 1 OR NOT list_contains({suffixes}, t))
        """,
        # the raw family-name tokens: folded, MC/MAC/O/D prefixes glued to the next token
        "std_surname_glue(f)": r"""
            list_transform([f], lambda v: CASE WHEN regexp_matches(v, '(^| )(MC|MAC|O|D) [A-Z]')
                THEN regexp_replace(v, '(^| )(MC|MAC|O|D) ([A-Z])', '\1\2\3', 'g') ELSE v END)[1]
        """,
        # the raw family-name tokens: folded, MC/MAC/O/D prefixes glued to the next token
        "std_surname_raw(last_name, second)": """
            list_concat(
                coalesce(string_split(std_surname_glue(std_fold(last_name)), ' '), []::VARCHAR[]),
                coalesce(string_split(std_surname_glue(std_fold(second)), ' '), []::VARCHAR[]))
        """,
        # the raw given-name tokens of first and middle name
        "std_given_raw(first_name, middle)": """
            list_concat(std_tokens(first_name), std_tokens(middle))
        """,
        # given tokens once suffixes are out: particles dropped, abbreviations spelled out
        "std_given_tokens(toks)": f"""
            list_transform(std_drop_particles(toks, {particles_given}), lambda t: {abbrev})
        """,
        "std_surname_tokens(toks)": f"std_drop_particles(toks, {particles_all})",
        # JR, SR, II, III, IV: found after the first token of either list, or as the
        # whole middle name; normalized (JUNIOR -> JR, 3RD -> III)
        "std_name_suffix(given_raw, surname_raw)": f"""
            {sql_lookup("list_filter(list_concat(CAST(surname_raw AS VARCHAR[])[2:], "
                        "CAST(given_raw AS VARCHAR[])[2:]), "
                        f"lambda t: list_contains({suffixes}, t))[1]", suffix_map)}
        """,
        # a placeholder instead of a given name or a whole name (UNKNOWN, N/A, JOHN DOE,
        # FNU, TEST, XXX, no letter at all)
        "name_is_placeholder(text)": f"""
            CASE WHEN text IS NULL OR trim(CAST(text AS VARCHAR)) = '' THEN false
                 ELSE list_transform([std_fold(text)], lambda f:
                     coalesce(list_contains({placeholders}, f)
                              OR regexp_full_match(f, 'X{{2,}}( X+)*')
                              OR NOT regexp_matches(f, '[A-Z]'), true))[1] END
        """,
        # a placeholder instead of a family name: as above, but a word that is also a
        # real surname (NULL, NONE, TEST, NA) never is, alone (R8)
        "surname_is_placeholder(text)": f"""
            name_is_placeholder(text)
            AND NOT coalesce(list_contains({real_surnames}, std_fold(text)), false)
        """,
        # a whole name made only of placeholder words (TEST TEST, NULL NONE, FNU NULL)
        "name_is_placeholder_words(text)": f"""
            coalesce(list_transform([list_filter(string_split(std_fold(text), ' '),
                                                 lambda t: t <> '')],
                lambda toks: len(toks) > 0
                    AND list_bool_and(list_transform(toks,
                                                     lambda t: list_contains({words}, t))))[1],
                false)
        """,
    }


def name_columns(first: str, middle: str, last: str, second: str) -> dict[str, str]:
    """Stage-1 helper columns for one relation: the raw token lists."""
    return {
        "_s_given_raw": f"std_given_raw({first}, {middle})",
        "_s_surname_raw": f"std_surname_raw({last}, {second})",
    }


def name_stage2() -> dict[str, str]:
    """Stage-2 columns computed from the raw token lists."""
    return {
        "_s_given_ns": "std_drop_suffixes(_s_given_raw)",
        "_s_surnames_ns": "std_drop_suffixes(_s_surname_raw)",
        "_s_suffix": "std_name_suffix(_s_given_raw, _s_surname_raw)",
    }


def name_stage3() -> dict[str, str]:
    """Stage-3 columns: particles dropped, abbreviations spelled out."""
    return {
        "_s_given": "std_given_tokens(_s_given_ns)",
        "_s_surnames": "std_surname_tokens(_s_surnames_ns)",
    }


def name_final() -> dict[str, str]:
    """Output columns once ``name_first_lookup`` is joined (``_s_canon``, ``_s_xlang``)."""
    return {
        "n_first": "_s_given[1]",
        "n_first_canon": "coalesce(_s_canon, _s_given[1])",
        "n_first_xlang": "coalesce(_s_xlang, _s_given[1])",
        "n_given_all": "nullif(_s_given, []::VARCHAR[])",
        "n_middle_initial": "left(_s_given[2], 1)",
        "n_surnames": "nullif(_s_surnames, []::VARCHAR[])",
        "n_surname1": "_s_surnames[1]",
        "n_last": "nullif(array_to_string(_s_surnames, ' '), '')",
        "n_suffix": "_s_suffix",
    }


__all__ = ["name_macros", "name_columns", "name_stage2", "name_stage3", "name_final"]
