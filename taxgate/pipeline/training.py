"""Training the person-match model: an explicit, versioned step.

``load`` trains only when the store has no model yet (or when asked to); otherwise the
model in force stays, and an operator retrains with ``taxgate model train`` when the
filings have changed enough to matter (docs/matching.md). A model's version is the
digest of its JSON, and training the same filings twice gives the same JSON, so the
version names what the model was estimated from. Every decision records the version
that scored it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from concurrent import futures
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from taxgate import matching, standardize
from taxgate.canonical import sha256_hex
from taxgate.errors import NotSetUp
from taxgate.pipeline.common import Progress, Quiet, Timings
from taxgate.settings import Settings
from taxgate.store.base import Store


@dataclass(frozen=True)
class TrainResult:
    """A training: the new version, the one in force before (None: the store had none),
    how many filings it was estimated from, and how long it took."""

    version: str
    previous: str | None
    filing_count: int
    timings: Timings = field(default_factory=Timings)


def model_version(model_json: str) -> str:
    """The version a model is stored under: the digest of its JSON."""
    return "model-" + sha256_hex(model_json.encode())[:12]


def train_model(settings: Settings, store: Store, progress: Progress | None = None,
                timings: Timings | None = None) -> TrainResult:
    """Estimate the model from every filing in the store (u and m by sampling, so the
    cost is bounded whatever the store's size: :func:`taxgate.matching.train`), store it
    under its version and make it the current one. NotSetUp when there are no filings."""
    progress, timings = progress or Quiet(), timings or Timings()
    filings = store.filing_count()
    if filings == 0:
        raise NotSetUp("the store holds no taxpayer filings to train on: "
                       "run `taxgate load FILE` first")
    previous = store.current_model()
    with timings.stage("train", progress):
        con = store.matching_connection()
        standardize.install(con, store.lookup_cache())
        model_json = matching.train(con, names=matching.NameRules.of(settings.policy))
        version = model_version(model_json)
        store.save_model(version, model_json, filings)
    return TrainResult(version, previous[0] if previous else None, filings, timings)


# What training beside the index takes of the memory limit (two samples of a few hundred
# thousand filings: 0.8 GiB at 10.3M filings); the index keeps the rest (3.1 GiB there).
_TRAIN_MEMORY_SHARE = 0.2

# Waits for the model trained beside the index and stores it (a load's progress and clock).
Finish = Callable[[Progress, Timings], TrainResult]


@contextlib.contextmanager
def training_beside_index(settings: Settings, store: Store) -> Iterator[Finish]:
    """Within the block, the model is trained where the store lets its filings be read
    while the index is updated (:meth:`Store.filings_reader`): on a thread, in a DuckDB of
    its own on one thread (the index keeps its connection and threads), from the same
    samples, so it is the model :func:`train_model` gives. The block calls what this
    yields, after updating the index, to wait for the model and store it (a store that
    cannot: the model is trained then, as :func:`train_model`). Left by an error, the
    training is interrupted and waited for."""
    with contextlib.ExitStack() as stack:
        reader = stack.enter_context(store.filings_reader(_TRAIN_MEMORY_SHARE))
        filings = store.filing_count()
        if reader is None or filings == 0:
            yield lambda progress, timings: train_model(settings, store, progress, timings)
            return
        con, relation = reader
        previous, cache = store.current_model(), store.lookup_cache()
        work = stack.enter_context(store.scratch(_TRAIN_MEMORY_SHARE, threads=1))
        pool = stack.enter_context(ThreadPoolExecutor(1, thread_name_prefix="taxgate-train"))

        def estimate() -> str:
            try:
                standardize.install(work, cache)
                return matching.train(con, filings=relation, work=work,
                                      names=matching.NameRules.of(settings.policy))
            finally:  # a result left open on the reader would hold the filings, and
                con.close()  # DuckDB's next checkpoint would wait on it for good

        running = pool.submit(estimate)

        def finish(progress: Progress, timings: Timings) -> TrainResult:
            with timings.stage("train", progress):  # what is left of it after the index
                model_json = running.result()
                version = model_version(model_json)
                store.save_model(version, model_json, filings)
            return TrainResult(version, previous[0] if previous else None, filings, timings)

        try:
            yield finish
        except BaseException:
            while not running.done():  # its next query stops at once
                for c in (work, con):
                    with contextlib.suppress(Exception):
                        c.interrupt()
                futures.wait([running], timeout=0.05)
            raise
