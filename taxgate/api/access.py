"""What every route reaches through ``request.app.state``: the one :class:`Gateway`, and
the agencies' bearer credentials, checked by the gateway's :class:`ApiAccess` (limited on
failure, cached).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPBearer

from taxgate.errors import Unauthorized
from taxgate.gateway import Gateway
from taxgate.gateway.accounts import ApiAccess


def _gateway(request: Request) -> Gateway:
    return request.app.state.gateway  # type: ignore[no-any-return]


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def agency_auth(request: Request) -> str:
    """The requesting agency, from the ``Authorization: Bearer`` header."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("send Authorization: Bearer <API credential>")
    access: ApiAccess = request.app.state.api_access
    return access.agency_for(token.strip(), _client(request))


# The scheme as the OpenAPI document declares it (``bearer``); the check is agency_auth's.
BEARER = HTTPBearer(auto_error=False, scheme_name="bearer", bearerFormat="tgk_<id>.<secret>",
                    description="An agency's API credential, from `taxgate agencies "
                    "credential AGENCY`.")
AgencyDep = Annotated[str, Depends(agency_auth)]
GatewayDep = Annotated[Gateway, Depends(_gateway)]
