"""``standardized_select_sql``: the vectorized standardization of a whole relation.

The statement is a chain of CTE stages, each one projection that adds helper
columns (prefixed ``_s_``), and three LEFT JOINs to lookup tables with unique
keys, so the row count never changes. The last stage keeps the source's
columns and adds the standardized columns of ``docs/architecture.md``.

``load`` standardizes each distinct name, street line (street, unit) and place (city,
state, ZIP) apart and joins them back (:func:`deduplicated_select_sql`). That holds
because each rule reads the inputs of one of the three alone, and ``a_key`` is the
street line's key followed by the ZIP (:func:`with_zip5`). A rule that reads a street
line and a place together breaks it; the tests that hold the split equal to this
statement say so.
"""

from __future__ import annotations

from taxgate.standardize.names import name_columns, name_final, name_stage2, name_stage3

STD_COLUMNS: tuple[str, ...] = (
    "n_first", "n_first_canon", "n_first_xlang", "n_given_all", "n_middle_initial",
    "n_surnames", "n_surname1", "n_last", "n_suffix",
    "a_number", "a_street", "a_street_name", "a_unit", "a_po_box",
    "a_city", "a_state", "a_zip5", "a_key", "dob",
)
SIDES = ("filing", "request")


def _cols(mapping: dict[str, str]) -> str:
    return ", ".join(f"{expr} AS {name}" for name, expr in mapping.items())


def _passthrough(extra: tuple[str, ...] = ()) -> str:
    """Every source column except the ones we (re)compute."""
    names = ", ".join(f"'{c}'" for c in STD_COLUMNS + extra)
    return f"COLUMNS(lambda c: c NOT IN ({names}))"


def _stages(source: str, side: str) -> list[tuple[str, str]]:
    """(cte name, SELECT) pairs, in order."""
    if side == "request":
        # the request's optional columns are read through JSON so they may be absent;
        # its a_number (alien registration number) is kept as alien_number
        head = (f"{_passthrough(('alien_number',))}, "
                "coalesce(to_json(_src)->>'alien_number', to_json(_src)->>'a_number') "
                "AS alien_number")
        second = "to_json(_src)->>'second_last_name'"
    else:
        head, second = _passthrough(), "NULL"
    n1 = name_columns("_src.first_name", "_src.middle_name", "_src.last_name", second)
    s1 = {
        **n1,
        "_s_fa": "std_fold_addr(_src.street_address)",
        "_s_fu": "std_fold_addr(_src.unit)",
        "_s_city": "std_city(_src.city)",
        "_s_state_f": "std_fold(_src.state)",
        "_s_zip5": "std_zip5(_src.zip)",
        "_s_dob": "std_dob(_src.date_of_birth)",
    }
    s2 = {
        **name_stage2(),
        "_s_po": "std_po_box(_s_fa)",
        "_s_rr": "std_rr_box(_s_fa)",
        "_s_us": "std_unit_split(_s_fa)",
        "_s_ucol": "std_unit_col(_s_fu)",
    }
    s3 = {
        **name_stage3(),
        "_s_street": "coalesce(nullif(_s_us.street, ''), _s_fa)",
        "_s_unit1": "coalesce(_s_ucol, std_unit_from_split(_s_us))",
    }
    s4 = {"_s_ns": "std_number_split(_s_street)"}
    s5 = {
        "_s_num": "CASE WHEN _s_ns.num <> '' THEN regexp_replace(_s_ns.num, '-([A-Z])$', '\\1') "
                  "|| coalesce(' ' || nullif(_s_ns.frac, ''), '') END",
        "_s_rest0": "std_rest_clean(CASE WHEN _s_ns.num <> '' THEN _s_ns.rest ELSE _s_street END)",
    }
    s6 = {"_s_t": "string_split(std_dir_pairs(std_highways(_s_rest0)), ' ')"}
    s7 = {
        "_s_n": "coalesce(len(_s_t), 0)",
        "_s_mode": """CASE WHEN len(_s_t) >= 3 AND regexp_full_match(_s_t[-1], '[0-9]+') THEN 'U'
                           WHEN len(_s_t) >= 2 AND std_is_dir(_s_t[-1]) THEN 'P'
                           ELSE 'S' END""",
    }
    s8 = {"_s_cand": """CASE WHEN _s_mode = 'S' AND _s_n >= 2 THEN _s_t[-1]
                             WHEN _s_mode <> 'S' AND _s_n >= 3 THEN _s_t[-2] END"""}
    joins = (
        "SELECT s.*, sx.abbr AS _s_sfx, nf.canon AS _s_canon, nf.xlang AS _s_xlang, "
        "st.abbr AS _s_state_name FROM _std_8 s "
        "LEFT JOIN std_street_suffix sx ON sx.variant = s._s_cand "
        "LEFT JOIN name_first_lookup nf ON nf.token = s._s_given[1] "
        "LEFT JOIN std_state st ON st.name = s._s_state_f"
    )
    s10 = {
        "_s_core0": """CASE WHEN _s_sfx IS NOT NULL AND _s_mode <> 'S' THEN _s_t[1:_s_n - 2]
                            WHEN _s_sfx IS NOT NULL OR _s_mode = 'P' THEN _s_t[1:_s_n - 1]
                            ELSE _s_t END""",
        "_s_post": "CASE WHEN _s_mode = 'P' THEN std_dir(_s_t[-1]) END",
        "_s_utail": "CASE WHEN _s_mode = 'U' AND _s_sfx IS NOT NULL THEN _s_t[-1] END",
    }
    s11 = {
        "_s_pre": "CASE WHEN len(_s_core0) >= 2 AND std_is_dir(_s_core0[1]) "
                  "THEN std_dir(_s_core0[1]) END",
    }
    s12 = {
        "_s_name0": """replace(array_to_string(CASE WHEN _s_pre IS NOT NULL THEN _s_core0[2:]
                                               ELSE _s_core0 END, ' '), '_', ' ')""",
    }
    ordinal = ("SELECT s.*, o.ordinal AS _s_ord FROM _std_12 s "
               "LEFT JOIN std_ordinal o ON o.word = s._s_name0")
    s14 = {
        "_s_name": """CASE WHEN _s_name0 <> '' THEN coalesce(_s_ord,
                       CASE WHEN _s_num IS NOT NULL AND regexp_full_match(_s_name0, '[0-9]+')
                            THEN _s_name0 || std_ordinal_suffix(_s_name0) END,
                       std_dir(_s_name0), _s_name0) END""",
        "_s_rrbox": "std_unit_norm(nullif(_s_rr.box, ''))",
    }
    s15 = {
        "_s_box": "_s_po IS NOT NULL OR _s_rrbox IS NOT NULL",
        "_s_street_out": """CASE
            WHEN _s_po IS NOT NULL THEN 'PO BOX ' || _s_po
            WHEN _s_rrbox IS NOT NULL THEN
                (CASE WHEN _s_rr.kind LIKE 'H%' OR _s_rr.kind LIKE 'STAR%' THEN 'HC' ELSE 'RR' END)
                || ' ' || ltrim(_s_rr.route, '0') || ' BOX ' || _s_rrbox
            ELSE nullif(concat_ws(' ', _s_pre, _s_name, _s_sfx, _s_post), '') END""",
    }
    s16 = {  # the street line's part of a_key: with_zip5
        "_s_skey": """CASE WHEN _s_street_out IS NOT NULL THEN concat(
                        CASE WHEN NOT _s_box THEN coalesce(_s_num, '') ELSE '' END, '|',
                        _s_street_out, '|',
                        CASE WHEN NOT _s_box THEN coalesce(_s_unit1, _s_utail, '') ELSE '' END,
                        '|') END""",
    }
    return [
        ("_std_1", f"SELECT {head}, {_cols(s1)} FROM {source} _src"),
        ("_std_2", f"SELECT *, {_cols(s2)} FROM _std_1"),
        ("_std_3", f"SELECT *, {_cols(s3)} FROM _std_2"),
        ("_std_4", f"SELECT *, {_cols(s4)} FROM _std_3"),
        ("_std_5", f"SELECT *, {_cols(s5)} FROM _std_4"),
        ("_std_6", f"SELECT *, {_cols(s6)} FROM _std_5"),
        ("_std_7", f"SELECT *, {_cols(s7)} FROM _std_6"),
        ("_std_8", f"SELECT *, {_cols(s8)} FROM _std_7"),
        ("_std_9", joins),
        ("_std_10", f"SELECT *, {_cols(s10)} FROM _std_9"),
        ("_std_11", f"SELECT *, {_cols(s11)} FROM _std_10"),
        ("_std_12", f"SELECT *, {_cols(s12)} FROM _std_11"),
        ("_std_13", ordinal),
        ("_std_14", f"SELECT *, {_cols(s14)} FROM _std_13"),
        ("_std_15", f"SELECT *, {_cols(s15)} FROM _std_14"),
        ("_std_16", f"SELECT *, {_cols(s16)} FROM _std_15"),
    ]


def with_zip5(street_key: str, zip5: str) -> str:
    """SQL of an address's ``a_key`` from its street line's key (number, street and unit,
    each followed by ``|``; NULL without a street) and its ``a_zip5``. The street line's
    key is what ``a_key`` is on an address given without a ZIP."""
    return f"CASE WHEN {street_key} IS NOT NULL THEN {street_key} || coalesce({zip5}, '') END"


def _final() -> dict[str, str]:
    addr = {
        "a_number": "CASE WHEN NOT _s_box THEN _s_num END",
        "a_street": "_s_street_out",
        "a_street_name": "CASE WHEN NOT _s_box THEN _s_name END",
        "a_unit": "CASE WHEN NOT _s_box THEN coalesce(_s_unit1, _s_utail) END",
        "a_po_box": "coalesce(_s_po, _s_rrbox)",
        "a_city": "_s_city",
        "a_state": "CASE WHEN length(_s_state_f) = 2 THEN _s_state_f ELSE _s_state_name END",
        "a_zip5": "_s_zip5",
        "a_key": with_zip5("_s_skey", "_s_zip5"),
        "dob": "_s_dob",
    }
    out = {**name_final(), **addr}
    assert tuple(out) == STD_COLUMNS
    return out


def standardized_select_sql(source: str, *, side: str) -> str:
    """``SELECT *, <standardized columns> FROM source`` as one statement.

    ``source`` is a table or view name, or a parenthesized query. ``side`` is
    "filing" or "request": a request's optional ``second_last_name`` is
    appended to its surnames, and its ``a_number`` (alien registration number,
    which would collide with the house-number column) is kept as
    ``alien_number``. Needs ``install(con)`` on the connection first.
    """
    if side not in SIDES:
        raise ValueError(f"side must be one of {SIDES}, not {side!r}")
    ctes = ",\n".join(f"{name} AS ({sql})" for name, sql in _stages(source, side))
    keep = "COLUMNS(lambda c: NOT starts_with(c, '_s_'))"
    return f"WITH {ctes}\nSELECT {keep}, {_cols(_final())} FROM _std_16"


NAME_INPUTS = ("first_name", "middle_name", "last_name")
STREET_INPUTS = ("street_address", "unit")
PLACE_INPUTS = ("city", "state", "zip")
_INPUTS = (*NAME_INPUTS, *STREET_INPUTS, *PLACE_INPUTS, "date_of_birth")
# What the street line alone decides (a_key without its ZIP: :func:`with_zip5`), and
# what the city, state and ZIP do; no rule reads both (see the module's docstring).
_STREET_COLUMNS = ("a_number", "a_street", "a_street_name", "a_unit", "a_po_box", "a_key")
_PLACE_COLUMNS = ("a_city", "a_state", "a_zip5")


def _same(left: str, right: str, cols: tuple[str, ...]) -> str:
    return " AND ".join(f"{left}.{c} IS NOT DISTINCT FROM {right}.{c}" for c in cols)


def _part(source: str, inputs: tuple[str, ...], out: tuple[str, ...]) -> str:
    """Each distinct ``inputs`` of ``source`` (the other inputs NULL), with the
    standardized columns ``out``."""
    blank = ", ".join(f"CAST(NULL AS VARCHAR) AS {c}" for c in _INPUTS if c not in inputs)
    distinct = f"(SELECT DISTINCT {', '.join(inputs)}, {blank} FROM {source})"
    keep = ", ".join((*inputs, *out))
    return f"SELECT {keep} FROM ({standardized_select_sql(distinct, side='filing')})"


def standardized_names_sql(source: str) -> str:
    """Each distinct (first, middle, last name) of a filings relation, with its n_ columns."""
    return _part(source, NAME_INPUTS, tuple(c for c in STD_COLUMNS if c.startswith("n_")))


def standardized_streets_sql(source: str) -> str:
    """Each distinct (street line, unit) of a filings relation, with the a_ columns they
    decide (its ``a_key`` without the ZIP)."""
    return _part(source, STREET_INPUTS, _STREET_COLUMNS)


def standardized_places_sql(source: str) -> str:
    """Each distinct (city, state, ZIP) of a filings relation, with a_city, a_state and
    a_zip5."""
    return _part(source, PLACE_INPUTS, _PLACE_COLUMNS)


def join_standardized_sql(source: str, names: str, streets: str, places: str,
                          head: str = "") -> str:
    """Every row of ``source`` with the standardized columns of its name (from ``names``),
    its street line (``streets``) and its city, state and ZIP (``places``), as
    ``standardized_select_sql`` gives them. ``head``: extra select expressions first (they
    may use ``s``, the source row)."""
    def col(c: str) -> str:
        if c.startswith("n_"):
            return f"n.{c}"
        if c == "a_key":
            return f"{with_zip5('st.a_key', 'pl.a_zip5')} AS a_key"
        if c == "dob":
            return "std_dob(s.date_of_birth) AS dob"
        return f"{'st' if c in _STREET_COLUMNS else 'pl'}.{c}"
    return f"""
        SELECT {head}s.*, {", ".join(col(c) for c in STD_COLUMNS)}
        FROM {source} s
        JOIN {names} n ON {_same('s', 'n', NAME_INPUTS)}
        JOIN {streets} st ON {_same('s', 'st', STREET_INPUTS)}
        JOIN {places} pl ON {_same('s', 'pl', PLACE_INPUTS)}"""


def deduplicated_select_sql(source: str) -> str:
    """``standardized_select_sql(source, side="filing")``, with each distinct name, street
    line and (city, state, ZIP) standardized once and joined back: a taxpayer files many
    times under one name, mostly at one address (10.3M filings hold 1.6M names, 4.1M
    street lines and 1.2M places), and every rule reads the inputs of one of the three
    alone (``a_key``: :func:`with_zip5`), so the result is the same. ``load`` runs the
    parts as separate statements (names, streets, places, then the join streamed into
    the store)."""
    return (f"WITH n AS ({standardized_names_sql(source)}), "
            f"st AS ({standardized_streets_sql(source)}), "
            f"pl AS ({standardized_places_sql(source)}) "
            + join_standardized_sql(source, "n", "st", "pl"))
