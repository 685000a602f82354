"""The service's failures, declared in the one tree of :mod:`taxgate.errors` (where
each has its exit code and HTTP status); named here too for existing imports."""

from __future__ import annotations

from taxgate.errors import Conflict, DuplicateJsonKey, NotAllowed, NotFound, TooLarge

__all__ = ["Conflict", "DuplicateJsonKey", "NotAllowed", "NotFound", "TooLarge"]
