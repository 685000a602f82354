"""taxgate: a confirm-only address verification gateway in front of taxpayer records.

The data flows one way: intake -> statute -> standardize -> matching -> policy ->
ledger/store -> response, wired together only by :mod:`taxgate.pipeline`.
"""

__version__ = "0.1.0"
