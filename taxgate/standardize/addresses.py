"""Address standardization to USPS Publication 28 form (R9, R10, R24).

The street line is parsed in a fixed order, each step one vectorized
expression: PO box / rural-route box; a trailing unit clause (APT 4, # 4,
BSMT, 2ND FL); the house number (123, 123A, 12-14, 123 1/2); highway names
glued into one token (US HIGHWAY 101 -> US_HWY_101); a two-word directional
glued into one (NORTH EAST, N E, NORTH-EAST -> NE); then the tokens:
post-directional, suffix (Pub 28 C1, joined from ``std_street_suffix``),
pre-directional, and what is left is the street name. A directional is a
name, not a directional, when nothing else would be left (N ST, NORTH EAST ST).
"""

from __future__ import annotations

from taxgate.standardize._data import mapping, rows
from taxgate.standardize._sql import alternation, lit, sql_list, sql_lookup

_ID = r"[A-Z0-9]+(?:-[A-Z0-9]+)?"
# the number after a designator that stands alone (PH 2, REAR 1): starts with a digit,
# so a street word after it (LOWER MILL RD) is never taken for one
_ALONE_ID = r"\d[A-Z0-9]*(?:-[A-Z0-9]+)?"

PO_RE = (r"^(?:(?:P ?O ?|POST ?OFFICE ?|POST |LOCK ?|CALLER ?)?(?:BOX|BX)|POB|P ?O|DRAWER)"
         r"(?: ?#)? ?(\d[A-Z0-9-]*|[A-Z]\d*)(?: |$)")
RR_RE = (r"^(RR|R R|RURAL ROUTE|RURAL RTE|RURAL RT|RURAL|RFD|RT|RTE|ROUTE|HC|HCR|H C"
         r"|HIGHWAY CONTRACT|HWY CONTRACT|STAR ROUTE) ?#? ?(\d+) ?(?:BOX|BX) ?#? ?([A-Z0-9-]+)")
NUM_RE = r"^(\d+(?:-?[A-Z]|-\d+)?)(?: (\d/\d))? (.*[A-Z].*)$"


def _designators() -> tuple[list[str], dict[str, str]]:
    """Unit designators that take an identifier, and the ones that stand alone -> abbr."""
    table = rows("std_unit_designator.csv")
    with_id = [r["variant"] for r in table if r["needs_id"] == "Y" and r["variant"] != "#"]
    alone = {r["variant"]: r["abbr"] for r in table if r["needs_id"] == "N"}
    return with_id, alone


def unit_regex() -> str:
    """The trailing unit clause of a street line; groups: street, 3 ids, bare designator,
    its number (PH 2), floor."""
    with_id, alone = _designators()
    d = alternation(with_id)
    return (rf"^(.*[A-Z].*?) (?:{d}(?: ?# ?| )({_ID})|{d}(\d[A-Z0-9]*)|# ?({_ID})"
            rf"|({alternation(alone)})(?: ?# ?| )?({_ALONE_ID})?"
            rf"|(\d+)(?:ST|ND|RD|TH)? (?:FL|FLR|FLOOR))$")


def highway_chain(expr: str) -> str:
    """Glue highway names into one token: ``US HIGHWAY 101`` -> ``US_HWY_101``."""
    table = rows("std_highway.csv")
    every = alternation(v for r in table for v in r["variants"].split("|"))
    out = expr
    for r in table:
        canon = r["canonical"].replace(" ", "_")
        pat = rf"(^| ){alternation(r['variants'].split('|'))} ?#? ?(\d+[A-Z]?)\b"
        out = f"regexp_replace({out}, {lit(pat)}, '\\1{canon}_\\2', 'g')"
    test = lit(rf"(^| ){every} ?#? ?\d")
    return f"(CASE WHEN regexp_matches({expr}, {test}) THEN {out} ELSE {expr} END)"


def directional_pairs(expr: str) -> str:
    """Glue a two-word directional (``std_directional`` rows with a space: NORTH EAST,
    N E; a hyphen is a space by now) into its abbreviation, at the end of the street
    after a name (``BOYD ST NORTH EAST`` -> ``BOYD ST NE``) or at its start before one
    (``N E BOYD ST`` -> ``NE BOYD ST``). At the start the pair stays two words when only
    a suffix (and a directional) follows: ``NORTH EAST ST`` is EAST ST, north."""
    pairs: dict[str, list[str]] = {}
    words = []
    for r in rows("std_directional.csv"):
        if " " in r["variant"]:
            pairs.setdefault(r["abbr"], []).append(r["variant"])
        else:
            words.append(r["variant"])
    singles = alternation(words)
    suffixes = alternation(v for r in rows("std_street_suffix.csv") for v in r["variants"].split())
    every = alternation(v for vs in pairs.values() for v in vs)
    out = "v"
    for abbr, words in pairs.items():
        out = f"regexp_replace({out}, {lit(rf'^(.+) {alternation(words)}$')}, '\\1 {abbr}')"
    lead = "_v"
    for abbr, words in pairs.items():
        lead = f"regexp_replace({lead}, {lit(rf'^{alternation(words)} (.+)$')}, '{abbr} \\1')"
    name_follows = (f"NOT regexp_full_match(_v, "
                    f"{lit(rf'{every} (?:{suffixes}|{singles})(?: {singles})?')})")
    return (f"list_transform([{expr}], lambda v: CASE WHEN regexp_matches(v, "
            f"{lit(rf'(?:^| ){every}(?: |$)')}) THEN list_transform([{out}], lambda _v: "
            f"CASE WHEN {name_follows} THEN {lead} ELSE _v END)[1] ELSE v END)[1]")


def address_macros() -> dict[str, str]:
    """Macro signature -> body, generated from the data tables."""
    with_id, alone = _designators()
    dirs = mapping("std_directional.csv", "variant", "abbr")
    unit_lead = rf"^(?:{alternation(with_id)}(?: ?# ?| )|{alternation(with_id)}(\d)|# ?)"
    unit_hint = (rf" (?:{alternation(with_id)}(?: |#|\d)|#|{alternation(alone)}(?:$| ?\d)"
                 rf"|\d+\w* FL)")
    # a designator that stands alone, with a number: PENTHOUSE 2 -> PH2 (not the 2 of APT 2)
    alone_id = rf"^({alternation(alone)})(?: ?# ?| )?({_ALONE_ID})$"
    unit_only = rf"(?:{alternation(with_id)}(?: ?# ?| ?){_ID}|# ?{_ID}|{alternation(alone)})"
    # a street named by a word that is also a unit designator (DEPT ST, SUITE AVE, LOT RD):
    # the "identifier" after the designator is a street suffix
    suffixes = alternation(v for r in rows("std_street_suffix.csv") for v in r["variants"].split())
    designator_street = rf"{alternation(with_id)} {suffixes}"
    return {
        "std_dir(t)": sql_lookup("t", dirs),
        # 1 -> ST, 2 -> ND, 3 -> RD, 11/12/13 -> TH ...
        "std_ordinal_suffix(n)": """
            CASE WHEN right(n, 2) IN ('11', '12', '13') THEN 'TH'
                 WHEN right(n, 1) = '1' THEN 'ST' WHEN right(n, 1) = '2' THEN 'ND'
                 WHEN right(n, 1) = '3' THEN 'RD' ELSE 'TH' END
        """,
        "std_is_dir(t)": f"list_contains({sql_list(dirs)}, t)",
        # a unit identifier: no spaces or dashes, no leading zeros (APT 04-B -> 4B)
        "std_unit_norm(u)": r"""
            list_transform(
                [regexp_replace(regexp_replace(u, '[ -]', '', 'g'), '^0+([0-9A-Z])', '\1')],
                lambda v: nullif(v, ''))[1]
        """,
        # the unit column as filed (Apt. 4, #4, 4, Basement) -> identifier or designator
        "std_unit_col(fu)": f"""
            coalesce({sql_lookup("fu", alone)},
                     {sql_lookup(f"regexp_extract(fu, {lit(alone_id)}, 1)", alone)}
                     || std_unit_norm(regexp_extract(fu, {lit(alone_id)}, 2)),
                     std_unit_norm(regexp_replace(fu, {lit(unit_lead)}, '\\1')))
        """,
        "std_po_box(fa)": f"std_unit_norm(regexp_extract(fa, {lit(PO_RE)}, 1))",
        "std_rr_box(fa)": f"regexp_extract(fa, {lit(RR_RE)}, ['kind', 'route', 'box'])",
        # test first (cheap), extract only where a unit clause may be
        "std_unit_split(fa)": f"""
            CASE WHEN regexp_matches(fa, {lit(unit_hint)}) THEN
                regexp_extract(fa, {lit(unit_regex())},
                               ['street', 'id1', 'id2', 'id3', 'bare', 'bare_id', 'floor']) END
        """,
        "std_unit_from_split(u)": f"""
            coalesce(std_unit_norm(nullif(u.id1, '')),
                     std_unit_norm(nullif(u.id2, '')), std_unit_norm(nullif(u.id3, '')),
                     {sql_lookup("nullif(u.bare, '')", alone)}
                     || coalesce(std_unit_norm(nullif(u.bare_id, '')), ''),
                     std_unit_norm(nullif(u.floor, '')))
        """,
        "std_number_split(street)":
            f"regexp_extract(street, {lit(NUM_RE)}, ['num', 'frac', 'rest'])",
        # the text after the house number: '#' and '-' to spaces
        "std_rest_clean(rest)": """
            list_transform([rest], lambda r: CASE WHEN r = '' THEN NULL
                WHEN regexp_matches(r, '[#-]') THEN
                    list_transform([trim(regexp_replace(r, '[ #-]+', ' ', 'g'))],
                                   lambda v: nullif(v, ''))[1]
                ELSE r END)[1]
        """,
        # highway names glued into one token (evaluate on a column: r is repeated)
        "std_highways(r)": highway_chain("r"),
        # two-word directionals glued into one token (NORTH EAST -> NE)
        "std_dir_pairs(r)": directional_pairs("r"),
        # a street line that is only a unit clause, no street name (123 APT 4; not 123 DEPT ST)
        "std_is_unit_only(rest)": f"""
            regexp_full_match(rest, {lit(unit_only)})
            AND NOT regexp_full_match(rest, {lit(designator_street)})
        """,
    }


def street_parts_sql(street: str, name: str) -> str:
    """SQL: the parts of a standardized street around its name, as
    ``STRUCT(ok, pre, suffix, post)``, from the ``a_street`` and ``a_street_name`` columns.

    ``a_street`` is ``concat_ws(' ', pre-directional, a_street_name, suffix,
    post-directional)`` (``N MAIN ST W``), so the parts need no columns of their own: a
    leading directional followed by the name is the pre-directional (``N N`` is the name
    N with the post-directional N, as the parser reads it); after the name, two tokens
    are the suffix and the post-directional, one token is the post-directional when it
    is a directional, else the suffix. ``ok`` is false where the street does not have
    this shape (a box, no name); the parts then mean nothing.
    """
    dirs = sql_list(sorted(set(mapping("std_directional.csv", "variant", "abbr").values())))
    first = f"split_part({street}, ' ', 1)"
    has_pre = (f"list_contains({dirs}, {first}) "
               f"AND starts_with({street} || ' ', {first} || ' ' || {name} || ' ') "
               f"AND {street} <> {name} || ' ' || {name}")
    rest = f"CASE WHEN {has_pre} THEN substr({street}, length({first}) + 2) ELSE {street} END"
    tail = (f"CASE WHEN starts_with(_rest || ' ', {name} || ' ') "
            f"THEN trim(substr(_rest, length({name}) + 1)) END")
    parts = f"""struct_pack(
        ok := _tail IS NOT NULL AND split_part(_tail, ' ', 3) = '',
        pre := CASE WHEN {has_pre} THEN {first} END,
        suffix := CASE WHEN split_part(_tail, ' ', 2) <> '' THEN split_part(_tail, ' ', 1)
                       WHEN _tail <> '' AND NOT list_contains({dirs}, _tail) THEN _tail END,
        post := CASE WHEN split_part(_tail, ' ', 2) <> '' THEN split_part(_tail, ' ', 2)
                     WHEN list_contains({dirs}, _tail) THEN _tail END)"""
    return (f"list_transform([{rest}], lambda _rest: "
            f"list_transform([{tail}], lambda _tail: {parts})[1])[1]")
