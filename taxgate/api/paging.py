"""Cursor paging of the API's lists: ``limit`` (1-1000, default 100) and ``cursor``, an
opaque token the server gave as ``next_cursor`` (and in ``Link: <...>; rel="next"``)."""

from __future__ import annotations

import base64
import binascii
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import Query, Request, Response

from taxgate.errors import BadInput

Limit = Annotated[int, Query(ge=1, le=1000, description="items per page")]


def encode_cursor(position: str) -> str:
    """The opaque cursor for "after ``position``"."""
    return base64.urlsafe_b64encode(position.encode("utf-8")).decode("ascii").rstrip("=")


def decode_cursor(cursor: str | None) -> str | None:
    """The position a cursor names; BadInput for one this server did not give."""
    if cursor is None:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        position = raw.decode("utf-8")
    except (binascii.Error, ValueError):
        raise BadInput("cursor: not one this server gave") from None
    if not position or encode_cursor(position) != cursor:
        raise BadInput("cursor: not one this server gave")
    return position


def next_link(request: Request, response: Response, cursor: str | None, limit: int) -> None:
    """Set ``Link: <url>; rel="next"`` when there is a next page."""
    if cursor is not None:
        query = urlencode({"limit": limit, "cursor": cursor})
        response.headers["Link"] = f'<{request.url.path}?{query}>; rel="next"'


LINK_HEADER: dict[str, Any] = {  # the header as the OpenAPI document declares it
    "Link": {"description": 'the next page, `<...>; rel="next"` (absent on the last page)',
             "schema": {"type": "string"}}}
