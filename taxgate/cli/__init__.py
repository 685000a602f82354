"""The command line (contract §4): thin shells over a :class:`~taxgate.gateway.Gateway`.

``main.py`` holds the app and the contract's commands; each further group of
commands lives in its own module here and is registered in ``main.py``, except the
tools for test and demonstration environments (``tools.py``: the synthetic world and
the evaluator), which are added here so that no module of the product imports them.
"""

from taxgate.cli import tools
from taxgate.cli.main import app, main

tools.register(app)

__all__ = ["app", "main"]
