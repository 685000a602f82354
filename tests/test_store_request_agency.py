"""Each stored request keeps the agency that sent it (contract §2: a request is its
agency and its request_id), on every engine, and migration 0003 keeps older requests."""

from __future__ import annotations

from dataclasses import replace

import pytest
from store_raw import run_sql
from test_store import decisions, outcome

from taxgate.domain import LedgerEvent
from taxgate.errors import StoreError
from taxgate.settings import Settings
from taxgate.store import open_store


def test_contract_s2_store_keeps_the_agency_of_answered_and_refused_requests(store):
    assert store.commit_request(replace(outcome("ICE-1"), agency="DHS-ICE"))
    store.record_refusal("CBP-1", "sha-cbp", "2026-11-20T14:00:00Z", "{}",
                         [LedgerEvent("REQUEST_REFUSED", {"request_id": "CBP-1"}, "CBP-1")],
                         decisions("CBP-1"), agency="DHS-CBP")
    ice, cbp = store.find_request("ICE-1"), store.find_request("CBP-1")
    assert ice is not None and (ice.agency, ice.status) == ("DHS-ICE", "COMPLETE")
    assert cbp is not None and (cbp.agency, cbp.status) == ("DHS-CBP", "REFUSED")
    # the request_id is taken once, whatever agency commits next under it
    assert not store.commit_request(replace(outcome("ICE-1"), agency="DHS-CBP"))
    assert store.find_request("ICE-1").agency == "DHS-ICE"


def test_contract_s2_migration_0003_keeps_requests_stored_before_it(store_settings: Settings):
    with open_store(store_settings, create=True) as st:
        st.initialize()
        assert st.commit_request(replace(outcome("OLD-1"), agency="DHS-ICE"))
    table = "requests" if store_settings.is_postgres else "store.requests"
    migrations = "schema_migrations" if store_settings.is_postgres else "store.schema_migrations"
    run_sql(store_settings, f"ALTER TABLE {table} DROP COLUMN agency",
            f"DELETE FROM {migrations} WHERE name = 'request_agency'")  # a gap: out of date
    with pytest.raises(StoreError, match="out of date"):
        open_store(store_settings)
    with open_store(store_settings, create=True) as st:
        st.initialize()
        old = st.find_request("OLD-1")
    assert old is not None and old.agency is None and old.package_sha256 == "sha-pkg"
