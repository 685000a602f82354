"""The service's settings: the ``service`` section of :class:`taxgate.settings.Settings`,
declared there with the rest; named here too for existing imports."""

from __future__ import annotations

from taxgate.settings import SERVICE_ENV, ServiceSettings, default_spool

__all__ = ["SERVICE_ENV", "ServiceSettings", "default_spool"]
