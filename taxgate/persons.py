"""Persons, not TINs (R25), and their address of record (contract §3): SQL shared by the
machine's decision (:mod:`taxgate.policy`) and the one gate every CONFIRMED passes
(:mod:`taxgate.confirm`).

An ITIN and an SSN of one name that are one person (the holder got an SSN) are linked
before matching so one person is not split in two; a pair that only *may* be one
person withholds a confirmation unless the address is the two TINs' address of record
together. Each statement is a template over the relations it names in braces.
"""

from __future__ import annotations

from typing import Any

from taxgate import filing_index
from taxgate.settings import Policy


def _only_partners(name: str, keys: tuple[str, ...], where: str, gap: int, rows: str,
                   counts: str) -> str:
    """CTEs ending in ``name``: (itin, ssn) adjacent in any state (the SSN begins at most
    ``gap`` years after the ITIN's last), each the other's only such partner among the
    TINs that agree on ``keys``: the ITINs of the name sides ``rows`` paired, counted
    over ``counts`` (:data:`SIDE_COUNTS_SQL` of every side of those ITINs' keys). Found
    from counts per key and year, so a common name's namesakes are never paired one by
    one."""
    k = ", ".join(keys)
    on = " AND ".join(f"e.{c} = i.{c}" for c in keys)
    firsts = ", ".join(f"any_value(a.{c}) AS {c}" for c in keys)
    return f"""{name}_starts AS (
  SELECT {k}, y, sum(n) AS n, any_value(tin) AS tin
  FROM {counts} WHERE NOT is_itin AND {where} GROUP BY ALL
),
{name}_ends AS (
  SELECT {k}, y AS ly, sum(n) AS n FROM {counts} WHERE is_itin AND {where} GROUP BY ALL
),
{name} AS (
  SELECT i.itin, i.ssn FROM (
    SELECT a.tin AS itin, any_value(s.tin) AS ssn, any_value(s.y) AS fy, {firsts}
    FROM (SELECT tin, {k}, unnest(range(ly + 1, ly + {gap} + 1)) AS y
          FROM {rows} WHERE is_itin AND {where}) a
    JOIN {name}_starts s USING ({k}, y)
    GROUP BY a.tin HAVING sum(s.n) = 1
  ) i
  JOIN {name}_ends e ON {on} AND e.ly BETWEEN i.fy - {gap} AND i.fy - 1
  GROUP BY i.itin, i.ssn HAVING sum(e.n) = 1
)"""


# The name sides ``sides`` counted per name key, suffix, ITIN or not and year (an SSN's
# first, an ITIN's last), with one of their TINs (the TIN where the count is one): what
# ``_only_partners`` counts, without a row per side (838,169 sides for a 10,000-record
# request at 10.3M filings).
SIDE_COUNTS_SQL = """
SELECT n_first, n_surname1, sfx, is_itin, CASE WHEN is_itin THEN ly ELSE fy END AS y,
       count(*) AS n, any_value(tin) AS tin
FROM {sides} GROUP BY ALL
"""


# Adjacent in any state: each the other's only such partner by name key, or, when the
# names carry a generational suffix (JR, SR, III), by name key and that suffix (the
# son's ITIN and SSN, when a namesake without it also begins then: at 10.3M filings,
# LORENZO VASQUEZ JR, NY to CA, beside another LORENZO VASQUEZ's new SSN).
def _anywhere(gap: int, rows: str, counts: str) -> str:
    """CTEs ending in ``anywhere`` (itin, ssn) for the ITINs of the name sides ``rows``."""
    return (_only_partners("by_name", ("n_first", "n_surname1"), "true", gap, rows, counts)
            + ",\n" + _only_partners("by_suffix", ("n_first", "n_surname1", "sfx"),
                                     "sfx <> ''", gap, rows, counts)
            + ",\nanywhere AS (SELECT itin, ssn FROM by_name\n"
              "  UNION SELECT itin, ssn FROM by_suffix)")


# Persons (R25). An ITIN and an SSN that share a name key (first name, first surname)
# are *successor candidates* when the ITIN's last tax year is before the SSN's first (a
# holder who got an SSN files under it from then on), and neither their dates of birth
# nor their full double surnames disagree. Only the candidates that can matter are
# looked for (PERSONS_SQL, SOFT_LINKS_SQL): those sharing a DOB, an address or a full
# double surname (the filing index's shared pairs, kept at load), or *adjacent* (the SSN
# begins at most ``policy.successor_gap_years`` years after the ITIN's end, in the state
# it left, or in any state as each other's only adjacent partner: ``anywhere``, found
# from counts per name key and year, so a common name's namesakes are never paired
# nationwide). Every ITIN against every SSN of the key was 274M pairs at 10M filings,
# for 1.7M candidates.
#
# The name keys are those of the TINs the scored pairs touch (the *touched* TINs), and a
# pair counts only through a name key among them. Within that, a request reads only the
# rows its decision reads, by TIN or name key from the filing index (its name sides and
# shared pairs), step by step (``_steps``): the pairs of R, the touched TINs and their
# partners by date of birth (the TINs their persons can be made of); the adjacent pairs
# of the TINs adjacent to R (whether each is the other's only one); and the only
# partners anywhere of R, counted per name key and year over every TIN of the keys of
# the ITINs that could be one. PERSONS_SQL and SOFT_LINKS_SQL then give, for the touched
# TINs and every TIN of their persons, exactly what they gave from every pair among all
# TINs of the touched keys (tests/test_persons_lookup.py); rows about other TINs may be
# missing or incomplete, and nothing reads them.
_IN_KEYS = "JOIN _sx_keys USING (n_first, n_surname1)"

# Every step after the keys reads the name sides of the keys (KEY_SIDES), and nothing
# else of them: the rows of the touched TINs' keys hold every side a step joins to. A
# request of few keys copies them once (at 10.3M filings, 100 records: 100 keys, 50,527
# sides, and nine steps read those instead of the index's 2.1M); one of many reads them
# from the index in each step, which costs less than copying a third of the index or
# more (10,000 records: 6,329 keys, 1.25M sides; even at about 2,400 keys).
KEY_SIDES = "_sx_ks"
COPY_KEYS_AT_MOST = 2000

# Adjacent in the state the ITIN left: pairs with a side among the name sides ``rows``,
# and whether the pair may be kept without a value in common (``bare_ok``: neither both
# give a date of birth nor both a full double surname; see SUCCESSORS_SQL).
ADJACENT_SQL = """
SELECT a.tin AS itin, b.tin AS ssn,
       NOT (a.has_full AND b.has_full) AND NOT (a.has_dob AND b.has_dob) AS bare_ok
FROM (SELECT *, unnest(range(ly + 1, ly + {gap} + 1)) AS y FROM {rows} WHERE is_itin) a
JOIN {sides} b ON b.n_first = a.n_first AND b.n_surname1 = a.n_surname1
 AND b.first_state = a.last_state AND b.fy = a.y
WHERE NOT b.is_itin
UNION
SELECT a.tin, b.tin, NOT (a.has_full AND b.has_full) AND NOT (a.has_dob AND b.has_dob)
FROM {sides} a
JOIN (SELECT *, unnest(range(fy - {gap}, fy)) AS y FROM {rows} WHERE NOT is_itin) b
  ON a.n_first = b.n_first AND a.n_surname1 = b.n_surname1
 AND a.last_state = b.first_state AND a.ly = b.y
WHERE a.is_itin
"""

# The adjacent pairs of the TINs adjacent to R are read only to count, per TIN, its
# loose pairs (adjacent, sharing nothing: SOFT_LINKS_SQL's "only one"); whether it has
# one or more is all that is read, so two per TIN are kept (of 1.2M such pairs for a
# 100,000-record request at 10.3M filings, common names' namesakes).
LOOSE_TWO_SQL = """
SELECT itin, ssn FROM ({adjacent}) q
WHERE bare_ok AND NOT EXISTS (
  SELECT 1 FROM {shared} s WHERE s.itin = q.itin AND s.ssn = q.ssn)
QUALIFY row_number() OVER (PARTITION BY itin ORDER BY ssn) <= 2
     OR row_number() OVER (PARTITION BY ssn ORDER BY itin) <= 2
"""


# The pairs found, with what they share: a pair that shares a value is a shared pair of
# the index if nothing disagrees (then its flags are the index's); one that is not
# shares nothing, so it is kept only when neither both give a date of birth nor both a
# full double surname (they would disagree), and shares no DOB, address or surname.
SUCCESSORS_SQL = """
WITH found AS (
  SELECT itin, ssn FROM _sx_shared UNION SELECT itin, ssn FROM _sx_adj
  UNION SELECT itin, ssn FROM _sx_adjx UNION SELECT itin, ssn FROM _sx_any
),
prof AS (
  SELECT DISTINCT tin, fy, ly, first_state, last_state, first_zip3, last_zip3, has_dob,
         has_full
  FROM {sides} WHERE tin IN (SELECT itin FROM found UNION SELECT ssn FROM found)
),
shared AS (
  SELECT DISTINCT itin, ssn, by_dob, shared_address, same_full_name FROM {shared}
  WHERE itin IN (SELECT itin FROM found) AND ssn IN (SELECT ssn FROM found)
)
SELECT f.itin, f.ssn,
       coalesce(s.by_dob, false) AS by_dob,
       coalesce(s.shared_address, false) AS shared_address,
       coalesce(s.same_full_name, false) AS same_full_name,
       b.fy - a.ly <= {gap} AND a.last_state = b.first_state AS adjacent,
       a.last_zip3 = b.first_zip3 AS nearby,
       (f.itin, f.ssn) IN (SELECT (itin, ssn) FROM _sx_any) AS only_pair_anywhere
FROM found f JOIN prof a ON a.tin = f.itin JOIN prof b ON b.tin = f.ssn
LEFT JOIN shared s ON s.itin = f.itin AND s.ssn = f.ssn
WHERE b.fy - a.ly > 0  -- (not "a.ly < b.fy": DuckDB would plan prof x prof on it)
  AND (s.itin IS NOT NULL
       OR NOT (a.has_full AND b.has_full) AND NOT (a.has_dob AND b.has_dob))
"""


def _steps(pairs: str, gap: int) -> list[tuple[str, str]]:
    """(temp table, SELECT) in order: what create_successors reads, step by step."""
    shared = filing_index.SHARED_PAIRS
    sides = KEY_SIDES  # every step after it reads the name sides of the keys from it
    adjacent = ADJACENT_SQL.format(gap=gap, sides=sides, rows="{rows}")
    in_r = "IN (SELECT tin FROM _sx_r)"
    return [
        ("_sx_t", f"SELECT DISTINCT tin FROM {pairs}"),
        # the touched TINs' partners by date of birth, by any key for now, and every
        # name side of both: the keys, and the sides of R, from one pass by TIN
        ("_sx_tl", f"SELECT itin, ssn, n_first, n_surname1 FROM {shared} WHERE by_dob AND "
                   f"(itin IN (SELECT tin FROM _sx_t) OR ssn IN (SELECT tin FROM _sx_t))"),
        ("_sx_ts", f"SELECT s.* FROM {filing_index.NAME_SIDES} s WHERE s.tin IN ("
                   f"SELECT tin FROM _sx_t UNION SELECT itin FROM _sx_tl "
                   f"UNION SELECT ssn FROM _sx_tl)"),
        ("_sx_keys", "SELECT DISTINCT n_first, n_surname1 FROM _sx_ts "
                     "WHERE tin IN (SELECT tin FROM _sx_t)"),
        (KEY_SIDES, f"SELECT s.* FROM {filing_index.NAME_SIDES} s {_IN_KEYS}"),
        ("_sx_links", f"SELECT itin, ssn FROM _sx_tl {_IN_KEYS}"),
        ("_sx_r", "SELECT tin FROM _sx_t UNION SELECT itin FROM _sx_links "
                  "UNION SELECT ssn FROM _sx_links"),
        ("_sx_shared", f"SELECT DISTINCT itin, ssn FROM {shared} {_IN_KEYS} "
                       f"WHERE itin {in_r} OR ssn {in_r}"),
        ("_sx_rs", f"SELECT s.* FROM _sx_ts s {_IN_KEYS} WHERE s.tin {in_r}"),
        ("_sx_adj", adjacent.format(rows="_sx_rs")),
        ("_sx_xs", f"SELECT s.* FROM {sides} s WHERE s.tin IN "
                   f"(SELECT itin FROM _sx_adj UNION SELECT ssn FROM _sx_adj)"),
        ("_sx_adjx", LOOSE_TWO_SQL.format(adjacent=adjacent.format(rows="_sx_xs"),
                                          shared=shared)),
        # the ITINs that may be the only partner anywhere of a TIN of R: its ITINs, and
        # those of an SSN's keys that end within the gap before it begins
        ("_sx_as", f"""SELECT s.* FROM {sides} s WHERE s.is_itin AND s.tin IN (
                         SELECT tin FROM _sx_rs WHERE is_itin
                         UNION SELECT i.tin FROM {sides} i JOIN _sx_rs r
                           ON i.n_first = r.n_first AND i.n_surname1 = r.n_surname1
                         WHERE i.is_itin AND NOT r.is_itin
                           AND i.ly BETWEEN r.fy - {gap} AND r.fy - 1)"""),
        ("_sx_n", SIDE_COUNTS_SQL.format(
            sides=f"(SELECT s.* FROM {sides} s JOIN (SELECT DISTINCT n_first, n_surname1 "
                  f"FROM _sx_as) USING (n_first, n_surname1))")),
        ("_sx_any", f"WITH {_anywhere(gap, '_sx_as', '_sx_n')} SELECT itin, ssn FROM "
                    f"anywhere WHERE itin {in_r} OR ssn {in_r}"),
    ]


def create_successors(con: Any, pairs: str, policy: Policy, out: str, *,
                      copy_keys_at_most: int = COPY_KEYS_AT_MOST) -> None:
    """TEMP table ``out``: the successor candidates (SUCCESSORS_SQL) that decide for the
    TINs of ``pairs``, adjacent within the policy's years, read from the filing index by
    TIN and name key (the steps' tables ``_sx_*`` dropped after). The name sides of the
    keys are copied once when there are at most ``copy_keys_at_most`` keys, else read
    from the index by each step (:data:`COPY_KEYS_AT_MOST`; the same rows either way)."""
    gap = int(policy.successor_gap_years)
    steps = _steps(pairs, gap)
    kinds = dict.fromkeys((table for table, _ in steps), "TABLE")
    try:
        for table, select in steps:
            if table == KEY_SIDES:
                row = con.execute("SELECT count(*) FROM _sx_keys").fetchone()
                kinds[table] = "TABLE" if row and row[0] <= copy_keys_at_most else "VIEW"
            con.execute(f"CREATE OR REPLACE TEMP {kinds[table]} {table} AS {select}")
        # a TIN's profile is the same on each of its name sides: read from the copy,
        # or by TIN alone from the index (the keys' view would join every side first)
        prof = KEY_SIDES if kinds[KEY_SIDES] == "TABLE" else filing_index.NAME_SIDES
        con.execute(f"CREATE OR REPLACE TEMP TABLE {out} AS " + SUCCESSORS_SQL.format(
            sides=prof, shared=filing_index.SHARED_PAIRS, gap=gap))
    finally:
        for table, kind in kinds.items():
            con.execute(f"DROP {kind} IF EXISTS {table}")


# One person: a successor pair corroborated by a shared date of birth, and neither TIN
# has another corroborated partner. Measured on the labelled set (1M filings, seed 1):
# 8,905 of 8,948 links right; the 43 wrong ones are namesakes born the same day.
PERSONS_SQL = """
WITH touched AS (SELECT DISTINCT tin FROM {pairs}),
links AS (SELECT itin, ssn FROM {successors} WHERE by_dob),
unique_links AS (
  SELECT itin, ssn FROM links
  WHERE itin IN (SELECT itin FROM links GROUP BY itin HAVING count(DISTINCT ssn) = 1)
    AND ssn IN (SELECT ssn FROM links GROUP BY ssn HAVING count(DISTINCT itin) = 1)
)
SELECT DISTINCT itin AS tin, ssn AS person_id FROM unique_links
UNION ALL SELECT DISTINCT ssn, ssn FROM unique_links
UNION ALL SELECT t.tin, t.tin FROM touched t
  WHERE t.tin NOT IN (SELECT itin FROM unique_links UNION ALL SELECT ssn FROM unique_links)
"""

# Possibly one person: a successor pair with a DOB in common but not unique, or without
# a DOB on one side but sharing an address or a full double surname, or *adjacent*: the
# SSN begins within two years of the ITIN's end, in the state the ITIN left, and either
# near (the same 3-digit ZIP area) or the only such partner of both; or, in any state,
# the only adjacent partner of both anywhere (the holder moved when switching: one of
# the last two false confirmations at 10.3M filings, NY to CA). Never merged (that
# could make father and son of one name one candidate); it can only take a confirmation
# away: the submitted address must then also be the address of record of the two
# together, and a hold on either withholds (:func:`taxgate.confirm.confirmable`).
# Without the adjacent pairs, an ITIN holder whose SSN filings give no DOB and who
# moved when switching had the ITIN's last address
# confirmed (13 false confirmations at 10M filings). Every adjacent pair in the state
# withheld 1.2 points of recall at that size (namesakes grow with the store), hence
# "near or the only one". Measured in bench/results/quality.md and scale.md.
SOFT_LINKS_SQL = """
WITH loose AS (
  SELECT itin, ssn, nearby,
         count(*) OVER (PARTITION BY itin) = 1 AND count(*) OVER (PARTITION BY ssn) = 1
           AS only_one
  FROM {successors}
  WHERE adjacent AND NOT (by_dob OR shared_address OR same_full_name)
)
SELECT DISTINCT s.itin, s.ssn FROM {successors} s
WHERE s.by_dob OR s.shared_address OR s.same_full_name
UNION
SELECT itin, ssn FROM loose WHERE nearby OR only_one
UNION
SELECT itin, ssn FROM {successors} WHERE only_pair_anywhere
"""

# The address of record of each candidate person over all its TINs: the latest of the
# filing index's addresses of record per TIN and tax year within the periods.
ADDRESS_OF_RECORD_SQL = """
SELECT p.person_id, arg_max(a.aor, a.aor_rank) AS aor
FROM {addresses} a JOIN {persons} p ON p.tin = a.tin
WHERE a.tax_year IN ({periods})
  AND p.person_id IN (SELECT DISTINCT person_id FROM {candidates})
GROUP BY p.person_id
"""
