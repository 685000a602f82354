"""Spelling rules for given names, as SQL over one name column (docs/matching.md).

Rules rather than lists (R23): what a nickname table does not hold, the way English
spells and clips given names still says. Used by :func:`taxgate.matching.duckdb._input_view`
to give each side of a pair its keys; the model's levels compare them
(:mod:`taxgate.matching.model`: spelling, hypocorism, nickname variant).
"""

from __future__ import annotations

_VOWELS = "('A', 'E', 'I', 'O', 'U', 'Y')"


def _single_consonants(expr: str) -> str:
    """SQL: ``expr`` with every doubled consonant written once (MATTHEW -> MATHEW)."""
    return ("list_transform([" + expr + "], lambda k: array_to_string(list_filter("
            "string_split(k, ''), lambda c, i: i = 1 OR c <> substr(k, i - 1, 1) "
            f"OR c IN {_VOWELS}), ''))[1]")


def spelling_key(name: str) -> str:
    """SQL: a given name's spelling key. TH is T, CK is K, a C not before E, I or Y is K,
    and a doubled consonant is one (MATTHEW = MATHEW, MICHELLE = MICHELE, KATHY = CATHY =
    KATY, ERIC = ERIK = ERICK, MELISSA = MELISA, PHILLIP = PHILIP)."""
    hard_c = "regexp_replace({}, 'C([^EIY]|$)', 'K\\1', 'g')"
    ck = f"replace(replace({name}, 'TH', 'T'), 'CK', 'K')"
    return _single_consonants(hard_c.format(hard_c.format(ck)))


def sound_key(name: str) -> str:
    """SQL: the key under which a name the nickname table does not list takes the entries
    of its other spellings: its spelling key, Y after the first letter as I, a
    diminutive -IE as -I, every doubled letter one (BILLIE = BILLY, CATHIE = KATHY,
    LIN = LYNN)."""
    key = spelling_key(name)
    y = f"regexp_replace(left({key}, 1) || replace(substr({key}, 2), 'Y', 'I'), 'IE$', 'I')"
    return ("list_transform([" + y + "], lambda k: array_to_string(list_filter("
            "string_split(k, ''), lambda c, i: i = 1 OR c <> substr(k, i - 1, 1)), ''))[1]")


# The nickname table's entries under each sound key (the names its spellings stand for,
# and those spellings), for a name the table does not list (``name_nickname``:
# taxgate.standardize).
NICKS_BY_SOUND = f"""
    SELECT {sound_key('variant')} AS sound,
           list_distinct(list_concat(list(split_part(canonical, ' ', 1)), list(variant)))
             AS nicks
    FROM name_nickname GROUP BY 1
"""


def hypocoristic_stem(name: str, min_letters: int) -> str:
    """SQL: what a clipped given name (a hypocorism by truncation) keeps of the full name,
    or NULL. A diminutive ending -IE, -EY, -Y or -I after two consonants is dropped
    (KATHY, CATHIE, KENNY, LENNIE, CHRISTY, ARTIE; not MARY, GARY, TONY), and the rest's
    spelling key taken (KATH -> KAT, KENN -> KEN, SAMM -> SAM, GREGG -> GREG); a stem of
    fewer than ``min_letters`` letters is none (ED, AL, JO)."""
    base = (f"CASE WHEN regexp_matches({name}, '[^AEIOUY]{{2}}(IE|EY|Y|I)$') "
            f"THEN regexp_replace({name}, '(IE|EY|Y|I)$', '') ELSE {name} END")
    return (f"list_transform([{spelling_key(f'({base})')}], "
            f"lambda k: CASE WHEN length(k) >= {int(min_letters)} THEN k END)[1]")


def silent_e_stems(min_letters: int) -> str:
    """SQL (``variant``, ``stem``): a listed nickname written with a silent final E after
    one consonant (KATE, DAVE, PETE, NATE, JAKE, STEVE) clips the syllable before the E;
    its stem is that syllable's spelling key (KAT) where the table itself bears it out,
    beginning the spelling key of a full name the nickname is listed for (KATRYN of
    KATHRYN). A name no table lists as a clipping (JOSE, DALE) keeps its E."""
    stem = spelling_key("left(variant, length(variant) - 1)")
    full = spelling_key("split_part(canonical, ' ', 1)")
    return f"""
        SELECT variant, min(stem) AS stem FROM (
          SELECT variant, {stem} AS stem, {full} AS full_key FROM name_nickname
          WHERE regexp_matches(variant, '^[A-Z]*[AEIOU][^AEIOUWY]E$'))
        WHERE length(stem) >= {int(min_letters)} AND starts_with(full_key, stem)
        GROUP BY variant"""


def diminutive_base(name: str) -> str:
    """SQL: the short form a diminutive is made from, or NULL: -IE, -EY, -Y or -I after
    two consonants dropped and a doubled last consonant written once (LENNIE -> LEN,
    BOBBIE -> BOB, ARTIE -> ART, FRANKIE -> FRANK, JOHNNY -> JOHN)."""
    base = f"regexp_extract({name}, '^(.*[^AEIOUY][^AEIOUY])(IE|EY|Y|I)$', 1)"
    return (f"list_transform([{base}], lambda b: CASE WHEN b = '' THEN NULL "
            "WHEN right(b, 1) = substr(b, length(b) - 1, 1) THEN left(b, length(b) - 1) "
            "ELSE b END)[1]")


def diminutive_entries(sex: str) -> str:
    """SQL (``base``, ``entries``): per listed short form, the given names it stands for
    (and itself), each with its sex (``sex``: an SQL CASE over ``name_given`` ``g``) and
    spelling key, so that its diminutive (LENNIE of LEN) takes those of its own sex or of
    either that its clipped stem does not already begin: LEONARD for LENNIE, never
    SALVATORE for SALLY (R23, R24)."""
    return f"""
        SELECT n.base, list(DISTINCT {{'name': n.name, 'sex': {sex},
                                       'key': {spelling_key('n.name')}}}) AS entries
        FROM (SELECT variant AS base, split_part(canonical, ' ', 1) AS name FROM name_nickname
              UNION SELECT variant, variant FROM name_nickname) n
        LEFT JOIN name_given g ON g.name = n.name
        GROUP BY n.base"""
