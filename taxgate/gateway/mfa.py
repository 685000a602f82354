"""The web accounts' second factor (R36, IA-2): TOTP (RFC 6238) and recovery codes.

A web sign-in is two steps: the password, then a six-digit code from the person's
authenticator app (or one of ten single-use recovery codes). An account with no second
factor yet enrols at its first sign-in: the page shows a new secret (and its
``otpauth://`` URI), the person proves it by entering a code from it, and is shown the
recovery codes once. The secret is kept sealed under the at-rest key (AES-256-GCM, bound
to the account's name); recovery codes only as salted scrypt hashes, each struck when
used. A code is accepted once: the time step it was used in is remembered, so a code
seen over a shoulder cannot be replayed within its window. Enrolment, reset and each
recovery code used are MFA_CHANGED ledger events (R33). ``pyotp`` lives here only.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import threading
import time

import pyotp

from taxgate.domain import UserMfa
from taxgate.errors import BadInput
from taxgate.gateway.accounts import hash_secret
from taxgate.ledger_events import MfaChanged
from taxgate.store.base import Store
from taxgate.store.common import iso_now

ISSUER = "taxgate"
RECOVERY_CODES = 10
_STEP_S = 30
_used: dict[tuple[str, str], int] = {}  # (store and secret digest, account) -> last step
_used_lock = threading.Lock()


def new_secret() -> str:
    """A fresh TOTP secret (base32, 160 bits)."""
    return pyotp.random_base32(32)


def provisioning_uri(secret: str, username: str) -> str:
    """The ``otpauth://`` URI an authenticator app reads (as a QR code or typed)."""
    return pyotp.TOTP(secret).provisioning_uri(name=username, issuer_name=ISSUER)


def _label(username: str) -> str:
    return f"taxgate/mfa/{username}"


def _code_step(secret: str, code: str) -> int | None:
    """The time step ``code`` belongs to (this one or its neighbours), or None."""
    code = code.strip().replace(" ", "")
    if not (code.isdigit() and len(code) == 6):
        return None
    totp, now = pyotp.TOTP(secret), time.time()
    for drift in (0, -1, 1):
        at = now + drift * _STEP_S
        if secrets.compare_digest(totp.at(at), code):
            return int(at // _STEP_S)
    return None


def _fresh(store: Store, secret: str, username: str, step: int) -> bool:
    """Accept a code's time step once per account and secret (no replay within its
    window; a new secret, or another store's account of the same name, starts afresh)."""
    where = f"{store.settings.store}|{secret}"
    key = (hashlib.sha256(where.encode("utf-8")).hexdigest(), username)
    with _used_lock:
        if _used.get(key, -1) >= step:
            return False
        _used[key] = step
        return True


def enrol(store: Store, username: str, secret: str, code: str) -> list[str]:
    """Store ``secret`` as the account's second factor once ``code`` proves it; returns
    the recovery codes (shown once). BadInput when the code does not match."""
    step = _code_step(secret, code)
    if step is None or not _fresh(store, secret, username, step):
        raise BadInput("the code does not match the new secret; try the next code")
    codes = [f"{secrets.token_hex(4)}-{secrets.token_hex(4)}" for _ in range(RECOVERY_CODES)]
    hashed = []
    for c in codes:
        salt = secrets.token_bytes(16)
        hashed.append([salt.hex(), hash_secret(c, salt)])
    mfa = UserMfa(username, store.seal_bytes(_label(username), secret.encode("ascii")),
                  json.dumps(hashed), iso_now())
    store.set_mfa(mfa, username, [MfaChanged(username=username, change="ENROLLED",
                                             actor=username).to_event()])
    return codes


def enrolled(store: Store, username: str) -> bool:
    return store.mfa(username) is not None


def check(store: Store, username: str, code: str) -> bool:
    """Whether ``code`` is the account's current TOTP code (not used before) or one of
    its unused recovery codes (which is struck, and logged)."""
    mfa = store.mfa(username)
    if mfa is None:
        return False
    secret = store.unseal_bytes(_label(username), mfa.sealed).decode("ascii")
    step = _code_step(secret, code)
    if step is not None:
        return _fresh(store, secret, username, step)
    return _use_recovery_code(store, mfa, code.strip().lower())


def _use_recovery_code(store: Store, mfa: UserMfa, code: str) -> bool:
    if len(code) != 17 or code[8] != "-":
        return False
    left = json.loads(mfa.recovery_json)
    for i, (salt, want) in enumerate(left):
        if secrets.compare_digest(hash_secret(code, bytes.fromhex(salt)), want):
            rest = json.dumps(left[:i] + left[i + 1:])
            store.set_mfa(UserMfa(mfa.username, mfa.sealed, rest, mfa.enrolled_at),
                          mfa.username, [MfaChanged(username=mfa.username,
                                                    change="RECOVERY_CODE_USED",
                                                    actor=mfa.username).to_event()])
            return True
    return False


def reset(store: Store, username: str, actor: str) -> None:
    """Remove an account's second factor: it enrols again at its next sign-in."""
    if store.user(username) is None:
        raise BadInput("no such user")
    store.set_mfa(None, username, [MfaChanged(username=username, change="RESET",
                                              actor=actor).to_event()])
