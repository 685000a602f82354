"""The gateway's own tables, one SQL text for both engines (migration 0001_initial).

A mixin for :class:`EmbeddedStore` and :class:`PostgresStore` over the same hooks as
:mod:`taxgate.store.service_sql` (``_svc_rows``, ``_svc_tx``, ``_svc_prefix``), plus
``_meta`` (a value of the meta table) and the stored form of the trained model
(``_model_col``, ``_model_value``, ``_model_text``): the embedded store keeps it in
clear in its encrypted file, PostgreSQL keeps it sealed. Upserts are ``ON CONFLICT``,
which both engines speak; statements use ``?`` placeholders.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from taxgate.canonical import load_private_key_pem
from taxgate.domain import (
    EvidencePart,
    LedgerEntry,
    LedgerEvent,
    LoadRow,
    ModelRow,
    Official,
    RequestOutcome,
    SafeguardsStatus,
    StoredRequest,
)
from taxgate.errors import Conflict, KeyUnavailable, NotFound, NotSetUp
from taxgate.ledger_events import AccessChanged
from taxgate.store import common
from taxgate.store.evidence_sql import EvidenceTablesMixin
from taxgate.store.service_sql import ServiceTx, where_equal

if TYPE_CHECKING:
    import pyarrow as pa
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from taxgate.settings import Settings
    from taxgate.standardize.lookup_cache import LookupCache

LEDGER_COLS = "seq, recorded_at, event_type, request_id, payload, prev_hash, entry_hash"
_OFFICIAL_COLS = "official_id, agency, title, public_key_pem, valid_from, valid_to"
LOAD_COLS = "load_id, loaded_at, row_count, min_filing_id, max_filing_id, sha256, source"


def refuse_reload(found: list[tuple[Any, ...]]) -> None:
    """Conflict when ``found`` (load_id, loaded_at of loads with the same file digest)
    is not empty: the same file is loaded once unless forced."""
    if found:
        raise Conflict(f"this file was loaded already (load {found[0][0]} at {found[0][1]}); "
                       "loading it again would count its filings twice: --force to load anyway")


def same_file_sql(prefix: str) -> str:
    return f"SELECT load_id, loaded_at FROM {prefix}loads WHERE sha256 = ? ORDER BY loaded_at"


def ledger_head_sql(prefix: str) -> str:
    """The last ledger entry; max(seq) reads one column (or the key's index)."""
    return (f"SELECT {LEDGER_COLS} FROM {prefix}ledger "
            f"WHERE seq = (SELECT max(seq) FROM {prefix}ledger)")


class CoreTablesMixin(EvidenceTablesMixin):
    """Signing key, officials, safeguards, loads, the model, requests, the ledger's reads."""

    settings: Settings
    _signing: Ed25519PrivateKey | None
    _anchor_rebase: bool
    _model_col = "model_json"
    _ledger_lock = ""  # SQL that serializes ledger writers across processes, if needed
    _for_update = ""  # the row-locking clause, where the engine has one

    # hooks -----------------------------------------------------------------------------
    def _meta(self, name: str) -> bytes | None:
        raise NotImplementedError

    def _model_value(self, version: str, model_json: str) -> object:
        return model_json

    def _model_text(self, version: str, stored: Any) -> str:
        return str(stored)

    # keys ------------------------------------------------------------------------------
    def signing_key(self) -> Ed25519PrivateKey:
        if self._signing is None:
            pem = self._meta("signing_key")
            if pem is None:
                raise NotSetUp("the store has no signing key: run `taxgate init`")
            try:
                self._signing = load_private_key_pem(
                    pem, passphrase=common.signing_passphrase(self._key_hex()))
            except ValueError as exc:
                raise KeyUnavailable("the at-rest key does not decrypt the signing key") from exc
        return self._signing

    def tin_digest(self, tin: str) -> str:
        return common.tin_digest(self._key_hex(), tin)

    def tin_digests(self, tins: Iterable[str]) -> list[str]:
        return common.tin_digests(self._key_hex(), tins)

    def lookup_cache(self) -> LookupCache | None:
        folder = self.settings.lookup_folder
        return None if folder is None else common.lookup_cache(self._key_hex(), folder)

    # officials and safeguards ------------------------------------------------------------
    def add_official(self, official: Official, actor: str) -> None:
        event = common.official_added_event(official, actor)
        with self._svc_tx() as tx:
            tx.execute(
                f"INSERT INTO {self._t('officials')} VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (agency, official_id) DO UPDATE SET title = EXCLUDED.title, "
                "public_key_pem = EXCLUDED.public_key_pem, valid_from = EXCLUDED.valid_from, "
                "valid_to = EXCLUDED.valid_to, added_at = EXCLUDED.added_at, "
                "added_by = EXCLUDED.added_by",
                [official.agency, official.official_id, official.title, official.public_key_pem,
                 official.valid_from, official.valid_to, common.iso_now(), actor])
            tx.append([event])

    def officials(self, agency: str | None = None) -> list[Official]:
        where, params = where_equal("agency", agency)
        return [Official(*r) for r in self._svc_rows(
            f"SELECT {_OFFICIAL_COLS} FROM {self._t('officials')}{where} "
            "ORDER BY agency, official_id", params)]

    def safeguards_current(self, agency: str) -> bool:
        rows = self._svc_rows(f"SELECT current FROM {self._t('safeguards')} WHERE agency = ?",
                              [agency])
        return True if not rows else bool(rows[0][0])

    def set_safeguards(self, agency: str, current: bool, actor: str, note: str) -> None:
        with self._svc_tx() as tx:
            tx.execute(
                f"INSERT INTO {self._t('safeguards')} VALUES (?, ?, ?, ?, ?) "
                "ON CONFLICT (agency) DO UPDATE SET current = EXCLUDED.current, "
                "changed_at = EXCLUDED.changed_at, changed_by = EXCLUDED.changed_by, "
                "note = EXCLUDED.note",
                [agency, current, common.iso_now(), actor, note])
            tx.append([common.safeguards_event(agency, current, actor, note)])

    def revoke_official(self, agency: str, official_id: str, last_day: dt.date,
                        actor: str) -> Official:
        """End an official's authority to sign: ``valid_to`` becomes ``last_day`` (the
        day before the revocation), so nothing they sign is received from then on."""
        t = self._t("officials")
        with self._svc_tx() as tx:
            got = tx.execute(f"SELECT {_OFFICIAL_COLS} FROM {t} WHERE agency = ? AND "
                             f"official_id = ?{self._for_update}", [agency, official_id])
            if not got:
                raise NotFound("no such official registered for that agency")
            official = Official(*got[0])
            if official.valid_to is not None and official.valid_to <= last_day:
                raise Conflict("that official's authority has already ended "
                               f"(valid to {official.valid_to})")
            tx.execute(f"UPDATE {t} SET valid_to = ? WHERE agency = ? AND official_id = ?",
                       [last_day, agency, official_id])
            tx.append([AccessChanged(subject="official", target=f"{agency}/{official_id}",
                                     action="REVOKED", actor=actor).to_event()])
        return replace(official, valid_to=last_day)

    def safeguards(self, agency: str | None = None) -> list[SafeguardsStatus]:
        where, params = where_equal("agency", agency)
        return [SafeguardsStatus(r[0], bool(r[1]), *r[2:]) for r in self._svc_rows(
            f"SELECT agency, current, changed_at, changed_by, note FROM "
            f"{self._t('safeguards')}{where} ORDER BY agency", params)]

    # filings and the model -----------------------------------------------------------------
    def loads(self) -> list[LoadRow]:
        return [LoadRow(r[0], r[1], int(r[2]), int(r[3]), int(r[4]), r[5], r[6])
                for r in self._svc_rows(f"SELECT {LOAD_COLS} FROM {self._t('loads')} "
                                        "ORDER BY min_filing_id")]

    def filing_count(self) -> int:
        rows = self._svc_rows(f"SELECT coalesce(sum(row_count), 0) FROM {self._t('loads')}")
        return int(rows[0][0]) if rows else 0

    def save_model(self, version: str, model_json: str, filing_count: int | None = None
                   ) -> None:
        value, col = self._model_value(version, model_json), self._model_col
        with self._svc_tx() as tx:
            tx.execute(f"INSERT INTO {self._t('models')} (version, trained_at, {col}, "
                       "filing_count) VALUES (?, ?, ?, ?) ON CONFLICT (version) DO UPDATE SET "
                       f"trained_at = EXCLUDED.trained_at, {col} = EXCLUDED.{col}, "
                       "filing_count = EXCLUDED.filing_count",
                       [version, common.iso_now(), value, filing_count])
            tx.append([common.model_trained_event(version, model_json)])

    def models(self) -> list[ModelRow]:
        rows = self._svc_rows(f"SELECT version, trained_at, filing_count FROM "
                              f"{self._t('models')} ORDER BY trained_at DESC, version DESC")
        return [ModelRow(r[0], r[1], None if r[2] is None else int(r[2]), i == 0)
                for i, r in enumerate(rows)]

    def current_model(self) -> tuple[str, str] | None:
        rows = self._svc_rows(f"SELECT version, {self._model_col} FROM {self._t('models')} "
                              "ORDER BY trained_at DESC, version DESC LIMIT 1")
        return (rows[0][0], self._model_text(rows[0][0], rows[0][1])) if rows else None

    # requests ------------------------------------------------------------------------------
    def find_request(self, request_id: str) -> StoredRequest | None:
        rows = self._svc_rows(f"SELECT {common.REQUEST_COLS} FROM {self._t('requests')} "
                              "WHERE request_id = ?", [request_id])
        return StoredRequest(*rows[0]) if rows else None

    def _new_request(self, tx: ServiceTx, row: list[Any]) -> bool:
        """Under the ledger lock: insert the requests row (its columns in REQUEST_COLS
        order) unless its request_id is stored already; whether it was inserted."""
        if self._ledger_lock:
            tx.execute(self._ledger_lock, [])
        if tx.execute(f"SELECT status FROM {self._t('requests')} WHERE request_id = ?"
                      f"{self._for_update}", [row[0]]):
            return False
        tx.execute(f"INSERT INTO {self._t('requests')} ({common.REQUEST_COLS}) "
                   "VALUES (?, ?, ?, ?, ?, ?, ?)", row)
        return True

    def record_refusal(
        self, request_id: str, package_sha256: str, received_at: str, response_json: str,
        events: list[LedgerEvent], decisions: pa.Table | None = None, agency: str | None = None,
        evidence: Iterable[EvidencePart] = (),
    ) -> None:
        table = common.conform_decisions(
            decisions if decisions is not None else common.empty_decisions(), request_id)
        with self._svc_tx() as tx:
            if self._new_request(tx, [request_id, package_sha256, "REFUSED", received_at,
                                      common.iso_now(), response_json, agency]):
                self._keep(tx, evidence)
                tx.append_decided(request_id, table, events)
            else:
                tx.append(events)

    def commit_request(self, outcome: RequestOutcome) -> bool:
        table = common.conform_decisions(outcome.decisions, outcome.request_id)
        with self._svc_tx() as tx:
            if not self._new_request(tx, [
                    outcome.request_id, outcome.package_sha256, "COMPLETE", outcome.received_at,
                    outcome.completed_at, outcome.response_json, outcome.agency]):
                return False
            self._keep(tx, outcome.evidence)
            tx.append_decided(outcome.request_id, table, outcome.events)
        return True

    # ledger ----------------------------------------------------------------------------------
    def append_events(self, events: list[LedgerEvent], *, rebase_anchor: bool = False) -> None:
        with self._svc_tx() as tx:
            tx.append(list(events))
            self._anchor_rebase = rebase_anchor

    def ledger_head(self) -> LedgerEntry | None:
        rows = self._svc_rows(ledger_head_sql(self._svc_prefix))
        return common.entry_from_row(rows[0]) if rows else None

    def ledger_entry(self, seq: int) -> LedgerEntry | None:
        rows = self._svc_rows(f"SELECT {LEDGER_COLS} FROM {self._t('ledger')} WHERE seq = ?",
                              [seq])
        return common.entry_from_row(rows[0]) if rows else None
