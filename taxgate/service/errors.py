"""The service's own failures, all under :class:`taxgate.errors.BadInput` (CLI exit 2).

    BadInput
     ├── NotAllowed    the signed-in person or agency may not do this (HTTP 403)
     ├── NotFound      no such job, request, record or follow-up for this caller (404)
     ├── Conflict      the state forbids it: already released, same person twice (409)
     ├── TooLarge      an upload over the size limit (413)
     └── DuplicateJsonKey  a JSON object naming one key twice (400)

:class:`TooMany` (a TaxgateError, not bad input) is too many failed attempts (429),
raised by the API's authentication and the web pages' sign-in alike.
:class:`taxgate.service.gate.StoreBusy` (a StoreError) becomes 503. Messages never
carry a taxpayer value.
"""

from __future__ import annotations

from taxgate.errors import BadInput, TaxgateError


class NotAllowed(BadInput):
    """The caller's role or agency does not allow this."""


class NotFound(BadInput):
    """Nothing of that id is visible to this caller."""


class Conflict(BadInput):
    """The request conflicts with the record's state."""


class TooLarge(BadInput):
    """The upload exceeds the configured limit."""


class TooMany(TaxgateError):
    """Too many failed attempts from this address or for this user (HTTP 429)."""


class DuplicateJsonKey(BadInput):
    """A JSON object names a key twice: parsers disagree on which value wins, so it is
    refused rather than read one way here and another way elsewhere."""


def strict_json(data: bytes | str) -> object:
    """``json.loads`` that refuses duplicate keys (at any depth) and non-finite numbers."""
    import json

    def pairs(items: list[tuple[str, object]]) -> dict[str, object]:
        out: dict[str, object] = {}
        for k, v in items:
            if k in out:
                raise DuplicateJsonKey("a JSON object in the upload names one key twice")
            out[k] = v
        return out

    def constant(name: str) -> object:
        raise ValueError(f"{name} is not a JSON number")

    return json.loads(data, object_pairs_hook=pairs, parse_constant=constant)
