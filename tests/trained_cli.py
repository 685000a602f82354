"""`python -m taxgate.cli` with training remembered per input (``world_cache.trained_once``),
for the `taxgate load` of worlds that fixtures build through the CLI. The folder of the
session's models is TAXGATE_TEST_MODELS (set by tests/conftest.py); without it this is
the plain CLI."""

from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path

from world_cache import trained_once

from taxgate.cli import main

if __name__ == "__main__":
    models = os.environ.get("TAXGATE_TEST_MODELS")
    with trained_once(Path(models)) if models else contextlib.nullcontext():
        sys.argv[0] = "taxgate"
        main()
