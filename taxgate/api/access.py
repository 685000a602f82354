"""The service object every route reaches through ``request.app.state``, and the
agencies' bearer credentials: checked against the store, limited on failure, cached.
"""

from __future__ import annotations

import hashlib
import time
from typing import Annotated

from fastapi import Depends, Request

from taxgate.errors import TooMany, Unauthorized
from taxgate.service import auth
from taxgate.service.gate import StoreGate
from taxgate.service.jobs import JobRunner
from taxgate.settings import Settings

_AUTH_CACHE_S = 60.0


class Service:
    """The open store, the job worker and the credential check of one app."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.gate = StoreGate(settings)
        self.jobs = JobRunner(settings, self.gate)
        self.api_failures = auth.FailureLimiter(settings.service.api_failures,
                                                settings.service.login_window_seconds)
        self._tokens: dict[str, tuple[str, float]] = {}

    def agency_for(self, token: str, client: str) -> str:
        """The agency a live API credential belongs to; raises TooMany or Unauthorized."""
        key = hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()
        hit = self._tokens.get(key)
        if hit and hit[1] > time.monotonic():
            return hit[0]
        cred_id = token[4:].partition(".")[0]
        with self.gate.use(timeout=10) as store:
            cred = store.api_credential(cred_id) if token else None
        known = cred is not None and cred.revoked_at is None
        # an address full of failures is refused unknown credentials only; a live
        # credential is limited on its own, so one agency's guesser never locks out
        # another agency behind the same address
        if self.api_failures.blocked(f"cred:{cred_id}" if known else f"ip:{client}"):
            raise TooMany("too many failed authentications; wait and retry")
        agency = None
        if cred is not None and known:
            secret = token.partition(".")[2]
            if auth.hmac.compare_digest(auth.hash_secret(secret, bytes.fromhex(cred.salt)),
                                        cred.hash):
                agency = cred.agency
        else:
            auth.hash_secret(token, b"0" * 16)
        if agency is None:
            self.api_failures.fail(f"ip:{client}", *([f"cred:{cred_id}"] if known else []))
            raise Unauthorized("missing, unknown or revoked API credential")
        if len(self._tokens) > 10_000:
            self._tokens.clear()
        self._tokens[key] = (agency, time.monotonic() + _AUTH_CACHE_S)
        return agency


def _svc(request: Request) -> Service:
    return request.app.state.svc  # type: ignore[no-any-return]


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def agency_auth(request: Request) -> str:
    """The requesting agency, from the ``Authorization: Bearer`` header."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("send Authorization: Bearer <API credential>")
    return _svc(request).agency_for(token.strip(), _client(request))


AgencyDep = Annotated[str, Depends(agency_auth)]
ServiceDep = Annotated[Service, Depends(_svc)]
