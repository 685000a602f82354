"""Training the person-match model: an explicit, versioned step.

``load`` trains only when the store has no model yet (or when asked to); otherwise the
model in force stays, and an operator retrains with ``taxgate model train`` when the
filings have changed enough to matter (docs/matching.md). A model's version is the
digest of its JSON, and training the same filings twice gives the same JSON, so the
version names what the model was estimated from. Every decision records the version
that scored it.
"""

from __future__ import annotations

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
