"""The HTTP API for agencies and the app that serves it with the web pages.

``create_app(settings)`` (:mod:`taxgate.api.app`) builds everything from a
:class:`~taxgate.settings.Settings`: the one :class:`~taxgate.gateway.Gateway` (the store,
its job worker), the web pages.

- :mod:`taxgate.api.models`: the response models. They hold ids, states, counts per
  outcome and reason codes only: no model here has a field a taxpayer value could go in.
- :mod:`taxgate.api.access`: the Gateway the routes reach, and the bearer credential
  check (:class:`taxgate.gateway.accounts.ApiAccess`).
- :mod:`taxgate.api.problems`: the one list of error codes (RFC 9457 problem details),
  rendered as docs/problems.md and served at ``/problems``.
- :mod:`taxgate.api.http_errors`: the one place an error becomes an HTTP status (read
  from the tree in :mod:`taxgate.errors`) and a problem-details body.
- :mod:`taxgate.api.routes`: the ``/v1`` routes, thin shells over the Gateway;
  :mod:`taxgate.api.paging` their cursors.
- :mod:`taxgate.api.ops`: ``/healthz``, ``/readyz``, ``/metrics`` (counted by
  :mod:`taxgate.api.metrics`), ``/problems`` and the gateway's public key.
- :mod:`taxgate.api.openapi`: the published OpenAPI document (the integration guide,
  problem details, the bearer scheme).
- :mod:`taxgate.api.app`: the app itself, its security headers and its lifespan.
- :mod:`taxgate.api.server`: how ``taxgate serve`` runs uvicorn (header timeouts,
  connection and in-flight limits).
"""

from __future__ import annotations

from taxgate.api.app import create_app

__all__ = ["create_app"]
