"""The evidence kept for counsel and re-checks (R3, R30), one SQL text for both engines
(migration ``evidence``).

A mixin over the hooks of :mod:`taxgate.store.service_sql`. Each part (a request's
signed manifest, a slice of its records file, a policy version's values) is sealed
with AES-256-GCM under the at-rest key, the label ``evidence/<kind>/<ref>/<part>``
its associated data, so a part moved to another row fails to open. The embedded
store seals it inside its encrypted file as well: one rule for both engines. The
model of every version is the ``models`` table's (kept by version since the first
migration); :meth:`EvidenceTablesMixin.model_json` reads any one of them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

from taxgate.domain import EvidencePart, LedgerEvent, StoredRequest
from taxgate.store import common
from taxgate.store.service_sql import ServiceTablesMixin, ServiceTx

KINDS = ("manifest", "records", "policy")


def _label(kind: str, ref: str, part: int) -> str:
    return f"evidence/{kind}/{ref}/{part}"


class EvidenceTablesMixin(ServiceTablesMixin):
    """Kept packages and policy values, sealed; any stored model by its version."""

    _model_col: str

    def _model_text(self, version: str, stored: Any) -> str:
        raise NotImplementedError

    def _keep(self, tx: ServiceTx, parts: Iterable[EvidencePart]) -> None:
        """Seal and insert ``parts`` in the caller's transaction; a part already kept
        (a policy version seen before) is left as it is."""
        now = common.iso_now()
        for p in parts:
            if p.kind not in KINDS:
                raise ValueError(f"unknown evidence kind {p.kind}")
            tx.execute(f"INSERT INTO {self._t('evidence')} VALUES (?, ?, ?, ?, ?, ?) "
                       "ON CONFLICT (kind, ref, part) DO NOTHING",
                       [p.kind, p.ref, p.part, now, p.expires_at,
                        self.seal_bytes(_label(p.kind, p.ref, p.part), p.data)])

    def keep_evidence(self, parts: Iterable[EvidencePart],
                      events: list[LedgerEvent] | None = None) -> None:
        """Keep ``parts`` (and log ``events``) in one transaction."""
        with self._svc_tx() as tx:
            self._keep(tx, parts)
            if events:
                tx.append(events)

    def kept_parts(self, kind: str, ref: str) -> Iterator[bytes]:
        """The parts kept under (kind, ref), opened, in order; none when nothing is kept."""
        rows = self._svc_rows(f"SELECT part FROM {self._t('evidence')} "
                              "WHERE kind = ? AND ref = ? ORDER BY part", [kind, ref])
        for (part,) in rows:  # one part in memory at a time
            blob = self._svc_rows(f"SELECT sealed FROM {self._t('evidence')} "
                                  "WHERE kind = ? AND ref = ? AND part = ?", [kind, ref, part])
            yield self.unseal_bytes(_label(kind, ref, int(part)), bytes(blob[0][0]))

    def kept(self, kind: str, ref: str) -> bytes | None:
        """Everything kept under (kind, ref), joined; None when nothing is kept."""
        parts = list(self.kept_parts(kind, ref))
        return b"".join(parts) if parts else None

    def purge_evidence(self, now: str,
                       events: Callable[[list[str]], list[LedgerEvent]]) -> list[str]:
        """Delete every part whose ``expires_at`` is before ``now`` and log ``events(refs)``
        in one transaction; the refs of the requests whose evidence went."""
        where = "expires_at IS NOT NULL AND expires_at < ?"
        with self._svc_tx() as tx:
            refs = sorted({r[0] for r in tx.execute(
                f"SELECT DISTINCT ref FROM {self._t('evidence')} WHERE {where}", [now])})
            tx.execute(f"DELETE FROM {self._t('evidence')} WHERE {where}", [now])
            if refs:
                tx.append(events(refs))
        return refs

    def model_json(self, version: str) -> str | None:
        """The Splink model JSON stored under ``version`` (any version ever trained)."""
        rows = self._svc_rows(f"SELECT {self._model_col} FROM {self._t('models')} "
                              "WHERE version = ?", [version])
        return self._model_text(version, rows[0][0]) if rows else None

    def stored_requests(self) -> list[StoredRequest]:
        """Every stored request (answered or refused), oldest received first."""
        return [StoredRequest(*r) for r in self._svc_rows(
            f"SELECT {common.REQUEST_COLS} FROM {self._t('requests')} "
            "ORDER BY received_at, request_id")]
