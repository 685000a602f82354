"""The service's own failures, all under :class:`taxgate.errors.BadInput` (CLI exit 2).

    BadInput
     ├── NotAllowed    the signed-in person or agency may not do this (HTTP 403)
     ├── NotFound      no such job, request, record or follow-up for this caller (404)
     ├── Conflict      the state forbids it: already released, same person twice (409)
     └── TooLarge      an upload over the size limit (413)

:class:`taxgate.service.gate.StoreBusy` (a StoreError) becomes 503. Messages never
carry a taxpayer value.
"""

from __future__ import annotations

from taxgate.errors import BadInput


class NotAllowed(BadInput):
    """The caller's role or agency does not allow this."""


class NotFound(BadInput):
    """Nothing of that id is visible to this caller."""


class Conflict(BadInput):
    """The request conflicts with the record's state."""


class TooLarge(BadInput):
    """The upload exceeds the configured limit."""
