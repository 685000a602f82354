"""What every route reaches through ``request.app.state``: the one :class:`Gateway`, and
the agencies' bearer credentials, checked by the gateway's :class:`ApiAccess` (limited on
failure, cached, logged).

Under mutual TLS (``tls_client_ca``, R35) the handshake has already required a client
certificate from the agencies' CA; a request is then accepted only when that
certificate names an agency (its organizationName) and the bearer credential belongs to
the same agency: neither a stolen credential nor a certificate alone is enough.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPBearer

from taxgate.errors import Unauthorized
from taxgate.gateway import Gateway
from taxgate.gateway.accounts import ApiAccess, ApiCaller


def _gateway(request: Request) -> Gateway:
    return request.app.state.gateway  # type: ignore[no-any-return]


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _certificate(request: Request) -> dict[str, str] | None:
    """The mutual-TLS client certificate's subject; Unauthorized when mutual TLS is on and
    the certificate names no agency."""
    if request.app.state.gateway.settings.service.tls_client_ca is None:
        return None
    cert = getattr(request.state, "tls_client", None)
    if not cert or not cert.get("agency"):
        raise Unauthorized("the client certificate names no agency (organizationName)")
    return dict(cert)


def api_caller(request: Request) -> ApiCaller:
    """Who calls: the agency and credential (and its holder) from the ``Authorization:
    Bearer`` header, matched against the mutual-TLS certificate when there is one."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("send Authorization: Bearer <API credential>")
    cert = _certificate(request)
    subject = f"O={cert['agency']}, CN={cert['name']}"[:200] if cert else None
    access: ApiAccess = request.app.state.api_access
    caller = access.caller_for(token.strip(), _client(request), subject)
    if cert is not None and cert["agency"] != caller.agency:
        raise Unauthorized("the API credential and the client certificate name different "
                           "agencies")
    return caller


def agency_auth(caller: Annotated[ApiCaller, Depends(api_caller)]) -> str:
    """The requesting agency."""
    return caller.agency


# The scheme as the OpenAPI document declares it (``bearer``); the check is agency_auth's.
BEARER = HTTPBearer(auto_error=False, scheme_name="bearer", bearerFormat="tgk_<id>.<secret>",
                    description="An agency's API credential, from `taxgate agencies "
                    "credential AGENCY`.")
AgencyDep = Annotated[str, Depends(agency_auth)]
CallerDep = Annotated[ApiCaller, Depends(api_caller)]
GatewayDep = Annotated[Gateway, Depends(_gateway)]
