"""The delivery point (contract §3, R24): when a submitted address *is* an address of record.

One rule, written once as SQL and used wherever a CONFIRMED depends on it (the
machine's decision for the candidate's address of record and for a possible
successor's, and a reviewer's release). Both sides are standardized to USPS
Publication 28 form by the same SQL (:mod:`taxgate.standardize`), so ``N`` and
``NORTH``, ``ST`` and ``STREET``, ``APT 4``, ``#4`` and ``UNIT 4``, ``5TH`` and
``FIFTH`` already read the same. Two addresses name the same delivery point when:

- a PO box or rural-route box: the same box line (``PO BOX 12``, ``RR 2 BOX 5``) and
  the same ZIP5; or
- a street address: the same house number, the same ZIP5, the same unit where both
  give one (a unit missing on one side is no disagreement), and the same street:
  pre-directional, street type (suffix) and post-directional exactly, and the name
  exactly or, within :class:`~taxgate.settings.Policy` tolerance, misspelled.

The delivery point itself is never fuzzy: N is not S, ST is not CT, 12 is not 21,
APT 4 is not APT 5, and ZIP 90001 is not 90002 (the city is not part of a delivery
point: one city may hold the same street in two ZIPs). Spelling tolerance applies to
the street *name* alone, only to names of letters (a digit is a house, highway or
ordinal number: 5TH is not 6TH, US HWY 101 is not 102), at least
``street_name_min_length_for_edits`` long on both sides, within
``street_name_max_edits`` (Damerau-Levenshtein), and only where the filings, read as
a gazetteer, name no other street within that distance of the requested spelling in
the request's ZIP: a request for MAPELWOOD DR reaches the record's MAPLEWOOD DR only
when no street spelled MAPELWOOD (or otherwise as near) is filed in that ZIP.
"""

from __future__ import annotations

from taxgate.settings import Policy
from taxgate.standardize import street_parts_sql

# A street name the tolerance may apply to: words of letters, nothing else.
_LETTERS = "'[A-Z]+( [A-Z]+)*'"


def near_spelling(request: str, record: str, policy: Policy) -> str:
    """SQL, true where ``request`` and ``record`` are one street delivery point but for a
    tolerated misspelling of the street name (the gazetteer not yet consulted).

    ``request`` and ``record`` are SQL expressions whose fields ``a_number``,
    ``a_street``, ``a_street_name``, ``a_unit`` and ``a_zip5`` are the standardized
    columns: a table alias (``r``) or a struct (``o.aor``). ``false`` when the policy
    allows no edit.
    """
    if int(policy.street_name_max_edits) <= 0:
        return "false"
    return f"(CASE WHEN {_near_names(request, record, policy)} " \
           f"THEN {_same_frame(request, record)} ELSE false END)"


def same_delivery_point(request: str, record: str, policy: Policy,
                        streets: str = "filings") -> str:
    """SQL, true where the address of ``request`` names the same delivery point as that
    of ``record`` (the module's rule); NULL or false otherwise (wrap in ``coalesce``).

    ``request``, ``record``: SQL expressions with the standardized address fields
    (``a_number``, ``a_street``, ``a_street_name``, ``a_unit``, ``a_po_box``,
    ``a_zip5``), e.g. ``"r"`` for the request row and ``"o.aor"`` for a struct of the
    address of record. ``streets``: a relation with ``a_zip5`` and ``a_street_name``
    whose rows include every street name filed in each ZIP where :func:`near_spelling`
    holds: ``filings`` itself, or the smaller relation of :func:`gazetteer_sql`.
    """
    r, o = request, record
    edits = int(policy.street_name_max_edits)
    exact = f"""(
      ({r}.a_po_box IS NOT NULL AND {r}.a_po_box = {o}.a_po_box
       AND {r}.a_street = {o}.a_street AND {r}.a_zip5 = {o}.a_zip5)
      OR ({_same_place_and_number(r, o)} AND {r}.a_street = {o}.a_street)
    )"""
    if edits <= 0:
        return exact
    no_nearer = f"""NOT EXISTS (
        SELECT 1 FROM {streets} _dp_street
        WHERE _dp_street.a_zip5 = {r}.a_zip5
          AND _dp_street.a_street_name <> {o}.a_street_name
          AND abs(length(_dp_street.a_street_name) - length({r}.a_street_name)) <= {edits}
          AND damerau_levenshtein(_dp_street.a_street_name, {r}.a_street_name) <= {edits})"""
    # CASE evaluates each branch only on the rows that reach it: the street parts and the
    # gazetteer are looked at only for a near name
    return f"""(CASE WHEN {exact} THEN true
                     WHEN {_near_names(r, o, policy)}
                       THEN {_same_frame(r, o)} AND {no_nearer}
                     ELSE false END)"""


def gazetteer_sql(zips: str, filings: str = "filings") -> str:
    """SQL: every distinct (``a_zip5``, ``a_street_name``) filed in the ZIPs that the
    query ``zips`` (one column, ``a_zip5``) returns: the ``streets`` relation of
    :func:`same_delivery_point` for the requests whose ZIPs ``zips`` covers."""
    return f"""
        SELECT DISTINCT a_zip5, a_street_name FROM {filings}
        WHERE a_street_name IS NOT NULL AND a_zip5 IN (SELECT a_zip5 FROM ({zips}))"""


def _same_place_and_number(r: str, o: str) -> str:
    """Same house number, same ZIP5, same unit where both give one."""
    return f"""({r}.a_number IS NOT NULL AND {r}.a_number = {o}.a_number
      AND {r}.a_zip5 = {o}.a_zip5
      AND ({r}.a_unit IS NULL OR {o}.a_unit IS NULL OR {r}.a_unit = {o}.a_unit))"""


def _near_names(r: str, o: str, policy: Policy) -> str:
    """Same number, ZIP5 and unit; street names of letters, long enough, differing by at
    most the policy's edits."""
    edits = int(policy.street_name_max_edits)
    # never below 3 letters: a one- or two-letter name (N, NE) reads as a directional
    min_len = max(int(policy.street_name_min_length_for_edits), 3)
    return f"""({_same_place_and_number(r, o)}
      AND {r}.a_street_name <> {o}.a_street_name
      AND length({r}.a_street_name) >= {min_len} AND length({o}.a_street_name) >= {min_len}
      AND damerau_levenshtein({r}.a_street_name, {o}.a_street_name) <= {edits}
      AND regexp_full_match({r}.a_street_name, {_LETTERS})
      AND regexp_full_match({o}.a_street_name, {_LETTERS}))"""


def _same_frame(r: str, o: str) -> str:
    """The same pre-directional, street type and post-directional around the names."""
    mine = street_parts_sql(f"{r}.a_street", f"{r}.a_street_name")
    theirs = street_parts_sql(f"{o}.a_street", f"{o}.a_street_name")
    return f"({mine} = {theirs} AND ({mine}).ok)"
