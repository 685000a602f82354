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


def _only_partners(name: str, keys: tuple[str, ...], where: str, gap: int) -> str:
    """CTE ``name``: (itin, ssn) adjacent in any state (the SSN begins at most ``gap``
    years after the ITIN's last), each the other's only such partner among the TINs that
    agree on ``keys``. Found from counts per key and year, so a common name's namesakes
    are never paired one by one."""
    k = ", ".join(keys)
    on = " AND ".join(f"e.{c} = i.{c}" for c in keys)
    firsts = ", ".join(f"any_value(a.{c}) AS {c}" for c in keys)
    return f"""{name}_starts AS (
  SELECT {k}, fy AS y, count(*) AS n, any_value(tin) AS tin
  FROM sides WHERE NOT is_itin AND {where} GROUP BY ALL
),
{name}_ends AS (
  SELECT {k}, ly, count(*) AS n FROM sides WHERE is_itin AND {where} GROUP BY ALL
),
{name} AS (
  SELECT i.itin, i.ssn FROM (
    SELECT a.tin AS itin, any_value(s.tin) AS ssn, any_value(s.y) AS fy, {firsts}
    FROM (SELECT tin, {k}, unnest(range(ly + 1, ly + {gap} + 1)) AS y
          FROM sides WHERE is_itin AND {where}) a
    JOIN {name}_starts s USING ({k}, y)
    GROUP BY a.tin HAVING sum(s.n) = 1
  ) i
  JOIN {name}_ends e ON {on} AND e.ly BETWEEN i.fy - {gap} AND i.fy - 1
  GROUP BY i.itin, i.ssn HAVING sum(e.n) = 1
),
"""


# Adjacent in any state: each the other's only such partner by name key, or, when the
# names carry a generational suffix (JR, SR, III), by name key and that suffix (the
# son's ITIN and SSN, when a namesake without it also begins then: at 10.3M filings,
# LORENZO VASQUEZ JR, NY to CA, beside another LORENZO VASQUEZ's new SSN).
def _anywhere(gap: int) -> str:
    return (_only_partners("by_name", ("n_first", "n_surname1"), "true", gap)
            + _only_partners("by_suffix", ("n_first", "n_surname1", "sfx"), "sfx <> ''", gap)
            + "anywhere AS (SELECT itin, ssn FROM by_name\n"
              "  UNION SELECT itin, ssn FROM by_suffix),\n")


# Persons (R25). Every TIN that shares a name key (first name, first surname) with a
# TIN the scored pairs touched is profiled; an ITIN and an SSN are *successor
# candidates* when they share the name key, the ITIN's last tax year is before the
# SSN's first (a holder who got an SSN files under it from then on), and neither
# their dates of birth nor their full double surnames disagree. Only the candidates
# that can matter are looked for (PERSONS_SQL, SOFT_LINKS_SQL): those sharing a DOB, an
# address or a full double surname, or *adjacent* (the SSN begins at most
# ``policy.successor_gap_years`` years after the ITIN's end, in the state it left, or in
# any state as each other's only adjacent partner: ``anywhere``, found from counts per
# name key and year, so a common name's namesakes are never paired nationwide), each
# found by an equality join on the name key and that value. Every ITIN against
# every SSN of the key was 274M pairs at 10M filings, for 1.7M candidates. The names
# and profiles per TIN are the filing index's (taxgate.filing_index), kept at load.
#
# Two statements: the TINs that share a name key with a touched TIN (NAME_KEYS_SQL) are
# kept first, so DuckDB plans the rest knowing how few they are. As one statement it
# estimated billions and built its hash table on every TIN's profile (0.25 s of a
# one-record request at 1M filings, growing with the store).
NAME_KEYS_SQL = """
WITH touched AS (SELECT DISTINCT tin FROM {pairs}),
keys AS (
  SELECT DISTINCT n_first, n_surname1 FROM {tin_names}
  WHERE tin IN (SELECT tin FROM touched)
)
SELECT DISTINCT t.tin, t.n_first, t.n_surname1, left(t.tin, 1) = '9' AS is_itin
FROM {tin_names} t JOIN keys k USING (n_first, n_surname1)
"""

SUCCESSORS_SQL = """
WITH tkeys AS (SELECT * FROM {tkeys}),
prof AS (
  SELECT tin, dobs, fulls, addrs, fy, ly, sfx, first_state, last_state, first_zip3,
         last_zip3
  FROM {tins} WHERE tin IN (SELECT tin FROM tkeys)
),
sides AS (
  SELECT k.n_first, k.n_surname1, k.is_itin, p.* FROM tkeys k JOIN prof p USING (tin)
),
shared AS (  -- (side, name key, a DOB, address or full surname the TIN gives)
  SELECT is_itin, tin, n_first, n_surname1, 'd' || CAST(unnest(dobs) AS VARCHAR) AS v
  FROM sides
  UNION ALL SELECT is_itin, tin, n_first, n_surname1, 'a' || unnest(addrs) FROM sides
  UNION ALL SELECT is_itin, tin, n_first, n_surname1, 'f' || unnest(fulls) FROM sides
),
{anywhere}found AS (
  SELECT a.tin AS itin, b.tin AS ssn
  FROM shared a JOIN shared b USING (n_first, n_surname1, v)
  WHERE a.is_itin AND NOT b.is_itin
  UNION
  SELECT a.tin, b.tin
  FROM (SELECT *, unnest(range(ly + 1, ly + {gap} + 1)) AS next_year FROM sides
        WHERE is_itin) a
  JOIN (SELECT * FROM sides WHERE NOT is_itin) b
    ON a.n_first = b.n_first AND a.n_surname1 = b.n_surname1
   AND a.last_state = b.first_state AND a.next_year = b.fy
  UNION
  SELECT itin, ssn FROM anywhere
)
SELECT f.itin, f.ssn,
       len(a.dobs) > 0 AND len(b.dobs) > 0 AS by_dob,
       list_has_any(a.addrs, b.addrs) AS shared_address,
       list_has_any(a.fulls, b.fulls) AS same_full_name,
       b.fy - a.ly <= {gap} AND a.last_state = b.first_state AS adjacent,
       a.last_zip3 = b.first_zip3 AS nearby,
       (f.itin, f.ssn) IN (SELECT (itin, ssn) FROM anywhere) AS only_pair_anywhere
FROM found f JOIN prof a ON a.tin = f.itin JOIN prof b ON b.tin = f.ssn
WHERE b.fy - a.ly > 0  -- (not "a.ly < b.fy": DuckDB would plan prof x prof on it)
  AND NOT (len(a.fulls) > 0 AND len(b.fulls) > 0 AND NOT list_has_any(a.fulls, b.fulls))
  AND NOT (len(a.dobs) > 0 AND len(b.dobs) > 0 AND NOT list_has_any(a.dobs, b.dobs))
"""


def create_successors(con: Any, pairs: str, policy: Policy, out: str) -> None:
    """TEMP table ``out``: SUCCESSORS_SQL over the TINs of ``pairs``, adjacent within the
    policy's years, read from the filing index's names and profiles per TIN (the name
    keys kept first in ``_sx_tkeys``, dropped after)."""
    gap = int(policy.successor_gap_years)
    con.execute("CREATE OR REPLACE TEMP TABLE _sx_tkeys AS "
                + NAME_KEYS_SQL.format(pairs=pairs, tin_names=filing_index.TIN_NAMES))
    try:
        con.execute(f"CREATE OR REPLACE TEMP TABLE {out} AS " + SUCCESSORS_SQL.format(
            tkeys="_sx_tkeys", gap=gap, anywhere=_anywhere(gap), tins=filing_index.TINS))
    finally:
        con.execute("DROP TABLE IF EXISTS _sx_tkeys")


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
