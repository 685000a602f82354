"""R27/R34: the DISCLOSURE event ``process`` logs per confirmation. Its fast builder
(DisclosureTemplate) must give exactly what the plain event gives after the store's
scrubbing: the same payload, the same bytes hashed into the ledger, no TIN in the clear."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from taxgate import ledger
from taxgate.canonical import canonical_json, new_signing_key
from taxgate.domain import PayloadBatch
from taxgate.errors import StoreError
from taxgate.ledger_columns import chain_columns
from taxgate.pipeline.disclosures import DisclosureTemplate, disclosure_event
from taxgate.store import common

KEY_HEX = "ab" * 32
MANIFEST = {
    "request_id": "REQ-ü-1",
    "requesting_agency": "DHS-ICE",
    "signing_official": "ice-director",
    "legal_authority": "26 U.S.C. 6103(i)(2)",
    "criminal_statute": "8 U.S.C. 1253(a)(1)",
    "reason": 'Failure to depart; "quoted" \\ reason %s 100%\n',
    "taxable_periods": [2023, 2024],
}
NOW = "2026-11-26T02:00:00.000000Z"
text = st.text(st.characters(codec="utf-8"), max_size=20)


def _template(model_version: str | None = "m-1") -> DisclosureTemplate:
    return DisclosureTemplate(
        MANIFEST, disclosed_at=NOW, model_version=model_version, policy_version="p-1",
        tin_digests=lambda tins: common.tin_digests(KEY_HEX, tins),
    )


def _slow(record_id, tin, officer, case, prob, model_version="m-1"):  # noqa: ANN001, ANN202
    event = disclosure_event(
        MANIFEST, record_id=record_id, tin=tin, officer_id=officer, case_number=case,
        disclosed_at=NOW, match_probability=prob, model_version=model_version,
        policy_version="p-1")
    [scrubbed] = common.scrub_events([event], KEY_HEX)
    return scrubbed


@settings(max_examples=200, deadline=None)
@given(record_id=text, tin=st.from_regex(r"9\d{8}", fullmatch=True),
       officer=st.none() | text, case=st.none() | text,
       prob=st.none() | st.floats(0, 1))
def test_r27_template_event_is_the_scrubbed_plain_event_byte_for_byte(
    record_id: str, tin: str, officer: str | None, case: str | None, prob: float | None
) -> None:
    fast = _template().event(record_id, tin, officer, case, prob)
    slow = _slow(record_id, tin, officer, case, prob)
    assert (fast.event_type, fast.request_id) == (slow.event_type, slow.request_id)
    assert dict(fast.payload) == slow.payload
    assert ledger.payload_bytes(fast.payload) == canonical_json(slow.payload)
    # the same record in a request's batch: the same bytes, checked fields, no TIN field
    batch = _template().batch([record_id], [tin], [officer], [case], [prob])
    assert (batch.event_type, batch.request_id) == (slow.event_type, slow.request_id)
    assert batch.payloads == [canonical_json(slow.payload)]
    assert batch.fields == tuple(fast.payload) and list(common.scrub_events([batch], KEY_HEX))


def test_r34_template_logs_the_tin_only_as_its_keyed_digest() -> None:
    fast = _template(model_version=None).event("R-1", "912345678", None, "CASE-1", 0.9999994)
    raw = ledger.payload_bytes(fast.payload)
    assert b"912345678" not in raw and "tin" not in fast.payload
    assert fast.payload["tin_digest"] == common.tin_digest(KEY_HEX, "912345678")
    assert fast.payload["match_probability"] == 0.999999 and fast.payload["model_version"] is None
    # the store's scrubbing passes it through unchanged
    assert list(common.scrub_events([fast], KEY_HEX)) == [fast]


def test_r27_chained_template_events_hash_like_the_plain_ones() -> None:
    key, now = new_signing_key(), dt.datetime(2026, 11, 26, tzinfo=dt.UTC)
    rows = [(f"R-{i}", f"9{i:08d}", "OFF-1", None if i % 2 else f"C-%d {i}", i / 7)
            for i in range(25)]
    fast = ledger.chain(None, [_template().event(*r) for r in rows], now, key=key)
    slow = ledger.chain(None, [_slow(*r) for r in rows], now, key=key)
    assert [e.entry_hash for e in fast] == [e.entry_hash for e in slow]
    assert ledger.verify(fast, key.public_key()).ok
    # as the store chains a request's batch (scrubbed, as columns, checkpoints inside)
    slow = ledger.chain(None, [_slow(*r) for r in rows], now, key=key, checkpoint_every=10)
    batch = _template().batch(*(list(col) for col in zip(*rows, strict=True)))
    [scrubbed] = common.scrub_events([batch], KEY_HEX)
    [cols] = chain_columns(None, [scrubbed], now, key=key, checkpoint_every=10)
    assert [(e.seq, e.entry_hash, ledger.payload_bytes(e.payload)) for e in cols.entries()] == [
        (e.seq, e.entry_hash, ledger.payload_bytes(e.payload)) for e in slow]
    assert cols.texts()[0] == canonical_json(slow[0].payload).decode()


def test_r34_a_batch_naming_a_clear_tin_or_a_name_is_refused() -> None:
    for fields in (("record_id", "tin"), ("record_id", "co_tin"), ("last_name",)):
        batch = PayloadBatch("DISCLOSURE", "REQ-1", fields, [b'{"record_id":"R-1"}'])
        with pytest.raises(StoreError):
            list(common.scrub_events([batch], KEY_HEX))
