"""taxgate: a confirm-only address verification gateway in front of taxpayer records.

The data flows one way: intake -> statute -> standardize -> matching -> policy ->
ledger/store -> response, wired together only by :mod:`taxgate.pipeline`.
"""

from importlib.metadata import PackageNotFoundError, version

try:  # the installed package's own version (pyproject.toml): declared once
    __version__ = version("taxgate")
except PackageNotFoundError:  # a source tree that was never installed
    __version__ = "unknown"
