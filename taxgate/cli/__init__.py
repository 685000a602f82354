"""The command line (contract §4): thin shells over :mod:`taxgate.pipeline`.

``main.py`` holds the app and the contract's commands; each further group of
commands lives in its own module here and is registered in ``main.py``.
"""

from taxgate.cli.main import app, main

__all__ = ["app", "main"]
