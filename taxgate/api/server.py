"""How ``taxgate serve`` runs uvicorn so that slow or idle clients cannot starve others.

Left to its defaults, uvicorn's h11 protocol waits for a request's headers for as long
as the client likes and counts every open connection against ``limit_concurrency``:
200 clients that each open a connection and send half a request line leave everyone
else with 503. Here instead:

- :class:`GuardedH11Protocol` closes a connection whose request headers are not
  complete within ``header_timeout_seconds`` of it opening (or, on a kept-alive
  connection, of the previous response); idle kept-alive connections close after
  ``keep_alive_seconds`` (uvicorn's own timer). With more than ``max_connections``
  open, a new connection first closes the oldest one still waiting for its headers.
- :class:`InFlightLimit` limits requests being handled (``max_requests_in_flight``,
  then 503 with Retry-After), not connections, so idle sockets cost nothing but a slot
  until their timeout.

In production a reverse proxy in front does the same at the edge, per client address
(docs/service.md has an nginx configuration); these bounds hold without one.

With ``tls_cert`` set the server speaks TLS 1.2 or newer only; with ``tls_client_ca`` too,
every client must present a certificate that CA issued (mutual TLS, R35), and its subject
(organizationName: the agency) reaches each request as ``request.state.tls_client``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import ssl
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

from taxgate.api.problems import PROBLEMS
from taxgate.api.problems import body as problem_body
from taxgate.settings import ServiceSettings

MAX_HEADER_BYTES = 16 * 1024  # a request head larger than this is answered 400


class GuardedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with a deadline for request headers and a connection cap."""

    header_timeout_s: float = 10.0
    max_connections: int = 1000

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        self._header_timer: asyncio.TimerHandle | None = None
        self._waiting_since = 0.0
        super().connection_made(transport)
        tls = transport.get_extra_info("ssl_object")
        peer = tls.getpeercert() if tls is not None else None
        if peer:  # mutual TLS: the verified client certificate, for every request on it
            self.app_state = {**self.app_state, "tls_client": certificate_subject(peer)}
        self._await_headers()
        if len(self.connections) > self.max_connections:
            waiting = [c for c in self.connections if isinstance(c, GuardedH11Protocol)
                       and c is not self and c._header_timer is not None]
            oldest = min(waiting, key=lambda c: c._waiting_since, default=self)
            oldest._headers_too_slow()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self.conn.their_state is not h11.IDLE:  # the request head is complete
            self._cancel_header_timer()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing() and self.conn.their_state is h11.IDLE:
            self._await_headers()  # kept alive: the next request has the same deadline

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_header_timer()
        super().connection_lost(exc)

    def _await_headers(self) -> None:
        self._cancel_header_timer()
        self._waiting_since = self.loop.time()
        self._header_timer = self.loop.call_later(self.header_timeout_s, self._headers_too_slow)

    def _cancel_header_timer(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _headers_too_slow(self) -> None:
        self._cancel_header_timer()
        if not self.transport.is_closing():
            with contextlib.suppress(h11.LocalProtocolError):
                self.conn.send(h11.ConnectionClosed())
            self.transport.close()


def protocol_for(settings: ServiceSettings) -> type[GuardedH11Protocol]:
    """The protocol class uvicorn builds per connection, with this server's bounds."""
    return type("GuardedH11Protocol", (GuardedH11Protocol,), {
        "header_timeout_s": float(settings.header_timeout_seconds),
        "max_connections": int(settings.max_connections)})


class InFlightLimit:
    """ASGI wrapper: at most ``limit`` HTTP requests handled at once, else 503."""

    def __init__(self, app: Any, limit: int) -> None:
        self.app, self.limit, self.active = app, limit, 0

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if self.active >= self.limit:
            body = json.dumps(problem_body(PROBLEMS["SERVER_BUSY"], "too many requests in "
                                           "progress; retry shortly")).encode("utf-8")
            await send({"type": "http.response.start", "status": 503, "headers": [
                (b"content-type", b"application/problem+json"), (b"retry-after", b"1"),
                (b"content-length", str(len(body)).encode())]})
            await send({"type": "http.response.body", "body": body})
            return
        self.active += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.active -= 1


def certificate_subject(peer: dict[str, Any]) -> dict[str, str]:
    """The subject of a verified peer certificate (``ssl.getpeercert()``): its
    organizationName (the agency) and commonName (the person or system), when given."""
    names = {k: v for rdn in peer.get("subject", ()) for k, v in rdn}
    return {"agency": names.get("organizationName", ""), "name": names.get("commonName", "")}


def _tls(settings: ServiceSettings) -> dict[str, Any]:
    """uvicorn's TLS options (R35): TLS 1.2 or newer; with ``tls_client_ca`` a client
    certificate issued by that CA is required in the handshake (mutual TLS)."""
    if settings.tls_cert is None:
        return {}

    def context(config: Any, default: Any) -> ssl.SSLContext:
        ctx: ssl.SSLContext = default()
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        return ctx

    mutual = settings.tls_client_ca is not None
    return {"ssl_certfile": str(settings.tls_cert),
            "ssl_keyfile": str(settings.tls_key) if settings.tls_key else None,
            "ssl_ca_certs": str(settings.tls_client_ca) if mutual else None,
            "ssl_cert_reqs": ssl.CERT_REQUIRED if mutual else ssl.CERT_NONE,
            "ssl_context_factory": context}


def run(app: Any, settings: ServiceSettings, host: str, port: int) -> None:
    """Serve ``app`` with the bounds above, over TLS when configured (blocks until stopped)."""
    import uvicorn

    uvicorn.run(InFlightLimit(app, settings.max_requests_in_flight), host=host, port=port,
                http=protocol_for(settings), log_level="warning", access_log=False,
                server_header=False, limit_concurrency=None,
                timeout_keep_alive=settings.keep_alive_seconds,
                h11_max_incomplete_event_size=MAX_HEADER_BYTES,
                timeout_graceful_shutdown=5, **_tls(settings))
