"""The evidence table on both stores (R3, R30, R40): parts sealed under their labels, read
back in order, purged after their retention with a ledger event; any model version."""

from __future__ import annotations

import pytest

from taxgate.domain import EvidencePart
from taxgate.errors import StoreError


def test_r3_kept_parts_read_back_in_order_and_sealed(store):
    parts = [EvidencePart("records", "REQ-1", n, f"part {n};".encode(), "2099-01-01T00:00:00Z")
             for n in (1, 0, 2)]
    store.keep_evidence(parts)
    assert store.kept("records", "REQ-1") == b"part 0;part 1;part 2;"
    assert store.kept("records", "REQ-2") is None
    raw = store._svc_rows(f"SELECT sealed FROM {store._t('evidence')}")  # noqa: SLF001
    assert len(raw) == 3 and not any(b"part" in bytes(r[0]) for r in raw)
    # a part moved to another row does not open as that row
    blob = store._svc_rows(f"SELECT sealed FROM {store._t('evidence')} WHERE part = 0")[0][0]  # noqa: SLF001
    with store._svc_tx() as tx:  # noqa: SLF001
        tx.execute(f"UPDATE {store._t('evidence')} SET sealed = ? WHERE part = 1", [blob])  # noqa: SLF001
    with pytest.raises(StoreError):
        store.kept("records", "REQ-1")


def test_r40_purge_deletes_expired_packages_only_and_is_logged(store):
    from taxgate.ledger_events import EvidencePurged

    store.keep_evidence([
        EvidencePart("manifest", "OLD", 0, b"{}", "2020-01-01T00:00:00Z"),
        EvidencePart("manifest", "NEW", 0, b"{}", "2099-01-01T00:00:00Z"),
        EvidencePart("policy", "policy-x", 0, b"{}", None),
    ])
    gone = store.purge_evidence("2026-01-01T00:00:00Z", lambda refs: [
        EvidencePurged(request_ids=refs, actor="test").to_event()])
    assert gone == ["OLD"]
    assert store.kept("manifest", "OLD") is None
    assert store.kept("manifest", "NEW") == b"{}" and store.kept("policy", "policy-x") == b"{}"
    purged = [e for e in store.ledger_entries() if e.event_type == "EVIDENCE_PURGED"]
    assert [e.payload["request_ids"] for e in purged] == [["OLD"]]


def test_r30_every_model_version_stays_readable(store):
    store.save_model("model-a", '{"a": 1}')
    store.save_model("model-b", '{"b": 2}')
    assert store.current_model() == ("model-b", '{"b": 2}')
    assert store.model_json("model-a") == '{"a": 1}'
    assert store.model_json("model-c") is None
