"""Web sessions: server-side, signed cookie ids, idle expiry, a CSRF token each.

The cookie holds ``<session id>.<HMAC-SHA256 of it>`` under a key made when the
process starts; the session itself (who, role, CSRF token, last seen) stays in memory,
so signing out or a restart ends it. Sign-in forms use a double-submit token of their
own (cookie + field) since there is no session yet.

A sign-in is two steps (R36): the password makes a :class:`Pending` sign-in (its own
cookie, CSRF token and, while enrolling, the new TOTP secret), which the second factor
turns into a session within ``PENDING_SECONDS``; nothing but the second-factor page is
open to a pending sign-in.
"""

from __future__ import annotations

import hmac
import secrets
import threading
import time
from dataclasses import dataclass

from taxgate.gateway.accounts import Principal

COOKIE = "tg_session"
LOGIN_COOKIE = "tg_login"
PENDING_COOKIE = "tg_mfa"
PENDING_SECONDS = 300.0


@dataclass
class Pending:
    """A password accepted, the second factor not yet: who, the form's CSRF token, when
    it started, and (while enrolling) the new TOTP secret shown to the person."""

    principal: Principal
    csrf: str
    started: float
    secret: str | None = None


@dataclass
class Session:
    principal: Principal
    csrf: str
    last_seen: float


class Sessions:
    def __init__(self, idle_seconds: float) -> None:
        self.idle = idle_seconds
        self._key = secrets.token_bytes(32)
        self._by_id: dict[str, Session] = {}
        self._pending: dict[str, Pending] = {}
        self._lock = threading.Lock()

    def sign(self, value: str) -> str:
        mac = hmac.new(self._key, value.encode("ascii"), "sha256").hexdigest()
        return f"{value}.{mac}"

    def unsign(self, token: str | None) -> str | None:
        if not token or "." not in token:
            return None
        value, _, mac = token.rpartition(".")
        try:
            good = hmac.new(self._key, value.encode("ascii"), "sha256").hexdigest()
        except UnicodeEncodeError:
            return None
        return value if hmac.compare_digest(good, mac) else None

    def create(self, principal: Principal) -> str:
        sid = secrets.token_urlsafe(32)
        with self._lock:
            self._by_id[sid] = Session(principal, secrets.token_urlsafe(32), time.monotonic())
            if len(self._by_id) > 10_000:
                self._sweep()
        return self.sign(sid)

    def get(self, cookie: str | None) -> Session | None:
        sid = self.unsign(cookie)
        if sid is None:
            return None
        now = time.monotonic()
        with self._lock:
            s = self._by_id.get(sid)
            if s is None:
                return None
            if now - s.last_seen > self.idle:
                del self._by_id[sid]
                return None
            s.last_seen = now
            return s

    def end(self, cookie: str | None) -> Principal | None:
        sid = self.unsign(cookie)
        with self._lock:
            s = self._by_id.pop(sid, None) if sid else None
        return s.principal if s else None

    def end_user(self, username: str) -> int:
        """End every session of one account (disabled, or given a new password or role);
        how many were ended."""
        with self._lock:
            ended = [k for k, s in self._by_id.items() if s.principal.name == username]
            for k in ended:
                del self._by_id[k]
        return len(ended)
    def begin(self, principal: Principal) -> str:
        """A pending sign-in for ``principal``; returns its signed cookie value."""
        pid = secrets.token_urlsafe(32)
        with self._lock:
            self._pending[pid] = Pending(principal, secrets.token_urlsafe(32), time.monotonic())
            if len(self._pending) > 10_000:
                now = time.monotonic()
                self._pending = {k: p for k, p in self._pending.items()
                                 if now - p.started <= PENDING_SECONDS}
        return self.sign(pid)

    def pending(self, cookie: str | None) -> Pending | None:
        """The pending sign-in of this cookie, unless it has expired."""
        pid = self.unsign(cookie)
        with self._lock:
            p = self._pending.get(pid) if pid else None
            if p is not None and time.monotonic() - p.started > PENDING_SECONDS:
                del self._pending[pid]  # type: ignore[arg-type]
                return None
            return p

    def finish(self, cookie: str | None) -> str | None:
        """End the pending sign-in and open its session; returns the session cookie."""
        pid = self.unsign(cookie)
        with self._lock:
            p = self._pending.pop(pid, None) if pid else None
        return self.create(p.principal) if p else None

    def _sweep(self) -> None:
        now = time.monotonic()
        self._by_id = {k: s for k, s in self._by_id.items() if now - s.last_seen <= self.idle}
