"""Every Store method round-trips, on every engine (fixture ``store``)."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pytest

from taxgate import ledger
from taxgate.canonical import new_signing_key, public_key_pem, sign, verify
from taxgate.domain import DECISION_COLUMNS, LedgerEvent, Official, RequestOutcome
from taxgate.errors import StoreError
from taxgate.settings import Settings
from taxgate.store import common, open_store
from taxgate.store.base import Store

TIN = "912345678"


def filings_batch(n: int = 3, offset: int = 0) -> pa.RecordBatch:
    return pa.record_batch({
        "tin": [f"{900000000 + offset + i}" for i in range(n)],
        "first_name": ["JOSÉ"] * n,
        "last_name": ["GARCIA LOPEZ"] * n,
        "tax_year": pa.array([2024] * n, pa.int32()),
        "processed_date": pa.array([dt.date(2025, 3, 1)] * n, pa.date32()),
        "n_surnames": pa.array([["GARCIA", "LOPEZ"]] * n, pa.list_(pa.string())),
    })


def decisions(request_id: str, n: int = 3) -> pa.Table:
    return pa.table({
        "request_id": [request_id] * n,
        "row_number": pa.array(range(1, n + 1), pa.int64()),
        "record_id": [f"r{i}" for i in range(n)],
        "outcome": ["CONFIRMED"] + ["NOT_CONFIRMED"] * (n - 1),
        "reasons": [""] * n,
        "tin": [TIN] + [None] * (n - 1),
        "match_probability": [0.9995] + [None] * (n - 1),
        "evidence": ['{"name": "exact"}'] * n,
        "model_version": ["model-1"] * n,
        "policy_version": ["policy-1"] * n,
    })


def outcome(request_id: str = "REQ-1") -> RequestOutcome:
    return RequestOutcome(
        request_id, "sha-pkg", "2026-11-20T14:00:00Z", "2026-11-20T14:01:00Z",
        f'{{"request_id": "{request_id}"}}', decisions(request_id),
        [LedgerEvent("REQUEST_RECEIVED", {"request_id": request_id}, request_id),
         LedgerEvent("DISCLOSURE", {"record_id": "r0", "tin": TIN}, request_id)],
    )


def verified(store: Store) -> ledger.VerifyReport:
    report = ledger.verify(store.ledger_entries(), store.signing_key().public_key())
    report.raise_if_broken()
    return report


def test_initialize_is_idempotent_and_keeps_the_signing_key(
    store: Store, store_settings: Settings
) -> None:
    pub = public_key_pem(store.signing_key())
    store.initialize()
    store.close()
    with open_store(store_settings) as again:
        again.initialize()
        assert public_key_pem(again.signing_key()) == pub
        msg = b"hello"
        assert verify(again.signing_key().public_key(), msg, sign(again.signing_key(), msg))


def test_officials_round_trip_and_reregister(store: Store) -> None:
    pem = public_key_pem(new_signing_key())
    a = Official("ice-director", "DHS-ICE", "Director", pem, dt.date(2025, 1, 1))
    b = Official("fbi-director", "DOJ-FBI", "Director", pem, dt.date(2025, 1, 1),
                 dt.date(2026, 12, 31))
    store.add_official(a, "admin")
    store.add_official(b, "admin")
    assert store.officials("DHS-ICE") == [a]
    assert store.officials() == [a, b]
    renewed = Official("ice-director", "DHS-ICE", "Acting Director", pem, dt.date(2026, 1, 1))
    store.add_official(renewed, "admin")
    assert store.officials("DHS-ICE") == [renewed]
    added = [e for e in store.ledger_entries() if e.event_type == "OFFICIAL_ADDED"]
    assert len(added) == 3
    assert added[1].payload["valid_to"] == "2026-12-31" and added[0].payload["actor"] == "admin"
    assert len(added[0].payload["public_key_sha256"]) == 64
    verified(store)


def test_safeguards_default_current_and_change_is_logged(store: Store) -> None:
    assert store.safeguards_current("DHS-ICE")
    store.set_safeguards("DHS-ICE", False, "officer-7", "open finding, no CAP")
    assert not store.safeguards_current("DHS-ICE")
    store.set_safeguards("DHS-ICE", True, "officer-7", "CAP accepted")
    assert store.safeguards_current("DHS-ICE")
    changed = [e.payload for e in store.ledger_entries() if e.event_type == "SAFEGUARDS_CHANGED"]
    assert [c["current"] for c in changed] == [False, True]


def test_filings_append_count_and_matching_view(store: Store) -> None:
    assert store.filing_count() == 0
    with pytest.raises(StoreError):
        store.matching_connection()
    assert store.append_filings(iter([filings_batch(3), filings_batch(2, 3)])) == 5
    assert store.append_filings(iter([filings_batch(4, 10)])) == 4
    assert store.append_filings(iter([])) == 0
    assert store.filing_count() == 9
    con = store.matching_connection()
    rows = con.execute(
        "SELECT filing_id, load_id, tin, first_name, tax_year, processed_date, n_surnames "
        "FROM filings ORDER BY filing_id").fetchall()
    assert [r[0] for r in rows] == list(range(1, 10))
    assert len({r[1] for r in rows[:5]}) == 1 and rows[5][1] != rows[0][1]
    assert rows[0][2:] == ("900000000", "JOSÉ", 2024, dt.date(2025, 3, 1), ["GARCIA", "LOPEZ"])


def test_filings_keep_loader_ids_and_accept_new_columns(store: Store) -> None:
    b = filings_batch(2)
    b = pa.RecordBatch.from_arrays(
        [*b.columns, pa.array([7, 8], pa.int64()), pa.array(["L1", "L1"])],
        names=[*b.schema.names, "filing_id", "load_id"])
    store.append_filings(iter([b]))
    extra = filings_batch(1, 5).append_column("a_zip5", pa.array(["12345"]))
    store.append_filings(iter([extra]))
    rows = store.matching_connection().execute(
        "SELECT filing_id, load_id, a_zip5 FROM filings ORDER BY filing_id").fetchall()
    assert rows[:2] == [(7, "L1", None), (8, "L1", None)]
    assert rows[2][0] == 9 and rows[2][1] != "L1" and rows[2][2] == "12345"


def test_filings_are_numbered_in_the_files_order_whatever_the_streams(store: Store) -> None:
    """A loader that gives each row's place in its file (``load_row``) has the ids follow
    the file, not the order the batches arrive in, continuing from the highest stored
    id; the place itself is not stored (the same file gives the same ids, hence the same
    trained model: R31)."""
    store.append_filings(iter([filings_batch(2)]))  # ids 1 and 2

    def placed(rows: list[int]) -> pa.RecordBatch:
        b = filings_batch(len(rows), offset=min(rows) + 10)
        return b.append_column("load_row", pa.array(rows, pa.int64()))

    store.append_filings(iter([placed([3, 4]), placed([0, 1, 2])]))
    rows = store.matching_connection().execute(
        "SELECT filing_id, tin FROM filings ORDER BY filing_id").fetchall()
    assert [r[0] for r in rows] == [1, 2, 3, 4, 5, 6, 7]
    assert [r[1] for r in rows[2:]] == [f"{900000000 + 10 + i}" for i in range(5)]
    columns = [d[0] for d in store.matching_connection().execute(
        "SELECT * FROM filings LIMIT 0").description]
    assert "load_row" not in columns


def test_filings_from_a_staged_query_are_stored_as_their_batches_would_be(
        store: Store) -> None:
    """``load`` prepares filings in the store's staging connection and stores them from
    the query that gives them (the embedded store in one INSERT, no copy through Arrow):
    the ids follow ``load_row`` on from the highest stored id, the columns keep the types
    the same rows have as batches, a query of no rows is no load, and new columns are
    added as they are for batches."""
    with store.staging() as con:
        empty = "SELECT 'LE' AS load_id, 0::BIGINT AS load_row, '1' AS tin WHERE false"
        assert store.append_filings_query(con, empty) == 0
        assert store.filing_count() == 0 and store.loads() == []
        con.register("_tg_test_in", pa.Table.from_batches([filings_batch(3, offset=20)]))
        con.execute("CREATE OR REPLACE TEMP TABLE _tg_test AS SELECT * FROM _tg_test_in")
        con.unregister("_tg_test_in")
        seen: list[int] = []
        query = "SELECT 'LQ' AS load_id, 2 - rowid AS load_row, * FROM _tg_test"
        assert store.append_filings_query(con, query, advance=seen.append) == 3
        assert sum(seen) == 3
        wider = "SELECT 'LW' AS load_id, 0::BIGINT AS load_row, '900000099' AS tin, 'X' AS unit"
        assert store.append_filings_query(con, wider) == 1
        con.execute("DROP TABLE _tg_test")
    store.append_filings(iter([filings_batch(1, offset=40)]))
    rows = store.matching_connection().execute(
        "SELECT filing_id, load_id, tin, unit FROM filings ORDER BY filing_id").fetchall()
    assert rows == [(1, "LQ", "900000022", None), (2, "LQ", "900000021", None),
                    (3, "LQ", "900000020", None), (4, "LW", "900000099", "X"),
                    (5, rows[4][1], "900000040", None)]
    types = dict(store.matching_connection().execute(
        "SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM filings)").fetchall())
    assert types["tax_year"] == "INTEGER" and types["processed_date"] == "DATE"
    assert types["n_surnames"] == "VARCHAR[]" and types["filing_id"] == "BIGINT"
    assert "load_row" not in types
    assert [(ld.row_count, ld.min_filing_id, ld.max_filing_id) for ld in store.loads()] == [
        (3, 1, 3), (1, 4, 4), (1, 5, 5)]


def test_model_round_trip(store: Store) -> None:
    assert store.current_model() is None
    store.save_model("model-a", '{"a": 1}')
    store.save_model("model-b", '{"b": 2}')
    assert store.current_model() == ("model-b", '{"b": 2}')
    trained = [e.payload for e in store.ledger_entries() if e.event_type == "MODEL_TRAINED"]
    assert [t["version"] for t in trained] == ["model-a", "model-b"]


def test_commit_request_exactly_once(store: Store) -> None:
    assert store.find_request("REQ-1") is None
    assert store.commit_request(outcome()) is True
    before = list(store.ledger_entries())
    assert store.commit_request(outcome()) is False
    assert list(store.ledger_entries()) == before
    got = store.find_request("REQ-1")
    assert got is not None and got.status == "COMPLETE" and got.package_sha256 == "sha-pkg"
    assert got.response_json == '{"request_id": "REQ-1"}'
    assert got.completed_at == "2026-11-20T14:01:00Z"
    table = store.decisions("REQ-1")
    assert table.column_names == list(DECISION_COLUMNS)
    assert table.to_pylist() == decisions("REQ-1").to_pylist()
    assert store.decisions("NOPE").num_rows == 0
    disclosed = [e for e in before if e.event_type == "DISCLOSURE"]
    assert len(disclosed) == 1 and before[-1].event_type == ledger.CHECKPOINT
    verified(store)


def test_commit_request_that_fails_while_writing_leaves_nothing(store: Store) -> None:
    """A crash loses nothing and discloses nothing twice: a request whose events go wrong
    after a whole ledger batch was chained and handed to the writer is not committed in
    any part; the same request then commits whole."""
    many = [LedgerEvent("DISCLOSURE", {"record_id": f"r{i}", "tin": TIN}, "REQ-F")
            for i in range(60_000)]  # past one batch of the ledger's writer
    late = outcome("REQ-F")
    late.events = [*many, LedgerEvent("DISCLOSURE", {"last_name": "x"}, "REQ-F")]
    with pytest.raises(StoreError, match="taxpayer fields"):
        store.commit_request(late)
    assert store.find_request("REQ-F") is None
    assert store.decisions("REQ-F").num_rows == 0
    assert list(store.ledger_entries()) == []
    assert store.commit_request(outcome("REQ-F")) is True
    assert [e.event_type for e in store.ledger_entries()][:2] == ["REQUEST_RECEIVED", "DISCLOSURE"]
    verified(store)


def test_disclosure_tin_is_logged_as_a_keyed_digest(store: Store) -> None:
    store.commit_request(outcome())
    [d] = [e.payload for e in store.ledger_entries() if e.event_type == "DISCLOSURE"]
    assert "tin" not in d and d["tin_digest"] == store.tin_digest(TIN)
    assert TIN not in str(list(store.ledger_entries()))


def test_ledger_refuses_name_and_address_fields(store: Store) -> None:
    with pytest.raises(StoreError, match="taxpayer fields"):
        store.append_events([LedgerEvent("DISCLOSURE", {"last_name": "x"})])
    assert list(store.ledger_entries()) == []


def test_record_refusal(store: Store) -> None:
    rejected = pa.table({"row_number": [1, 2], "record_id": ["a", "b"],
                         "outcome": ["REJECTED"] * 2, "reasons": ["SIGNATURE_INVALID"] * 2})
    ev = [LedgerEvent("REQUEST_REFUSED", {"reason": "SIGNATURE_INVALID"}, "REQ-9")]
    store.record_refusal("REQ-9", "sha-9", "2026-11-20T14:00:00Z", '{"r": 1}', ev, rejected)
    got = store.find_request("REQ-9")
    assert got is not None and got.status == "REFUSED" and got.response_json == '{"r": 1}'
    assert store.decisions("REQ-9").column("reasons").to_pylist() == ["SIGNATURE_INVALID"] * 2
    # logged again, remembered once; a refused request is never committed afterwards
    store.record_refusal("REQ-9", "sha-other", "t", "{}", ev, rejected)
    assert store.find_request("REQ-9").package_sha256 == "sha-9"
    assert store.decisions("REQ-9").num_rows == 2
    assert store.commit_request(outcome("REQ-9")) is False
    refused = [e for e in store.ledger_entries() if e.event_type == "REQUEST_REFUSED"]
    assert len(refused) == 2


def test_append_events_and_stream_after_seq(store: Store) -> None:
    store.append_events([LedgerEvent("REVIEW_DECIDED", {"record_id": f"r{i}"}, "REQ-1")
                         for i in range(5)])
    store.append_events([])
    entries = list(store.ledger_entries())
    assert [e.seq for e in entries] == list(range(1, 7))
    assert [e.seq for e in store.ledger_entries(after_seq=4)] == [5, 6]
    assert entries[0].request_id == "REQ-1" and entries[-1].request_id is None
    assert verified(store).unsigned_tail == 0


def test_checkpoint_every_n_inside_a_big_commit(store_settings: Settings) -> None:
    import dataclasses

    settings = dataclasses.replace(store_settings)
    object.__setattr__(settings, "ledger_checkpoint_every", 50)
    with open_store(settings, create=True) as s:
        s.initialize()
        s.append_events([LedgerEvent("DISCLOSURE", {"record_id": str(i)}) for i in range(120)])
        cps = [e.seq for e in s.ledger_entries() if e.event_type == ledger.CHECKPOINT]
        assert cps == [50, 100, 123]
        assert verified(s).checkpoints == 3



def test_tin_digest_is_the_documented_keyed_digest(store: Store, store_settings: Settings) -> None:
    from taxgate.canonical import keyed_digest

    key = store_settings.resolve_key()
    expected = keyed_digest(keyed_digest(key, "taxgate/ledger-tin-digest/v1"), TIN)
    assert store.tin_digest(TIN) == expected != store.tin_digest("912345679")
    # many at once (a request's confirmations): the same digests, in order
    tins = [TIN, "912345679", "ü-1", TIN]
    assert store.tin_digests(tins) == [store.tin_digest(t) for t in tins]


def test_one_load_has_one_set_of_columns(store: Store) -> None:
    other = filings_batch(1).append_column("a_zip5", pa.array(["12345"]))
    with pytest.raises(StoreError, match="same columns"):
        store.append_filings(iter([filings_batch(2), other]))
    assert store.filing_count() == 0  # nothing of the failed load remains
    wide = filings_batch(2, 10).cast(filings_batch(2).schema.set(
        3, pa.field("tax_year", pa.int64())))
    assert store.append_filings(iter([filings_batch(2), wide])) == 4


def test_a_loader_error_inside_the_stream_comes_through(store: Store) -> None:
    from taxgate.errors import TaxpayerFileError

    def batches():  # noqa: ANN202
        yield filings_batch(2)
        yield filings_batch(2, 2)
        raise TaxpayerFileError("filings.csv line 7: bad tax_year")

    with pytest.raises(TaxpayerFileError, match="line 7"):
        store.append_filings(batches())
    assert store.filing_count() == 0


def test_r27_a_disclosure_batch_is_stored_as_its_plain_events_would_be(
    store_settings: Settings,
) -> None:
    """The pipeline hands a request's disclosures over as payload bytes (a PayloadBatch):
    the entries stored are those its plain events give, scrubbed and chained at the
    stored time with the store's key, byte for byte, checkpoints falling inside."""
    import dataclasses

    from taxgate.pipeline.disclosures import DisclosureTemplate, disclosure_event

    settings = dataclasses.replace(store_settings)
    object.__setattr__(settings, "ledger_checkpoint_every", 7)
    manifest = {"request_id": "REQ-B", "requesting_agency": "DHS-ICE",
                "signing_official": "ice-director", "legal_authority": "26 U.S.C. 6103(i)(2)",
                "criminal_statute": "8 U.S.C. 1253(a)(1)", "reason": "a 100% \"reason\" ü",
                "taxable_periods": [2023, 2024]}
    made = {"disclosed_at": "2026-12-05T00:00:00.000000Z", "model_version": "m-1",
            "policy_version": "p-1"}
    rows = [(f"r{i}", f"9{i:08d}", "OFF-1", None if i % 2 else f"C-{i}", i / 9)
            for i in range(20)]
    received = LedgerEvent("REQUEST_RECEIVED", {"request_id": "REQ-B"}, "REQ-B")
    with open_store(settings, create=True) as s:
        s.initialize()
        template = DisclosureTemplate(manifest, tin_digests=s.tin_digests, **made)
        request = outcome("REQ-B")
        request.events = [received, template.batch(*(list(c) for c in zip(*rows, strict=True)))]
        assert s.commit_request(request)
        stored = list(s.ledger_entries())
        plain = [received, *(disclosure_event(
            manifest, record_id=r, tin=t, officer_id=o, case_number=c, match_probability=p,
            **made) for r, t, o, c, p in rows)]
        key = settings.resolve_key()
        assert key is not None
        at = dt.datetime.fromisoformat(stored[0].recorded_at.replace("Z", "+00:00"))
        want = ledger.chain(None, list(common.scrub_events(plain, key)), at,
                            key=s.signing_key(), checkpoint_every=7)

        def row(e: ledger.LedgerEntry) -> tuple[object, ...]:
            return (e.seq, e.recorded_at, e.event_type, e.request_id,
                    ledger.payload_bytes(e.payload), e.prev_hash, e.entry_hash)

        assert [row(e) for e in stored] == [row(e) for e in want]
        assert [e.seq for e in stored if e.event_type == ledger.CHECKPOINT] == [7, 14, 21, 25]
        assert verified(s).entries == 25
