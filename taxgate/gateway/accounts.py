"""Accounts: agencies' API secrets and officers' passwords, as salted scrypt hashes.

An API secret reads ``tgk_<cred_id>.<secret>``; the store keeps only the credential id,
the agency, a random salt and ``scrypt(secret, salt)``. Issuing a new credential for
an agency revokes its earlier ones (rotation). Web accounts hold one role each
(least privilege, R36); the same hash protects their passwords. Comparisons are
constant-time. :class:`ApiAccess` is the HTTP API's check of a bearer credential (limited
on failure, cached); :class:`SignInThrottle` that of the web pages' sign-ins. Nothing here
touches a taxpayer.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
import unicodedata
from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from taxgate.domain import ApiCredential, UserAccount
from taxgate.errors import BadInput, Conflict, NotFound, StoreBusy, TooMany, Unauthorized
from taxgate.identifiers import check_registered_name
from taxgate.store.base import Store
from taxgate.store.common import iso_now

if TYPE_CHECKING:
    from contextlib import AbstractContextManager

    from taxgate.settings import Settings

ROLES = ("reviewer", "releaser", "auditor", "agency")
# scrypt: 16 MiB, ~50 ms per check; an attacker with the table pays the same per guess
_N, _R, _P = 2**14, 8, 1
_PREFIX = "tgk_"


def hash_secret(secret: str, salt: bytes) -> str:
    return hashlib.scrypt(secret.encode("utf-8"), salt=salt, n=_N, r=_R, p=_P,
                          maxmem=64 * 1024 * 1024, dklen=32).hex()


def _check(secret: str, salt_hex: str, want_hex: str) -> bool:
    try:
        salt = bytes.fromhex(salt_hex)
    except ValueError:
        return False
    return hmac.compare_digest(hash_secret(secret, salt), want_hex)


def issue_credential(store: Store, agency: str, actor: str, holder: str | None = None) -> str:
    """A new API secret for ``agency``, or for one person of it (``holder``: an officer id
    as requests name them, R4); returned once, never stored; revokes the old ones of the
    agency's own or of that person."""
    if not agency.strip():
        raise BadInput("agency must not be empty")
    if holder is not None and not (0 < len(holder.strip()) <= 100 and holder.isprintable()):
        raise BadInput("--holder: the person's id, 1 to 100 printable characters")
    check_registered_name("agency", agency, {o.agency for o in store.officials()})
    cred_id = secrets.token_hex(8)
    secret = secrets.token_urlsafe(32)
    salt = secrets.token_bytes(16)
    store.add_api_credential(ApiCredential(cred_id, agency, salt.hex(), hash_secret(
        secret, salt), iso_now(), holder=holder.strip() if holder else None), actor)
    return f"{_PREFIX}{cred_id}.{secret}"


def check_api_token(store: Store, token: str) -> str | None:
    """The agency a presented token belongs to, or None (unknown, revoked or wrong)."""
    if not token.startswith(_PREFIX) or "." not in token:
        return None
    cred_id, _, secret = token[len(_PREFIX):].partition(".")
    cred = store.api_credential(cred_id)
    if cred is None or cred.revoked_at is not None:
        hash_secret(secret, b"0" * 16)  # same work either way: no timing oracle on ids
        return None
    return cred.agency if _check(secret, cred.salt, cred.hash) else None


def _role_problems(role: str, agency: str | None) -> list[str]:
    problems = []
    if role not in ROLES:
        problems.append(f"role must be one of {', '.join(ROLES)}")
    if role == "agency" and not agency:
        problems.append("an agency user needs --agency")
    return problems


def _password_problems(password: str) -> list[str]:
    return [] if len(password) >= 12 else ["password must be at least 12 characters"]


def _refuse(problems: list[str]) -> None:
    if problems:
        raise BadInput("; ".join(problems))


def _salted(password: str) -> dict[str, str | None]:
    salt = secrets.token_bytes(16)
    return {"salt": salt.hex(), "hash": hash_secret(password, salt)}


def add_user(store: Store, username: str, role: str, password: str, *,
             agency: str | None = None, actor: str = "cli") -> None:
    """A new web account; Conflict when the name is taken (never a silent replace)."""
    problems = []
    if not username or not username.replace("-", "").replace("_", "").replace(".", "").isalnum():
        problems.append("user name: letters, digits, '.', '-', '_' only")
    _refuse(problems + _role_problems(role, agency) + _password_problems(password))
    hashed = _salted(password)
    store.add_user(UserAccount(username, role, agency if role == "agency" else None,
                               str(hashed["salt"]), str(hashed["hash"]), iso_now()), actor)


def reset_password(store: Store, username: str, password: str, actor: str = "cli") -> None:
    """A new password for an existing account (logged as PASSWORD_RESET, R33)."""
    _refuse(_password_problems(password))
    store.change_user(username, actor, **_salted(password))


def set_disabled(store: Store, username: str, disabled: bool, actor: str = "cli") -> None:
    """Disable (no sign-in from now on) or enable an account; Conflict when it already is."""
    user = store.user(username)
    if user is None:
        raise NotFound("no such user")
    if (user.disabled_at is not None) == disabled:
        raise Conflict(f"user {username} is already {'disabled' if disabled else 'enabled'}")
    store.change_user(username, actor, disabled_at=iso_now() if disabled else None)


def change_role(store: Store, username: str, role: str, agency: str | None = None,
                actor: str = "cli") -> None:
    """Give an existing account another role (logged as USER_CHANGED, R33, R36)."""
    _refuse(_role_problems(role, agency))
    store.change_user(username, actor, role=role, agency=agency if role == "agency" else None)


def revoke_credential(store: Store, cred_id: str, actor: str = "cli") -> None:
    """Revoke one API credential (the agency's others stay live)."""
    store.revoke_api_credential(cred_id.removeprefix(_PREFIX).partition(".")[0], iso_now(),
                                actor)


@dataclass(frozen=True)
class Principal:
    """Who is acting: a web user (with role) or an agency's API credential."""

    name: str
    role: str
    agency: str | None = None


def check_password(store: Store, username: str, password: str) -> Principal | None:
    user = store.user(username)
    if user is None or user.disabled_at is not None:
        hash_secret(password, b"0" * 16)
        return None
    if not _check(password, user.salt, user.hash):
        return None
    return Principal(user.username, user.role, user.agency)


class FailureLimiter:
    """Counts failures per key in a sliding window; ``blocked`` once the limit is reached."""

    def __init__(self, limit: int, window_s: float) -> None:
        self.limit, self.window = limit, window_s
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, key: str, now: float) -> deque[float]:
        q = self._hits.setdefault(key, deque())
        while q and q[0] <= now - self.window:
            q.popleft()
        return q

    def blocked(self, *keys: str) -> bool:
        now = time.monotonic()
        with self._lock:
            return any(len(self._recent(k, now)) >= self.limit for k in keys)

    def fail(self, *keys: str) -> None:
        now = time.monotonic()
        with self._lock:
            for k in keys:
                self._recent(k, now).append(now)
            if len(self._hits) > 100_000:  # bounded memory under a flood of names
                self._hits = {k: q for k, q in self._hits.items() if q}

    def count(self, key: str) -> int:
        with self._lock:
            return len(self._recent(key, time.monotonic()))

    def clear(self, key: str) -> None:
        with self._lock:
            self._hits.pop(key, None)


def account_key(username: str) -> str:
    """One counter per account however its name is spelled (case, width, spaces)."""
    return "user:" + unicodedata.normalize("NFKC", username).strip().casefold()


class SignInThrottle:
    """Failed web sign-ins, per account and per address, within one window.

    - Per account: ``account_limit`` failures lock that account (429) until the window
      has passed, from every address: guessing one person's password stops there.
    - Per address: never a lock. Past ``address_limit`` failures, every sign-in from the
      address waits before it is checked (``DELAY_STEP_S`` more per further failure, at
      most ``MAX_DELAY_S``), so a guesser behind an address is slowed while the other
      people behind it (a NAT, a proxy) still sign in with their own passwords.
    A successful sign-in clears its account's failures.
    """

    DELAY_STEP_S = 0.5
    MAX_DELAY_S = 5.0

    def __init__(self, account_limit: int, address_limit: int, window_s: float) -> None:
        self.accounts = FailureLimiter(account_limit, window_s)
        self.addresses = FailureLimiter(address_limit, window_s)

    def locked(self, username: str) -> bool:
        return self.accounts.blocked(account_key(username))

    def delay(self, address: str) -> float:
        over = self.addresses.count(f"ip:{address}") - self.addresses.limit + 1
        return 0.0 if over <= 0 else min(self.MAX_DELAY_S, self.DELAY_STEP_S * over)

    def failed(self, username: str, address: str) -> None:
        self.accounts.fail(account_key(username))
        self.addresses.fail(f"ip:{address}")

    def succeeded(self, username: str) -> None:
        self.accounts.clear(account_key(username))


_AUTH_CACHE_S = 60.0


class _Locked(Protocol):  # what ApiAccess needs of the Gateway
    settings: Settings

    def lock(self, timeout: float | None = None) -> AbstractContextManager[Store]: ...


@dataclass(frozen=True)
class ApiCaller:
    """Who an API request comes from: the agency, the credential, and the person it was
    issued to (None: the agency's own credential)."""

    agency: str
    cred_id: str
    holder: str | None = None


class ApiAccess:
    """Agencies' bearer credentials as the HTTP API checks them: looked up in the
    gateway's store, limited on failure, a live one cached for a minute. Each check
    that reaches the store is logged (API_AUTHENTICATION, R33: one success per
    credential per cache period, every failure until the address is limited)."""

    def __init__(self, gateway: _Locked) -> None:
        service = gateway.settings.service
        self.gateway = gateway
        self.failures = FailureLimiter(service.api_failures, service.login_window_seconds)
        self._tokens: dict[str, tuple[ApiCaller, float]] = {}

    def _revoked(self, cred_id: str) -> bool:
        """Whether a cached credential was revoked since (by any process sharing the
        store); while a job holds the store the cache stands (at most a minute)."""
        try:
            with self.gateway.lock(timeout=0) as store:
                cred = store.api_credential(cred_id)
        except StoreBusy:
            return False
        return cred is None or cred.revoked_at is not None

    def forget(self) -> None:
        """Drop the cached credentials: after a revocation, the next use is checked."""
        self._tokens.clear()

    def agency_for(self, token: str, client: str, certificate: str | None = None) -> str:
        """The agency a live API credential belongs to; raises TooMany or Unauthorized."""
        return self.caller_for(token, client, certificate).agency

    def caller_for(self, token: str, client: str, certificate: str | None = None
                   ) -> ApiCaller:
        """The live credential's caller; raises TooMany or Unauthorized. ``certificate``:
        the mutual-TLS client certificate's subject, logged with the check."""
        key = hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()
        cred_id = token[4:].partition(".")[0]
        hit = self._tokens.get(key)
        if hit and hit[1] > time.monotonic() and not self._revoked(cred_id):
            return hit[0]
        self._tokens.pop(key, None)
        with self.gateway.lock(timeout=10) as store:  # one hold: look up, check, log
            caller = self._check(store, token, client, certificate)
        if len(self._tokens) > 10_000:
            self._tokens.clear()
        self._tokens[key] = (caller, time.monotonic() + _AUTH_CACHE_S)
        return caller

    def _check(self, store: Store, token: str, client: str, certificate: str | None
               ) -> ApiCaller:
        cred_id = token[4:].partition(".")[0]
        cred = store.api_credential(cred_id) if token else None
        known = cred is not None and cred.revoked_at is None
        # an address full of failures is refused unknown credentials only; a live
        # credential is limited on its own, so one agency's guesser never locks out
        # another agency behind the same address
        if self.failures.blocked(f"cred:{cred_id}" if known else f"ip:{client}"):
            raise TooMany("too many failed authentications; wait and retry")
        caller = None
        if cred is not None and known:
            secret = token.partition(".")[2]
            if hmac.compare_digest(hash_secret(secret, bytes.fromhex(cred.salt)), cred.hash):
                caller = ApiCaller(cred.agency, cred.cred_id, cred.holder)
        else:
            hash_secret(token, b"0" * 16)
        _log_api_check(store, cred_id, cred.agency if cred else None,
                       "SUCCESS" if caller else "FAILURE", client, certificate)
        if caller is None:
            self.failures.fail(f"ip:{client}", *([f"cred:{cred_id}"] if known else []))
            raise Unauthorized("missing, unknown or revoked API credential")
        return caller


def _log_api_check(store: Store, cred_id: str, agency: str | None, outcome: str, client: str,
                   certificate: str | None) -> None:
    """R33: one API_AUTHENTICATION event (the credential's public id, never its secret)."""
    from taxgate.ledger_events import ApiAuthentication

    store.append_events([ApiAuthentication(
        cred_id=cred_id if token_form(cred_id) else None, agency=agency, outcome=outcome,
        source=client[:100], client_certificate=certificate).to_event()])


def token_form(cred_id: str) -> bool:
    """Whether ``cred_id`` has the form of a credential's public id (16 hex digits)."""
    return len(cred_id) == 16 and all(c in "0123456789abcdef" for c in cred_id)
