"""The service's settings: the store's Settings plus what only a server needs."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from taxgate.canonical import sha256_hex
from taxgate.errors import BadInput
from taxgate.settings import Settings

# Declared once: name -> (environment variable, meaning). docs/service.md lists them.
SERVICE_ENV = {
    "max_upload_bytes": ("TAXGATE_MAX_UPLOAD_BYTES", "largest request package accepted (bytes)"),
    "response_retention_days": ("TAXGATE_RESPONSE_DAYS",
                                "days a response stays downloadable (R40)"),
    "session_idle_minutes": ("TAXGATE_SESSION_MINUTES", "web session idle expiry (minutes)"),
    "login_failures": ("TAXGATE_LOGIN_FAILURES", "failed sign-ins per user or address before 429"),
    "login_window_seconds": ("TAXGATE_LOGIN_WINDOW", "window those failures are counted in"),
    "spool_dir": ("TAXGATE_SPOOL", "folder for uploaded packages and responses (mode 0700)"),
    "login_address_failures": ("TAXGATE_LOGIN_ADDRESS_FAILURES",
                               "failed sign-ins per address before each attempt is delayed"),
    "header_timeout_seconds": ("TAXGATE_HEADER_TIMEOUT",
                               "seconds a connection may take to send a request's headers"),
    "keep_alive_seconds": ("TAXGATE_KEEP_ALIVE", "seconds an idle kept-alive connection stays"),
    "max_connections": ("TAXGATE_MAX_CONNECTIONS",
                        "open connections before the oldest one still sending headers is closed"),
    "max_requests_in_flight": ("TAXGATE_MAX_IN_FLIGHT",
                               "requests handled at once before 503 (Retry-After)"),
}


def default_spool(store: str) -> Path:
    """Beside an embedded store (``<store>.spool``); for PostgreSQL, in the user's state
    folder under a name derived from the URL (no credentials in it)."""
    if store.startswith(("postgresql://", "postgres://")):
        base = Path(os.environ.get("XDG_STATE_HOME", Path.home() / ".local" / "state"))
        return base / "taxgate" / f"spool-{sha256_hex(store.encode())[:16]}"
    folder = Path(store).expanduser().resolve()
    return folder.parent / f"{folder.name}.spool"


@dataclass(frozen=True)
class ServiceSettings:
    """Everything ``create_app`` needs; built by ``taxgate serve`` or a test."""

    store: Settings
    max_upload_bytes: int = 512 * 1024 * 1024
    response_retention_days: int = 30
    session_idle_minutes: int = 30
    login_failures: int = 5
    login_window_seconds: int = 300
    login_address_failures: int = 50  # per address: past this, each sign-in is delayed
    header_timeout_seconds: int = 10
    keep_alive_seconds: int = 5
    max_connections: int = 1000
    max_requests_in_flight: int = 100
    api_failures: int = 20  # failed API authentications per address per window before 429
    spool_dir: Path | None = None
    secure_cookies: bool = False  # true behind TLS (R35): cookies marked Secure

    @property
    def spool(self) -> Path:
        return self.spool_dir or default_spool(self.store.store)

    @classmethod
    def from_env(cls, store: Settings, **overrides: object) -> ServiceSettings:
        values: dict[str, object] = {}
        for name, (var, _) in SERVICE_ENV.items():
            raw = os.environ.get(var, "").strip()
            if not raw:
                continue
            if name == "spool_dir":
                values[name] = Path(raw)
                continue
            try:
                values[name] = int(raw)
            except ValueError:
                raise BadInput(f"{var} must be a whole number") from None
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(store=store, **values)  # type: ignore[arg-type]
