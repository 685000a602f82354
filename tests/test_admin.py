"""Administration lifecycles on both stores: web accounts (no silent overwrite, disable,
enable, reset, role), agencies' credentials (list, revoke, rotate), officials' revocation,
safeguards status, loads remembered by file digest; each change in the ledger (R33)."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pytest

from taxgate.canonical import new_signing_key, public_key_pem
from taxgate.domain import LoadOrigin, Official
from taxgate.errors import BadInput, Conflict, NotFound
from taxgate.gateway import accounts as auth

PW = "a long enough password"


def _events(store, kind: str) -> list[dict]:  # noqa: ANN001
    return [e.payload for e in store.ledger_entries() if e.event_type == kind]


def _official(store, official_id: str = "ice-director") -> Official:  # noqa: ANN001
    o = Official(official_id, "DHS-ICE", "Director", public_key_pem(new_signing_key().public_key()),
                 dt.date(2026, 1, 1))
    store.add_official(o, "test")
    return o


def test_r33_an_existing_account_is_never_silently_replaced(store):
    auth.add_user(store, "rita", "reviewer", PW)
    with pytest.raises(Conflict, match="exists already"):
        auth.add_user(store, "rita", "releaser", "another long password")
    assert store.user("rita").role == "reviewer"
    assert auth.check_password(store, "rita", PW) is not None  # the old password still holds
    assert len(_events(store, "USER_ADDED")) == 1 and not _events(store, "USER_CHANGED")


def test_r36_disable_enable_reset_and_role_are_logged(store):
    auth.add_user(store, "rita", "reviewer", PW)
    auth.set_disabled(store, "rita", True, "admin-1")
    assert auth.check_password(store, "rita", PW) is None
    with pytest.raises(Conflict, match="already disabled"):
        auth.set_disabled(store, "rita", True)
    auth.set_disabled(store, "rita", False, "admin-1")
    assert auth.check_password(store, "rita", PW).role == "reviewer"
    auth.reset_password(store, "rita", "the new long password", "admin-2")
    assert auth.check_password(store, "rita", PW) is None
    assert auth.check_password(store, "rita", "the new long password") is not None
    with pytest.raises(BadInput, match="12 characters"):
        auth.reset_password(store, "rita", "short")
    auth.change_role(store, "rita", "releaser", actor="admin-2")
    assert store.user("rita").role == "releaser"
    with pytest.raises(NotFound):
        auth.set_disabled(store, "nobody", True)
    with pytest.raises(NotFound):
        auth.reset_password(store, "nobody", "the new long password")
    actions = [(p["target"], p["action"], p["actor"]) for p in _events(store, "ACCESS_CHANGED")]
    assert actions == [("rita", "DISABLED", "admin-1"), ("rita", "ENABLED", "admin-1"),
                       ("rita", "PASSWORD_RESET", "admin-2")]
    assert _events(store, "USER_CHANGED")[0]["previous_role"] == "reviewer"
    assert [u.username for u in store.users()] == ["rita"]
    assert all(PW not in str(p) for p in _events(store, "ACCESS_CHANGED"))


def test_r36_credentials_are_listed_and_revoked_one_at_a_time(store):
    _official(store)
    first = auth.issue_credential(store, "DHS-ICE", "test")
    second = auth.issue_credential(store, "DHS-ICE", "test")  # rotation revokes the first
    creds = store.api_credentials("DHS-ICE")
    assert [c.revoked_at is None for c in creds] == [False, True]
    live = creds[1].cred_id
    assert second.startswith(f"tgk_{live}.")
    auth.revoke_credential(store, live, "admin-1")
    assert auth.check_api_token(store, second) is None and auth.check_api_token(
        store, first) is None
    with pytest.raises(Conflict, match="already revoked"):
        auth.revoke_credential(store, live)
    with pytest.raises(NotFound):
        auth.revoke_credential(store, "0000000000000000")
    assert _events(store, "ACCESS_CHANGED")[-1] == {
        "subject": "credential", "target": live, "action": "REVOKED", "actor": "admin-1"}
    assert store.api_credentials("DHS-CBP") == []


def test_r2_a_revoked_official_is_valid_no_more(store):
    o = _official(store)
    yesterday = dt.date.today() - dt.timedelta(days=1)
    revoked = store.revoke_official("DHS-ICE", o.official_id, yesterday, "admin-1")
    assert revoked.valid_to == yesterday and not revoked.valid_on(dt.date.today())
    assert store.officials("DHS-ICE")[0].valid_to == yesterday
    with pytest.raises(Conflict, match="already ended"):
        store.revoke_official("DHS-ICE", o.official_id, yesterday, "admin-1")
    with pytest.raises(NotFound):
        store.revoke_official("DHS-CBP", o.official_id, yesterday, "admin-1")
    assert _events(store, "ACCESS_CHANGED")[-1]["target"] == "DHS-ICE/ice-director"


def test_r7_safeguards_status_is_set_and_shown(store):
    assert store.safeguards() == [] and store.safeguards_current("DHS-ICE")
    store.set_safeguards("DHS-ICE", False, "admin-1", "annual review overdue")
    got = store.safeguards("DHS-ICE")
    assert len(got) == 1 and got[0].current is False and got[0].changed_by == "admin-1"
    assert got[0].note == "annual review overdue" and not store.safeguards_current("DHS-ICE")
    store.set_safeguards("DHS-ICE", True, "admin-2", "report received")
    assert store.safeguards("DHS-ICE")[0].current is True


def _filings(first_id: int) -> pa.RecordBatch:
    return pa.RecordBatch.from_pydict({"tin": ["900000001", "900000002"],
                                       "filing_id": pa.array([first_id, first_id + 1],
                                                             pa.int64()),
                                       "load_id": ["L-" + str(first_id)] * 2})


def test_the_same_file_is_loaded_once_unless_forced(store):
    origin = LoadOrigin("ab" * 32, "taxpayers.csv")
    assert store.append_filings(iter([_filings(1)]), origin) == 2
    with pytest.raises(Conflict, match="loaded already"):
        store.append_filings(iter([_filings(3)]), origin)
    assert store.filing_count() == 2
    assert store.append_filings(iter([_filings(3)]), LoadOrigin("ab" * 32, "again.csv",
                                                               force=True)) == 2
    loads = store.loads()
    assert [(ld.row_count, ld.sha256, ld.source) for ld in loads] == [
        (2, "ab" * 32, "taxpayers.csv"), (2, "ab" * 32, "again.csv")]
    assert store.filing_count() == 4
