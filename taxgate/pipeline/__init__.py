"""The orchestrator: init, load and process, wiring the stages together.

The :class:`~taxgate.gateway.Gateway` calls these functions with its open store; the
shells (CLI, HTTP API, web pages) call the Gateway, and each turns
:class:`taxgate.errors.TaxgateError` into an exit code or an HTTP status in one place.
``setup`` holds init/officials/load, ``training`` the model's explicit, versioned
training, ``process`` the main job, ``answer`` how a request is answered or replayed,
``refusal`` how it is refused, ``publish`` the one step every answer leaves by (results,
signed response, ledger events, one commit, files), ``delivery`` who sent it and what
may be given to it again, and ``capture`` how its REVIEW records are held for the desk.
"""

from taxgate.pipeline.common import LoadResult, ProcessResult, Progress, Timings
from taxgate.pipeline.disclosures import disclosure_event
from taxgate.pipeline.process import process
from taxgate.pipeline.setup import add_official, init, load
from taxgate.pipeline.training import TrainResult, model_version, train_model

__all__ = [
    "LoadResult",
    "ProcessResult",
    "Progress",
    "Timings",
    "TrainResult",
    "add_official",
    "disclosure_event",
    "init",
    "load",
    "model_version",
    "process",
    "train_model",
]
