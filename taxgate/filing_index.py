"""The filing index: what a request looks up about the filings, computed once at load.

Everything here depends on the filings alone, so it is computed when filings are
stored (``taxgate load``) and kept in the store beside them, and ``process`` reads it
instead of scanning and aggregating every filing for every request:

- ``filing_variants``: the distinct model inputs (:data:`MODEL_COLUMNS`), each under
  its lowest ``filing_id`` (10.3M filings hold 4.0M variants); candidate generation
  joins the request's blocking keys against it.
- ``filing_terms_<column>``: per term-frequency column (:data:`TF_COLUMNS`), the
  number of filings giving each value; a value's share is its count over the column's
  total, taken at lookup (:func:`term_shares_sql`), so it is the double a GROUP BY
  over all filings gives.
- ``filing_tins``: one row per TIN, its profile for persons (R25) and its hold (R6):
  dates of birth, full double surnames, delivery points, first and last tax year,
  suffix, first and last state and 3-digit ZIP, whether any filing carries a hold.
  Its row count is the prior's count of distinct TINs. In TIN order: a request of a
  few TINs reads the holds of the row groups around them alone.
- ``filing_tin_names``: every (TIN, first name, first surname) filed.
- ``filing_name_sides``: per (TIN, name key) of ``filing_tin_names``, what the
  successor rules (R25, :mod:`taxgate.persons`) compare by name key: ITIN or not, first
  and last tax year, suffix, first and last state and 3-digit ZIP, whether it gives a
  date of birth and a full double surname; in name key order.
- ``filing_shared_pairs``: every ITIN and SSN sharing a name key and a date of birth,
  a delivery point or a full double surname, the ITIN's last tax year before the SSN's
  first and neither their dates of birth nor their full double surnames disagreeing (the
  successor candidates of R25 found by a value in common), one row per name key they
  share, with what they share. A request reads the rows of its TINs by key.
- ``filing_addresses``: per TIN and tax year, the address of the filing that is the
  address of record among them (contract §3: latest processed, a change of address
  before a return processed the same day, then the filing id) and that filing's place
  in that order (``aor_rank``), in tax year then TIN order (a request reads the rows of
  its periods, so the scan skips the other years' row groups and never decodes their
  addresses; the same rows in any order): the address of record over any set of periods
  and TINs is the one with the highest ``aor_rank`` among their rows.
- ``filing_streets``: every street name filed per ZIP (the gazetteer of R24).
- ``filing_index_state``: how far the index goes (the highest ``filing_id`` and the
  number of filings it covers) and the version of this module's definitions.

Filing ids only grow from load to load, so an update reads only the filings above the
watermark: new variants are inserted (an existing variant's id never changes), term
counts are added to, new names and streets are inserted, and the profiles of the TINs
the new filings touch (their name sides and shared pairs included) are computed again
from all their filings. A store the index
does not cover (made before it existed, a load that stopped between storing the
filings and indexing them, or an index of another version) is brought up to date by
:func:`update`, rebuilt whole where the watermark cannot be trusted. Each statement
names its relations by a ``prefix`` (``store.main.`` on the embedded store, nothing in
an in-memory connection) and the relation of the filings it reads. See docs/store.md.
"""

from __future__ import annotations

from typing import Any

VERSION = 4  # of the definitions below: an index of another version is rebuilt

# Columns the person-match model reads on both sides: its inputs and blocking keys.
MODEL_COLUMNS = (
    "n_first", "n_first_canon", "n_first_xlang", "n_given_all", "n_middle_initial",
    "n_surnames", "n_surname1", "n_last", "n_suffix", "a_number", "a_street",
    "a_street_name", "a_unit", "a_po_box", "a_city", "a_state", "a_zip5", "a_key", "dob",
    "tin",
)

# Columns whose values are weighed by their share of the filings (term frequencies).
TF_COLUMNS = ("n_first", "n_last", "n_surname1", "a_key", "a_bldg")

# The building of a street address (house number, street and ZIP5, the unit aside):
# "same building" (one side gives no unit, or another) is weighed by the building's
# share of the filings, as "same delivery point" is by the address's, so its weight
# follows the store's size as the prior does, and a crowded building counts for less.
A_BLDG = ("CASE WHEN {p}a_number IS NOT NULL AND {p}a_street IS NOT NULL AND {p}a_zip5 "
          "IS NOT NULL THEN concat_ws('|', {p}a_number, {p}a_street, {p}a_zip5) END")

# The columns the terms are read from.
TERM_SOURCES = ("n_first", "n_last", "n_surname1", "a_key", "a_number", "a_street", "a_zip5")

VARIANTS = "filing_variants"
TINS = "filing_tins"
TIN_NAMES = "filing_tin_names"
ADDRESSES = "filing_addresses"
STREETS = "filing_streets"
NAME_SIDES = "filing_name_sides"
SHARED_PAIRS = "filing_shared_pairs"
STATE = "filing_index_state"


def terms_table(column: str) -> str:
    """The table of value counts of a term-frequency column."""
    return f"filing_terms_{column}"


TABLES = (VARIANTS, TINS, TIN_NAMES, ADDRESSES, STREETS, NAME_SIDES, SHARED_PAIRS,
          *(terms_table(c) for c in TF_COLUMNS), STATE)


def term_expression(column: str, p: str = "") -> str:
    """SQL of a term-frequency column's value on a row whose columns ``p`` prefixes."""
    return A_BLDG.format(p=p) if column == "a_bldg" else f"{p}{column}"


def term_shares_sql(column: str, counts: str, values: str | None = None) -> str:
    """SELECT (``column``, ``tf_<column>``: its share of the filings giving one) from the
    counts table ``counts``; only the values that the query ``values`` (one column)
    returns, when given. The share is count / total, as ``count(*) / sum(count(*))
    OVER ()`` over the filings computes it."""
    where = f"WHERE t.{column} IN ({values})" if values else ""
    return f"""SELECT t.{column}, t.n / (SELECT sum(n) FROM {counts}) AS tf_{column}
               FROM {counts} t {where}"""


# --- building and updating --------------------------------------------------------------


def _variants(filings: str) -> str:
    cols = ", ".join(MODEL_COLUMNS)
    return f"SELECT min(filing_id) AS filing_id, {cols} FROM {filings} GROUP BY ALL"


def _terms(column: str, filings: str) -> str:
    return f"""SELECT {column}, count(*) AS n
               FROM (SELECT {term_expression(column)} AS {column} FROM {filings})
               WHERE {column} IS NOT NULL GROUP BY {column}"""


def _tin_names(filings: str) -> str:
    return f"""SELECT DISTINCT tin, n_first, n_surname1 FROM {filings}
               WHERE tin IS NOT NULL AND n_first IS NOT NULL AND n_surname1 IS NOT NULL"""


def _streets(filings: str) -> str:
    return f"""SELECT DISTINCT a_zip5, a_street_name FROM {filings}
               WHERE a_zip5 IS NOT NULL AND a_street_name IS NOT NULL"""


# A filing's address, and its place in the order that makes one filing's address the
# address of record (contract §3): latest processed, a change of address (Form 8822)
# before a return processed the same day, then the filing id.
_ADDRESS = ("struct_pack(a_number, a_street, a_street_name, a_unit, a_po_box, a_zip5, "
            "a_city, a_state)")
# Orders are packed into one HUGEINT, (days << 66) + (source rank << 64) + filing id
# (offset to be non-negative): the same order as the tuple, at a fraction of the cost
# of comparing structs in arg_max over every filing.
_DAYS = "CAST(CAST(processed_date AS DATE) - DATE '1970-01-01' AS HUGEINT)"
_ID = "(CAST(filing_id AS HUGEINT) + 9223372036854775808)"
_RECORD_ORDER = (f"(({_DAYS} << 66) + (CAST(CASE source WHEN 'F8822' THEN 2 ELSE 1 END "
                 f"AS HUGEINT) << 64) + {_ID})")
_DATE_ORDER = f"(({_DAYS} << 64) + {_ID})"  # processed_date, then filing_id


def _addresses(filings: str, where: str = "", order: str = _RECORD_ORDER) -> str:
    """Per TIN and tax year, the address of record and its ``order`` (``aor_rank``).
    The group keeps only the winning filing's id (its order is unique: it ends in the
    filing id) and the address is joined to it after: 10.3M filings make 9.7M groups,
    and carrying every filing's address through the aggregate costs more than the join."""
    return f"""SELECT g.tin, g.tax_year, a.aor, g.aor_rank
               FROM (SELECT tin, tax_year, arg_max(filing_id, {order}) AS winner,
                            max({order}) AS aor_rank
                     FROM {filings} WHERE tin IS NOT NULL {where} GROUP BY tin, tax_year) g
               JOIN (SELECT filing_id, {_ADDRESS} AS aor
                     FROM {filings} WHERE tin IS NOT NULL {where}) a
                 ON a.filing_id = g.winner
               ORDER BY g.tax_year, g.tin"""


def _distinct(value: str, given: str | None = None) -> str:
    """The sorted distinct non-NULL ``value``s of a group's rows ([] for none), made
    distinct after the aggregate (a DISTINCT aggregate costs a hash table of its own
    over every filing). NULLs never enter: DuckDB's list_distinct drops them, and
    Spark's collect_list skips them. Only the rows ``given`` (when given) are read."""
    rows = f" FILTER (WHERE {given})" if given else ""
    return f"coalesce(list_sort(list_distinct(list({value}){rows})), [])"


# A full double surname: the surnames (two or more) sorted, joined by a space; two: compared.
_S1, _S2 = "n_surnames[1]", "n_surnames[2]"
_FULL_SURNAME = (f"CASE WHEN array_length(n_surnames) = 2 AND {_S1} IS NOT NULL AND {_S2} IS NOT "
                 f"NULL THEN CASE WHEN {_S1} <= {_S2} THEN {_S1} || ' ' || {_S2} ELSE {_S2} || "
                 f"' ' || {_S1} END WHEN array_length(n_surnames) >= 2 THEN "
                 f"array_to_string(list_sort(n_surnames), ' ') END")


def _profiles(filings: str, where: str = "", order: str = _DATE_ORDER) -> str:
    """One row per TIN of ``filings`` (``where``: which TINs). Lists are sorted and ties
    in processed_date are broken by filing_id (``order``), so a profile is the same
    however the filings were scanned."""
    place = "struct_pack(s := a_state, z := left(a_zip5, 3))"
    dated = "FILTER (WHERE processed_date IS NOT NULL)"
    return f"""
        SELECT tin, dobs, fulls, addrs, fy, ly, sfx, first_place.s AS first_state,
               last_place.s AS last_state, first_place.z AS first_zip3,
               last_place.z AS last_zip3, held
        FROM (
          SELECT tin,
                 {_distinct("dob")} AS dobs,
                 {_distinct(_FULL_SURNAME, "array_length(n_surnames) >= 2")} AS fulls,
                 {_distinct("a_key")} AS addrs,
                 min(tax_year) AS fy, max(tax_year) AS ly, coalesce(max(n_suffix), '') AS sfx,
                 arg_min({place}, {order}) {dated} AS first_place,
                 arg_max({place}, {order}) {dated} AS last_place,
                 bool_or(coalesce(upper(trim(disclosure_hold)), '') = 'Y') AS held
          FROM {filings} WHERE tin IS NOT NULL {where} GROUP BY tin
        ) ORDER BY tin"""


def _name_sides(p: str, where: str = "") -> str:
    """Per (TIN, name key) of the index's names (``where``: which TINs), the TIN's
    profile as the successor rules compare it (reads the index's TINs and names)."""
    return f"""SELECT k.tin, k.n_first, k.n_surname1, left(k.tin, 1) = '9' AS is_itin,
                      t.fy, t.ly, t.sfx, t.first_state, t.last_state, t.first_zip3,
                      t.last_zip3, {_size("t.dobs")} > 0 AS has_dob,
                      {_size("t.fulls")} > 0 AS has_full
               FROM {p}{TIN_NAMES} k JOIN {p}{TINS} t USING (tin) {where}
               ORDER BY n_first, n_surname1, tin"""


def _sides_values(p: str, where: str = "") -> str:
    """The name sides (``where``: which rows) with their TIN's years and values."""
    return f"""SELECT s.is_itin, s.tin, s.n_first, s.n_surname1, t.fy, t.ly, dobs, addrs, fulls
               FROM {p}{NAME_SIDES} s JOIN {p}{TINS} t USING (tin) {where}"""


def _shared_values(sides: str) -> str:
    """(is_itin, tin, name key, fy, ly, v): each date of birth, delivery point and full double
    surname of each (TIN, name key) of ``sides`` (:func:`_sides_values`), and its years."""
    cols = "is_itin, tin, n_first, n_surname1, fy, ly"
    return " UNION ALL ".join(
        f"SELECT {cols}, '{tag}' || CAST(x AS VARCHAR) AS v "
        f"FROM (SELECT {cols}, unnest({values}) AS x FROM {sides})"
        for tag, values in (("d", "dobs"), ("a", "addrs"), ("f", "fulls")))


# (Lists the index's profiles hold never contain NULL, so "any in common" is a
# non-empty intersection; written so that it reads the same on Spark.)
def _size(values: str) -> str:
    return f"array_length({values})"


def _overlap(a: str, b: str) -> str:
    return f"array_length(array_intersect({a}, {b})) > 0"


def _shared_pairs(p: str, touched: str | None = None) -> str:
    """The successor candidates sharing a value (R25), per name key they share; only
    those with a TIN of the relation ``touched`` (one column, ``tin``) when given."""
    # an ITIN that filed last before the SSN's first: on the pairs of values, before DISTINCT
    before = "a.is_itin AND NOT b.is_itin AND b.fy - a.ly > 0"
    if touched is None:
        found = f"""WITH sides AS ({_sides_values(p)}), shared AS ({_shared_values("sides")})
          SELECT a.tin AS itin, b.tin AS ssn, n_first, n_surname1
          FROM shared a JOIN shared b USING (n_first, n_surname1, v)
          WHERE {before}"""
    else:  # the touched TINs' values against every value of their name keys
        mine = f"WHERE s.tin IN (SELECT tin FROM {touched})"
        keys = (f"JOIN (SELECT DISTINCT n_first, n_surname1 FROM {p}{NAME_SIDES} s {mine}) k "
                f"USING (n_first, n_surname1)")
        found = f"""WITH mine_sides AS ({_sides_values(p, mine)}),
          near_sides AS ({_sides_values(p, keys)}),
          mine AS ({_shared_values("mine_sides")}), near AS ({_shared_values("near_sides")})
          SELECT a.tin AS itin, b.tin AS ssn, n_first, n_surname1
          FROM mine a JOIN near b USING (n_first, n_surname1, v)
          WHERE {before}
          UNION SELECT a.tin, b.tin, n_first, n_surname1
          FROM near a JOIN mine b USING (n_first, n_surname1, v)
          WHERE {before}"""
    return f"""
        WITH found AS (SELECT DISTINCT * FROM ({found}))
        SELECT f.itin, f.ssn, f.n_first, f.n_surname1,
               {_size("a.dobs")} > 0 AND {_size("b.dobs")} > 0 AS by_dob,
               {_overlap("a.addrs", "b.addrs")} AS shared_address,
               {_overlap("a.fulls", "b.fulls")} AS same_full_name
        FROM found f JOIN {p}{TINS} a ON a.tin = f.itin JOIN {p}{TINS} b ON b.tin = f.ssn
        WHERE NOT ({_size("a.fulls")} > 0 AND {_size("b.fulls")} > 0
                   AND NOT {_overlap("a.fulls", "b.fulls")})
          AND NOT ({_size("a.dobs")} > 0 AND {_size("b.dobs")} > 0
                   AND NOT {_overlap("a.dobs", "b.dobs")})
        ORDER BY f.itin, f.ssn, f.n_first, f.n_surname1"""


# What the index reads of a filing besides the model's columns, and the type of each
# column it reads that is not VARCHAR. A column no load has brought yet reads as NULL,
# as it does for the filings of the loads before the one that brought it.
_READ = (*MODEL_COLUMNS, "tax_year", "processed_date", "disclosure_hold", "source")
_TYPES = {"n_given_all": "VARCHAR[]", "n_surnames": "VARCHAR[]", "dob": "DATE",
          "tax_year": "INTEGER", "processed_date": "DATE"}


def _source(con: Any, filings: str) -> str:
    """The filings as the index reads them: ``filing_id`` and the columns of ``_READ``."""
    have = {d[0] for d in con.execute(f"SELECT * FROM {filings} LIMIT 0").description}
    cols = ", ".join(c if c in have else f"CAST(NULL AS {_TYPES.get(c, 'VARCHAR')}) AS {c}"
                     for c in _READ)
    return f"(SELECT filing_id, {cols} FROM {filings})"


def _build(con: Any, p: str, filings: str) -> None:
    """Every index table from all of ``filings``, replacing any there was."""
    con.execute(f"CREATE OR REPLACE TABLE {p}{VARIANTS} AS {_variants(filings)}")
    for col in TF_COLUMNS:
        con.execute(f"CREATE OR REPLACE TABLE {p}{terms_table(col)} AS {_terms(col, filings)}")
    con.execute(f"CREATE OR REPLACE TABLE {p}{TINS} AS {_profiles(filings)}")
    con.execute(f"CREATE OR REPLACE TABLE {p}{TIN_NAMES} AS {_tin_names(filings)}")
    con.execute(f"CREATE OR REPLACE TABLE {p}{ADDRESSES} AS {_addresses(filings)}")
    con.execute(f"CREATE OR REPLACE TABLE {p}{STREETS} AS {_streets(filings)}")
    con.execute(f"CREATE OR REPLACE TABLE {p}{NAME_SIDES} AS {_name_sides(p)}")
    con.execute(f"CREATE OR REPLACE TABLE {p}{SHARED_PAIRS} AS {_shared_pairs(p)}")


def _not_in(p: str, table: str, new: str, cols: tuple[str, ...]) -> str:
    """INSERT the rows of ``new`` that ``table`` does not hold (NULL equals NULL)."""
    on = " AND ".join(f"t.{c} IS NOT DISTINCT FROM n.{c}" for c in cols)
    return (f"INSERT INTO {p}{table} SELECT n.* FROM ({new}) n "
            f"WHERE NOT EXISTS (SELECT 1 FROM {p}{table} t WHERE {on})")


def _extend(con: Any, p: str, filings: str, above: int) -> None:
    """Add to the index what the filings with ``filing_id > above`` bring."""
    new = f"(SELECT * FROM {filings} WHERE filing_id > {int(above)})"
    con.execute(_not_in(p, VARIANTS, _variants(new), MODEL_COLUMNS))
    for col in TF_COLUMNS:
        table = f"{p}{terms_table(col)}"
        con.execute(f"CREATE OR REPLACE TEMP TABLE _fx_delta AS {_terms(col, new)}")
        con.execute(f"UPDATE {table} t SET n = t.n + d.n FROM _fx_delta d "
                    f"WHERE t.{col} = d.{col}")
        con.execute(_not_in(p, terms_table(col), "SELECT * FROM _fx_delta", (col,)))
    con.execute("DROP TABLE IF EXISTS _fx_delta")
    con.execute(_not_in(p, TIN_NAMES, _tin_names(new), ("tin", "n_first", "n_surname1")))
    con.execute(_not_in(p, STREETS, _streets(new), ("a_zip5", "a_street_name")))
    # the TINs the new filings touch: profiles and addresses from all their filings
    con.execute(f"CREATE OR REPLACE TEMP TABLE _fx_touched AS SELECT DISTINCT tin FROM {new}")
    touched = "AND tin IN (SELECT tin FROM _fx_touched)"
    for table, select in ((TINS, _profiles), (ADDRESSES, _addresses)):
        con.execute(f"DELETE FROM {p}{table} WHERE tin IN (SELECT tin FROM _fx_touched)")
        con.execute(f"INSERT INTO {p}{table} {select(filings, touched)}")
    # their name sides, and every shared pair with one of them, from the new profiles
    con.execute(f"DELETE FROM {p}{NAME_SIDES} WHERE tin IN (SELECT tin FROM _fx_touched)")
    con.execute(f"INSERT INTO {p}{NAME_SIDES} "
                + _name_sides(p, "WHERE k.tin IN (SELECT tin FROM _fx_touched)"))
    con.execute(f"DELETE FROM {p}{SHARED_PAIRS} WHERE itin IN (SELECT tin FROM _fx_touched) "
                f"OR ssn IN (SELECT tin FROM _fx_touched)")
    con.execute(f"INSERT INTO {p}{SHARED_PAIRS} {_shared_pairs(p, '_fx_touched')}")
    con.execute("DROP TABLE _fx_touched")


def coverage(con: Any, p: str) -> tuple[int, int] | None:
    """(highest filing_id, number of filings) the index covers; None when there is no
    index of this version."""
    row = con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE table_name = ? AND "
        "(? = '' OR database_name = split_part(?, '.', 1))", [STATE, p, p]).fetchone()
    if not row or not row[0]:
        return None
    state = con.execute(f"SELECT version, indexed_through, indexed_filings "
                        f"FROM {p}{STATE}").fetchone()
    if state is None or int(state[0]) != VERSION:
        return None
    return int(state[1]), int(state[2])


def current(con: Any, p: str, filings: str) -> bool:
    """Whether the index covers exactly the filings of ``filings``."""
    return coverage(con, p) == _extent(con, filings)


def _extent(con: Any, filings: str, above: int | None = None) -> tuple[int, int]:
    """(highest filing_id, count) of the filings, or of those above ``above``."""
    where = "" if above is None else f"WHERE filing_id > {int(above)}"
    row = con.execute(f"SELECT coalesce(max(filing_id), 0), count(*) FROM {filings} "
                      f"{where}").fetchone()
    return (int(row[0]), int(row[1])) if row else (0, 0)


def update(con: Any, p: str, filings: str) -> bool:
    """Bring the index in ``p`` up to date with ``filings``: extend it by the filings
    above its watermark, or build it whole when there is none (or one of another
    version, or the filings below the watermark are not the ones it covers). Returns
    whether anything was written. Run it inside the store's transaction."""
    covered = coverage(con, p)
    filings = _source(con, filings)
    if covered is not None:
        through, count = covered
        high, added = _extent(con, filings, through)
        total = _extent(con, filings)[1]
        if total == count + added:
            if added == 0:
                return False
            _extend(con, p, filings, through)
            _save_state(con, p, max(high, through), total)
            return True
    _build(con, p, filings)
    high, total = _extent(con, filings)
    _save_state(con, p, high, total)
    return True


def _save_state(con: Any, p: str, through: int, count: int) -> None:
    con.execute(f"CREATE OR REPLACE TABLE {p}{STATE} AS SELECT {VERSION} AS version, "
                f"{int(through)}::BIGINT AS indexed_through, "
                f"{int(count)}::BIGINT AS indexed_filings")
