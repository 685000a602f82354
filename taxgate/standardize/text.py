"""Text folding macros shared by names and addresses.

``std_fold`` is the one definition of "the same letters": upper case, accents
stripped (DuckDB ``strip_accents``), apostrophes dropped (O'BRIEN -> OBRIEN),
any other run of punctuation or white space turned into one space, '' -> NULL.

Speed: a regex replace costs far more than a regex test, so each macro tests
first and rewrites only the rows that need it; ``list_transform([x], lambda
v: ...)[1]`` binds a value once where SQL would otherwise evaluate it twice.
"""

from __future__ import annotations

# rows that are already clean: upper-case letters and digits separated by single spaces
_DIRTY = r"'[^A-Z0-9 ]|  |^ | $'"

FOLD_MACROS: dict[str, str] = {
    "std_fold(s)": rf"""
        list_transform([strip_accents(upper(CAST(s AS VARCHAR)))], lambda u:
            CASE WHEN u = '' THEN NULL
                 WHEN regexp_matches(u, {_DIRTY}) THEN
                     list_transform([trim(regexp_replace(
                         regexp_replace(u, '[''`´’‘]', '', 'g'),
                         ' *[^A-Z0-9 ][^A-Z0-9]*| {{2,}}', ' ', 'g'))],
                         lambda w: nullif(w, ''))[1]
                 ELSE u END)[1]
    """,
    # the address flavour keeps '#', '/' (1/2) and '-' (123-A) and drops periods (P.O.)
    "std_fold_addr(s)": rf"""
        list_transform([strip_accents(upper(CAST(s AS VARCHAR)))], lambda u:
            CASE WHEN u = '' THEN NULL
                 WHEN regexp_matches(u, {_DIRTY}) THEN
                     list_transform([trim(regexp_replace(
                         regexp_replace(replace(u, '#', ' # '), '[''`´’‘.]', '', 'g'),
                         ' *[^A-Z0-9#/ -][^A-Z0-9#/-]*| {{2,}}', ' ', 'g'))],
                         lambda w: nullif(w, ''))[1]
                 ELSE u END)[1]
    """,
    # folded tokens of a text, [] when none
    "std_tokens(s)": "coalesce(string_split(std_fold(s), ' '), []::VARCHAR[])",
    # ZIP or ZIP+4 -> ZIP5; anything that is not 5 or 9 digits -> NULL
    "std_zip5(z)": r"""
        list_transform([regexp_extract(trim(CAST(z AS VARCHAR)), '^(\d{5})(?:[ -]?\d{4})?$', 1)],
                       lambda v: nullif(v, ''))[1]
    """,
    # city: folded, and the usual short forms spelled out (ST LOUIS = SAINT LOUIS)
    "std_city(c)": r"""
        list_transform([std_fold(c)], lambda f:
            CASE WHEN regexp_matches(f, '(^| )(ST|STE|FT|MT)( |$)') THEN
                trim(replace(replace(replace(replace(' ' || f || ' ', ' ST ', ' SAINT '),
                     ' STE ', ' SAINTE '), ' FT ', ' FORT '), ' MT ', ' MOUNT '))
            ELSE f END)[1]
    """,
    # a date of birth as DATE, NULL when absent or not a valid YYYY-MM-DD date
    "std_dob(d)": "TRY_CAST(trim(CAST(d AS VARCHAR)) AS DATE)",
}
