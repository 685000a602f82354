"""Accounts on both stores: salted hashes only, rotation, roles; sessions and limits."""

from __future__ import annotations

import time

import pytest

from taxgate.errors import BadInput
from taxgate.gateway import accounts as auth
from taxgate.web.session import Sessions


def test_agency_credentials_are_salted_hashes_and_rotate(store):
    first = auth.issue_credential(store, "DHS-ICE", "test")
    assert auth.check_api_token(store, first) == "DHS-ICE"
    cred_id, secret = first[4:].split(".")
    row = store.api_credential(cred_id)
    assert row is not None and secret not in (row.hash, row.salt) and len(row.salt) == 32
    second = auth.issue_credential(store, "DHS-ICE", "test")
    assert auth.check_api_token(store, first) is None  # revoked by the rotation
    assert auth.check_api_token(store, second) == "DHS-ICE"
    assert auth.check_api_token(store, second[:-1] + "x") is None
    assert auth.check_api_token(store, "tgk_nosuch.secret") is None
    events = [e for e in store.ledger_entries() if e.event_type == "CREDENTIAL_ISSUED"]
    assert len(events) == 2 and all(secret not in str(e.payload) for e in events)


def test_web_accounts_roles_and_passwords(store):
    auth.add_user(store, "rita", "reviewer", "a long enough password")
    assert auth.check_password(store, "rita", "a long enough password") == auth.Principal(
        "rita", "reviewer")
    assert auth.check_password(store, "rita", "wrong") is None
    assert auth.check_password(store, "nobody", "a long enough password") is None
    with pytest.raises(BadInput) as bad:
        auth.add_user(store, "bad name!", "admin", "short")
    assert "role must be one of" in str(bad.value) and "12 characters" in str(bad.value)
    auth.change_role(store, "rita", "releaser")
    auth.reset_password(store, "rita", "another long password")
    assert auth.check_password(store, "rita", "another long password").role == "releaser"
    kinds = [e.event_type for e in store.ledger_entries() if e.event_type.startswith("USER_")]
    assert kinds == ["USER_ADDED", "USER_CHANGED"]
    assert store.user("rita").hash != "another long password"


def test_sessions_expire_when_idle_and_cookies_are_signed():
    s = Sessions(idle_seconds=0.2)
    cookie = s.create(auth.Principal("rita", "reviewer"))
    assert s.get(cookie).principal.name == "rita"
    assert s.get(cookie[:-1] + ("0" if cookie[-1] != "0" else "1")) is None
    assert s.get("forged.value") is None
    time.sleep(0.3)
    assert s.get(cookie) is None


def test_failure_limiter_counts_per_key_in_a_window():
    lim = auth.FailureLimiter(3, 0.3)
    for _ in range(3):
        assert not lim.blocked("user:a")
        lim.fail("user:a", "ip:x")
    assert lim.blocked("user:a") and lim.blocked("ip:x") and not lim.blocked("user:b")
    time.sleep(0.35)
    assert not lim.blocked("user:a")


def test_sign_in_throttle_locks_the_account_and_only_slows_the_address():
    """R33: failures lock their account (however spelled), never an address; past its
    limit an address is delayed, more with each failure, up to a cap."""
    t = auth.SignInThrottle(account_limit=3, address_limit=4, window_s=0.5)
    for _ in range(3):
        assert not t.locked("ada")
        t.failed("ada", "10.0.0.1")
    assert t.locked("ada") and t.locked(" ADA ") and t.locked("ａｄａ")
    assert not t.locked("rita") and t.delay("10.0.0.1") == 0.0
    t.failed("x1", "10.0.0.1")
    assert t.delay("10.0.0.1") == t.DELAY_STEP_S and t.delay("10.0.0.2") == 0.0
    for i in range(40):
        t.failed(f"name{i}", "10.0.0.1")
    assert t.delay("10.0.0.1") == t.MAX_DELAY_S
    t.succeeded("ADA")
    assert not t.locked("ada")
    time.sleep(0.55)
    assert t.delay("10.0.0.1") == 0.0


def test_r36_ending_one_accounts_sessions_leaves_the_others():
    """A disabled account (or one given a new password or role) loses its sessions."""
    s = Sessions(idle_seconds=60)
    rita = [s.create(auth.Principal("rita", "reviewer")) for _ in range(2)]
    remy = s.create(auth.Principal("remy", "releaser"))
    assert s.end_user("rita") == 2
    assert all(s.get(c) is None for c in rita) and s.get(remy).principal.name == "remy"
