"""The ledger's Merkle tree nodes, one SQL text for both engines (migration 0004_ledger_tree).

A mixin over the hooks of :mod:`taxgate.store.service_sql` (``_svc_rows``, ``_svc_tx``,
``_t``). The nodes are derived data (taxgate/ledger_tree.py keeps them); a range read
of ledger entries serves the few leaves a proof recomputes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from taxgate.store import common
from taxgate.store.core_sql import LEDGER_COLS
from taxgate.store.service_sql import ServiceTablesMixin

if TYPE_CHECKING:
    from taxgate.domain import LedgerEntry

_ROWS = 500  # rows per multi-row INSERT


class TreeTablesMixin(ServiceTablesMixin):
    """Read and write the stored nodes of the ledger's Merkle tree."""

    def ledger_tree_count(self, level: int) -> int:
        """How many consecutive nodes of ``level`` are stored (from index 0)."""
        rows = self._svc_rows(f"SELECT coalesce(max(idx) + 1, 0) FROM {self._t('ledger_tree')} "
                              "WHERE level = ?", [level])
        return int(rows[0][0])

    def ledger_tree_nodes(self, keys: list[tuple[int, int]]) -> dict[tuple[int, int], bytes]:
        """The stored nodes among ``keys`` (level, index)."""
        found: dict[tuple[int, int], bytes] = {}
        for i in range(0, len(keys), _ROWS):
            part = keys[i:i + _ROWS]
            where = " OR ".join("(level = ? AND idx = ?)" for _ in part)
            rows = self._svc_rows(f"SELECT level, idx, hash FROM {self._t('ledger_tree')} "
                                  f"WHERE {where}", [v for k in part for v in k])
            found.update({(int(lv), int(ix)): bytes.fromhex(h) for lv, ix, h in rows})
        return found

    def save_ledger_tree(self, nodes: list[tuple[int, int, bytes]]) -> None:
        """Store nodes in one transaction; a node already stored is kept."""
        with self._svc_tx() as tx:
            for i in range(0, len(nodes), _ROWS):
                part = nodes[i:i + _ROWS]
                marks = ", ".join("(?, ?, ?)" for _ in part)
                tx.execute(f"INSERT INTO {self._t('ledger_tree')} (level, idx, hash) VALUES "
                           f"{marks} ON CONFLICT DO NOTHING",
                           [v for lv, ix, h in part for v in (lv, ix, h.hex())])

    def ledger_range(self, first: int, last: int) -> list[LedgerEntry]:
        """The entries with ``first <= seq <= last``, in order."""
        rows = self._svc_rows(f"SELECT {LEDGER_COLS} FROM {self._t('ledger')} "
                              "WHERE seq BETWEEN ? AND ? ORDER BY seq", [first, last])
        return [common.entry_from_row(r) for r in rows]
