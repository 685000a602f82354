"""taxgate: a confirm-only address verification gateway in front of taxpayer records.

The data flows one way: intake -> statute -> standardize -> matching -> policy ->
ledger/store -> response, wired together only by :mod:`taxgate.pipeline`.
"""


def __getattr__(name: str) -> str:
    """``taxgate.__version__``: the installed package's own version (pyproject.toml),
    declared once; read on first use (importlib.metadata is slow to import)."""
    if name != "__version__":
        raise AttributeError(f"module 'taxgate' has no attribute {name!r}")
    from importlib.metadata import PackageNotFoundError, version

    try:
        found = version("taxgate")
    except PackageNotFoundError:  # a source tree that was never installed
        found = "unknown"
    globals()["__version__"] = found
    return found
