"""The successor candidates of R25 as one statement over every TIN of the touched name
keys: how ``taxgate.persons`` computed them for each request before the filing index
kept the shared pairs and name sides. The reference the lookups are tested against
(tests/test_persons_lookup.py); no product code reads it."""

from __future__ import annotations

from typing import Any

from taxgate import filing_index


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


def reference_successors(con: Any, pairs: str, gap: int, out: str) -> None:
    """TEMP table ``out``: every successor candidate among the TINs that share a name key
    with a TIN of ``pairs``, as the one statement found them."""
    keys = NAME_KEYS_SQL.format(pairs=pairs, tin_names=filing_index.TIN_NAMES)
    con.execute(f"CREATE OR REPLACE TEMP TABLE {out} AS " + SUCCESSORS_SQL.format(
        tkeys=f"({keys})", gap=gap, anywhere=_anywhere(gap), tins=filing_index.TINS))
