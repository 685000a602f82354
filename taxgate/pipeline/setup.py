"""Setting a gateway up: the store, its officials, and taxpayer filings."""

from __future__ import annotations

import contextlib
from pathlib import Path

import duckdb

from taxgate import filings as filings_io
from taxgate import integrity, standardize
from taxgate.canonical import sha256_file, sha256_hex
from taxgate.domain import LoadOrigin, Official
from taxgate.identifiers import check_registered_name
from taxgate.pipeline.common import LoadResult, Progress, Quiet, Timings, now
from taxgate.pipeline.training import training_beside_index
from taxgate.settings import Settings
from taxgate.stage_table import materialize
from taxgate.store.base import Store
from taxgate.store.core_sql import refuse_reload
from taxgate.store.loading import LOAD_ROW


def init(store: Store) -> None:
    """Create or migrate the store's tables (its at-rest key and the gateway's signing
    key come with a store opened to be created) and start the head anchor."""
    store.initialize()
    integrity.start(store)  # the head anchor, outside the store


def add_official(store: Store, official: Official, actor: str) -> None:
    """Register an official who may sign requests (names checked against those known)."""
    known = store.officials()
    check_registered_name("agency", official.agency, {o.agency for o in known})
    check_registered_name("official id", official.official_id,
                          {o.official_id for o in known})
    store.add_official(official, actor)


def load(settings: Settings, store: Store, path: Path, progress: Progress | None = None,
         *, force: bool = False, retrain: bool = False) -> LoadResult:
    """Load (or add to) taxpayer filings: check, standardize once, store. The model is
    trained when the store has none yet, or with ``retrain``; otherwise the current one
    stays in force (``taxgate model train`` retrains: :mod:`taxgate.pipeline.training`).
    A file loaded before (the same sha256) is refused (Conflict) unless ``force``."""
    progress = progress or Quiet()
    origin = _origin(path, force)
    if origin is not None and not force:  # before any work; checked again as it is written
        refuse_reload([(ld.load_id, ld.loaded_at) for ld in store.loads()
                       if ld.sha256 == origin.sha256])
    timings = Timings()
    # Filings are prepared where the store says (its own connection, or a scratch one
    # with its share of the memory limit), with encrypted spill files (standardized rows
    # never spill to disk in the clear), and stored from the query that joins them.
    with store.staging() as work:
        work.execute("SET preserve_insertion_order = false")  # rows carry their filing_id
        standardize.install(work, store.lookup_cache())
        try:
            rows = _store_filings(work, store, path, origin, progress, timings)
        finally:
            with contextlib.suppress(duckdb.Error):  # never hide what stopped the load
                for table in _STAGED:
                    work.execute(f"DROP TABLE IF EXISTS {table}")
    current = None if retrain else store.current_model()
    # a new model is trained beside the index (both read the filings alone)
    with (training_beside_index(settings, store) if current is None
          else contextlib.nullcontext()) as training:
        with timings.stage("index", progress):
            store.update_filing_index()  # what process looks up (taxgate.filing_index)
        if current is not None:
            version = current[0]
        else:
            assert training is not None  # (entered above whenever there is no model)
            version = training(progress, timings).version
    return LoadResult(rows=rows, total_filings=store.filing_count(), model_version=version,
                      timings=timings, model_trained=current is None)


_RAW, _NAMES, _STREETS, _PLACES = _STAGED = (
    "_tg_raw_filings", "_tg_std_names", "_tg_std_streets", "_tg_std_places")


def _store_filings(work: duckdb.DuckDBPyConnection, store: Store, path: Path,
                   origin: LoadOrigin | None, progress: Progress, timings: Timings) -> int:
    """Read, standardize and store the filings of ``path`` (``work``: a staging
    connection of ``store``); returns how many the file holds."""
    with timings.stage("read", progress):
        # read in file order, so each row's rowid is its place in the file: the store
        # numbers the filings by it (loading.LOAD_ROW), and the same file gives the
        # same ids, and the same model, however the rows are inserted
        work.execute("SET preserve_insertion_order = true")
        rows = filings_io.stage_filings(work, path, _RAW)
        work.execute("SET preserve_insertion_order = false")
    with timings.stage("standardize", progress, rows):
        # each distinct name, street line and place once (most filings repeat their
        # taxpayer's)
        names = materialize(work, _NAMES, standardize.standardized_names_sql(_RAW))
        streets = materialize(work, _STREETS, standardize.standardized_streets_sql(_RAW))
        places = materialize(work, _PLACES, standardize.standardized_places_sql(_RAW))
    with timings.stage("store", progress, rows):
        # every filing with its standardized name and address (the store numbers the
        # rows on from its highest filing_id); ``source``: the same rows as read, which
        # the PostgreSQL store seals (store/source_rows.py)
        load_id = sha256_hex(f"{path.name}{now()}".encode())[:16]
        head = f"'{load_id}' AS load_id, s.rowid AS {LOAD_ROW}, "
        select = standardize.join_standardized_sql(
            _RAW, names.name, streets.name, places.name, head=head)
        store.append_filings_query(work, select, origin, progress.advance,
                                   source=f"SELECT {head}s.* FROM {_RAW} s")
    return rows


def _origin(path: Path, force: bool) -> LoadOrigin | None:
    """The file's digest and name (None when it is not a readable file: the reader
    says why)."""
    try:
        return LoadOrigin(sha256_file(path), path.name, force) if path.is_file() else None
    except OSError:
        return None
