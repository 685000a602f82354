"""Standardization's lookup tables kept between processes (taxgate.standardize.lookup_cache):
the kept tables are the built ones exactly, so the rules that read them (R9 cities and
ZIPs, R10 names, R24 street words) decide the same; a file that is not the store's own,
or damaged, is never used."""

from __future__ import annotations

import importlib
import os
import stat
from pathlib import Path

import duckdb
import pytest

from taxgate.settings import Settings
from taxgate.standardize import install, standardized_select_sql
from taxgate.standardize.lookup_cache import LookupCache, fingerprint
from taxgate.store import common
from taxgate.store.duck import new_connection

# ``taxgate.standardize.install`` is also the name of the function the package exports
install_module = importlib.import_module("taxgate.standardize.install")
LOOKUP_TABLES = install_module.LOOKUP_TABLES

KEY = "5a" * 32
OTHER_KEY = "a5" * 32


def _connection() -> duckdb.DuckDBPyConnection:
    return new_connection(Settings.from_env())  # the encrypted-file support a store has


def _temp_tables(con: duckdb.DuckDBPyConnection) -> set[str]:
    return {r[0] for r in con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE temporary").fetchall()}


def _same_tables(a: duckdb.DuckDBPyConnection, b: duckdb.DuckDBPyConnection) -> None:
    for table in LOOKUP_TABLES:
        kinds = [con.execute(f"SELECT column_name, data_type FROM duckdb_columns() "
                             f"WHERE database_name = 'temp' AND table_name = '{table}' "
                             f"ORDER BY column_index").fetchall()
                 for con in (a, b)]
        assert kinds[0] == kinds[1], table
        rows = [con.execute(f"SELECT * FROM temp.main.{table} ORDER BY ALL").fetchall()
                for con in (a, b)]
        assert rows[0] == rows[1], table
        assert rows[0], table


def test_r9_r10_r24_lookup_tables_kept_are_the_built_ones(tmp_path: Path) -> None:
    cache = LookupCache(tmp_path / "lookups", KEY)
    built = _connection()
    install(built, cache)  # builds, then keeps them
    assert cache.path.is_file()
    restored = _connection()
    assert cache.restore(restored, LOOKUP_TABLES)
    _same_tables(built, restored)
    again = _connection()
    install(again, cache)  # reads them back, and the macros work on them
    _same_tables(built, again)
    assert _standardized(again) == _standardized(built)
    # every city is a place of its state (R9)
    assert [row[-1] for row in _standardized(built)] == [True, True, True]


ROWS = """
SELECT * FROM (VALUES
  ('Pepe', '', 'García López', '1980-01-02', '12 North Main Street', 'Apt 4', 'St. Louis',
   'MO', '63101'),
  ('Bill', 'A.', 'Smith Jr.', '1975-12-31', 'PO Box 77', NULL, 'N Las Vegas', 'NV', '89030'),
  ('MARIA DE LOS ANGELES', NULL, 'de la Cruz', NULL, '5 Fifth Ave', NULL, 'Queens', 'NY',
   '11101')
) t(first_name, middle_name, last_name, date_of_birth, street_address, unit, city, state,
    zip)
"""


def _standardized(con: duckdb.DuckDBPyConnection) -> list[tuple]:
    con.execute(f"CREATE OR REPLACE TEMP TABLE _rows AS {ROWS}")
    # one row per given name: ordered by it, since a query's rows come in no set order
    return con.execute(f"SELECT *, city_in_state(city, state) FROM "
                       f"({standardized_select_sql('_rows', side='request')}) "
                       f"ORDER BY first_name").fetchall()


def test_the_cache_keeps_every_table_install_makes(tmp_path: Path) -> None:
    con = duckdb.connect()
    install(con)
    assert _temp_tables(con) - {"_tg_std_installed"} == set(LOOKUP_TABLES)


def test_a_file_under_another_key_is_not_used_and_is_made_again(tmp_path: Path) -> None:
    folder = tmp_path / "lookups"
    install(_connection(), LookupCache(folder, OTHER_KEY))
    cache = LookupCache(folder, KEY)
    assert cache.path.is_file()  # the same name: only the key differs
    assert not cache.restore(_connection(), LOOKUP_TABLES)
    con = _connection()
    install(con, cache)  # built again, and kept under this key
    assert cache.restore(_connection(), LOOKUP_TABLES)
    _same_tables(con, _restored(cache))


def _restored(cache: LookupCache) -> duckdb.DuckDBPyConnection:
    con = _connection()
    assert cache.restore(con, LOOKUP_TABLES)
    return con


def test_a_damaged_file_is_not_used(tmp_path: Path) -> None:
    cache = LookupCache(tmp_path / "lookups", KEY)
    install(_connection(), cache)
    data = bytearray(cache.path.read_bytes())
    data[len(data) // 2: len(data) // 2 + 4096] = os.urandom(4096)  # inside the tables
    cache.path.write_bytes(bytes(data))
    con = _connection()
    install(con, cache)  # no error: built again
    fresh = duckdb.connect()
    install(fresh)
    _same_tables(fresh, con)


def test_files_of_other_fingerprints_are_removed_and_the_folder_is_private(
        tmp_path: Path) -> None:
    folder = tmp_path / "lookups"
    folder.mkdir(mode=0o700)
    stale = folder / "std-lookups-0000.duckdb"
    stale.write_bytes(b"an older build")
    cache = LookupCache(folder, KEY)
    install(_connection(), cache)
    assert sorted(p.name for p in folder.iterdir()) == [cache.path.name]
    assert fingerprint()[:32] in cache.path.name
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert b"NORTH" not in cache.path.read_bytes()  # encrypted: no table text in clear


def test_a_stores_cache_key_is_derived_never_the_store_key(tmp_path: Path) -> None:
    cache = common.lookup_cache(KEY, tmp_path)
    assert cache.key != KEY and len(cache.key) == len(KEY)
    assert common.lookup_cache(KEY, tmp_path) == cache
    assert common.lookup_cache(OTHER_KEY, tmp_path).key != cache.key


@pytest.mark.parametrize("garbage", [b"", b"not a database"])
def test_an_unreadable_file_gives_false_not_an_error(tmp_path: Path, garbage: bytes) -> None:
    cache = LookupCache(tmp_path, KEY)
    cache.path.write_bytes(garbage)
    assert not cache.restore(_connection(), LOOKUP_TABLES)


def test_each_store_keeps_them_on_its_host_and_none_without_a_replica(tmp_path: Path) -> None:
    embedded = Settings(store=str(tmp_path / "s"))
    assert embedded.lookup_folder == tmp_path / "s" / "lookups"  # in the 0700 store folder
    url = "postgresql://u@h/db"
    replica = tmp_path / "r.duckdb"
    assert Settings(store=url, pg_replica=str(replica)).lookup_folder == tmp_path / "r.lookups"
    assert Settings(store=url, pg_replica="off").lookup_folder is None
