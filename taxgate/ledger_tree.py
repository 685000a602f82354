"""The ledger's Merkle tree over a store, and the checkpoints published to the witness log.

The tree is Certificate Transparency's (:mod:`taxgate.merkle`) over the ledger's entries
(:func:`taxgate.witness.entry_leaf`). The store keeps the head of every complete subtree
of 256 leaves or more (``ledger_tree``), so a checkpoint hashes only the entries added
since the last one, from the frontier those nodes give, and a proof reads O(log n) nodes
and at most a few hundred entries. :func:`publish` signs a tree head and appends it to
the witness log with the consistency proof from the log's last checkpoint; a store whose
tree is not an extension of that checkpoint publishes nothing (:class:`WitnessMismatch`).
See docs/ledger.md, "Checkpoints for outsiders".
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from taxgate import anchor, merkle, witness
from taxgate.domain import LedgerEntry
from taxgate.errors import BadInput, StoreError, WitnessMismatch
from taxgate.ledger import GENESIS, timestamp

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

TILE = 8  # nodes of this level (256 leaves) and above are stored; below, recomputed
_SAVE_EVERY = 4_096  # nodes per transaction while a long ledger is hashed
WITNESS_AHEAD, WITNESS_DIVERGES = "WITNESS_AHEAD", "WITNESS_DIVERGES"
WITNESS_NOT_SIGNED = "WITNESS_NOT_SIGNED"


class Store(Protocol):
    """What the tree needs of a store (:class:`taxgate.store.base.Store` is one)."""

    def signing_key(self) -> Ed25519PrivateKey: ...
    def ledger_head(self) -> LedgerEntry | None: ...
    def ledger_entry(self, seq: int) -> LedgerEntry | None: ...
    def ledger_entries(self, after_seq: int = 0) -> Iterator[LedgerEntry]: ...
    def ledger_range(self, first: int, last: int) -> list[LedgerEntry]: ...
    def ledger_tree_count(self, level: int) -> int: ...
    def ledger_tree_nodes(self, keys: list[tuple[int, int]]
                          ) -> dict[tuple[int, int], bytes]: ...
    def save_ledger_tree(self, nodes: list[tuple[int, int, bytes]]) -> None: ...


def _perfect(size: int, low: int) -> list[tuple[int, int]]:
    """The (level, index) of the perfect subtrees that make up ``[0, size)``, largest
    first, down to level ``low``."""
    keys, start = [], 0
    for level in range(size.bit_length() - 1, low - 1, -1):
        if (size >> level) & 1:
            keys.append((level, start >> level))
            start += 1 << level
    return keys


class StoredTree:
    """The ledger's tree as the store keeps it; leaf ``i`` is entry ``seq = i + 1``."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._memo: dict[tuple[int, int], bytes] = {}
        self._tiles: dict[int, list[bytes]] = {}  # the leaves of a tile read for a proof

    def _leaves(self, lo: int, hi: int) -> list[bytes]:
        """Leaves ``[lo, hi)``, within one tile: the tile's entries are read once."""
        tile = lo >> TILE
        leaves = self._tiles.get(tile, [])
        base = tile << TILE
        if len(leaves) < hi - base:
            entries = self._store.ledger_range(base + 1, base + (1 << TILE))
            if [e.seq for e in entries] != list(range(base + 1, base + len(entries) + 1)) \
                    or len(entries) < hi - base:
                raise StoreError(f"the ledger does not hold every entry from seq {lo + 1} "
                                 f"to {hi}")
            leaves = self._tiles[tile] = [witness.entry_leaf(e) for e in entries]
        return leaves[lo - base:hi - base]

    def _nodes(self, keys: list[tuple[int, int]]) -> list[bytes]:
        found = self._store.ledger_tree_nodes(keys)
        if len(found) != len(keys):
            raise StoreError("the ledger's Merkle tree misses nodes it should hold")
        return [found[k] for k in keys]

    def extend(self, size: int) -> int:
        """Store the nodes of every complete 256-leaf tile up to ``size``, hashing only the
        entries after the tiles already stored; the number of entries hashed."""
        have, want = self._store.ledger_tree_count(TILE), size >> TILE
        if want <= have:
            return 0
        start = have << TILE
        frontier = merkle.Frontier(start, self._nodes(_perfect(start, TILE)))
        end, made = want << TILE, []
        for e in self._store.ledger_entries(after_seq=start):
            if e.seq > end:
                break
            if e.seq != frontier.size + 1:
                raise StoreError(f"the ledger has no entry at seq {frontier.size + 1}")
            made += [n for n in frontier.append(witness.entry_leaf(e)) if n[0] >= TILE]
            if len(made) >= _SAVE_EVERY:  # whole tiles, in order: a prefix is consistent
                self._store.save_ledger_tree(made)
                made = []
        if frontier.size != end:
            raise StoreError(f"the ledger ends before seq {end}")
        self._store.save_ledger_tree(made)
        return end - start

    def subtree(self, lo: int, hi: int) -> bytes:
        """The head of leaves ``[lo, hi)`` (the tree must be extended past ``hi``)."""
        key = (lo, hi)
        if key not in self._memo:
            n = hi - lo
            if n & (n - 1) == 0 and lo % n == 0:  # a perfect, aligned subtree
                level = n.bit_length() - 1
                self._memo[key] = (self._nodes([(level, lo >> level)])[0] if level >= TILE
                                   else merkle.root(self._leaves(lo, hi)))
            else:
                k = merkle.split(n)
                self._memo[key] = merkle.node_hash(self.subtree(lo, lo + k),
                                                   self.subtree(lo + k, hi))
        return self._memo[key]

    def root(self, size: int) -> bytes:
        """The tree head of the first ``size`` entries."""
        self.extend(size)
        keys = _perfect(size >> TILE << TILE, TILE)
        heads = self._nodes(keys) if keys else []
        tiled = size >> TILE << TILE
        if tiled < size:
            heads.append(merkle.root(self._leaves(tiled, size)))
        return merkle.fold(heads)

    def inclusion(self, seq: int, size: int) -> list[bytes]:
        self.extend(size)
        return merkle.inclusion_proof(seq - 1, size, self.subtree)

    def consistency(self, first: int, second: int) -> list[bytes]:
        self.extend(second)
        return merkle.consistency_proof(first, second, self.subtree)


def _mismatch(store: Store, tree: StoredTree, last: witness.TreeHead, size: int) -> str | None:
    """Why the store cannot extend the witnessed checkpoint ``last`` (None: it can)."""
    if last.at == witness.MALFORMED or not last.signed_by(store.signing_key().public_key()):
        return (f"{WITNESS_NOT_SIGNED}: the witness log's last checkpoint is not signed by "
                "this gateway's key")
    if last.tree_size > size:
        return (f"{WITNESS_AHEAD}: the ledger ends at seq {size} but the witness holds a "
                f"checkpoint of size {last.tree_size}")
    if tree.root(last.tree_size).hex() != last.root:
        return (f"{WITNESS_DIVERGES}: the ledger's first {last.tree_size} entries are not the "
                "witnessed ones (history was rewritten)")
    return None


def publish(store: Store, path: Path, now: dt.datetime | None = None
            ) -> tuple[witness.TreeHead, bool]:
    """Sign a checkpoint of the whole ledger and append it to the witness log at ``path``
    with its consistency proof from the log's last checkpoint. Returns the checkpoint and
    whether it was appended (False: the ledger has not grown since the last one).
    WitnessMismatch when the ledger does not extend the witnessed checkpoint."""
    with anchor.locked(path, witness.parse_line, "the witness log") as log:
        # the head is read under the log's lock: a ledger only grows, so a checkpoint
        # another process published meanwhile is never ahead of this one
        head = store.ledger_head()
        size, head_hash = (head.seq, head.entry_hash) if head else (0, GENESIS)
        tree = StoredTree(store)
        root = tree.root(size)
        last: witness.TreeHead | None = log.last()
        if last is not None:
            problem = _mismatch(store, tree, last, size)
            if problem is not None:
                raise WitnessMismatch(problem)
            if last.tree_size == size:
                return last, False
        prior = last.tree_size if last else 0
        line = witness.signed_head(store.signing_key(), size, root, head_hash,
                                   timestamp(now or dt.datetime.now(dt.UTC)), prior,
                                   tree.consistency(prior, size) if prior else [])
        log.append(line)
    return line, True


def witnessed(path: Path) -> list[witness.TreeHead]:
    """The witness log's checkpoints (BadInput when there is no log)."""
    try:
        return witness.read_log(path)
    except FileNotFoundError:
        raise BadInput(f"no witness log at {path}: run `taxgate ledger checkpoint`") from None
    except OSError as exc:
        raise StoreError(f"the witness log {path} cannot be read: {exc.strerror}") from None


def _checkpoint(heads: list[witness.TreeHead], size: int | None, at_least: int
                ) -> witness.TreeHead:
    """The witnessed checkpoint of ``size`` (None: the last one), which must cover
    ``at_least`` entries."""
    found = [h for h in heads if size is None or h.tree_size == size]
    if not found:
        raise BadInput(f"the witness log holds no checkpoint of size {size}")
    head = found[-1]
    if head.tree_size < at_least:
        raise BadInput(f"entry {at_least} is not in a witnessed checkpoint yet (the last covers "
                       f"{head.tree_size}): run `taxgate ledger checkpoint`")
    return head


def prove_entry(store: Store, path: Path, seq: int, size: int | None = None
                ) -> dict[str, object]:
    """The inclusion proof of entry ``seq`` in a witnessed checkpoint (the last one, or the
    one of ``size``), with the entry, as an overseer checks it offline."""
    if seq < 1:
        raise BadInput("--entry must be a ledger seq (1 or more)")
    head = _checkpoint(witnessed(path), size, seq)
    entry = store.ledger_entry(seq)
    if entry is None:
        raise BadInput(f"the ledger holds no entry {seq}")
    proof = StoredTree(store).inclusion(seq, head.tree_size)
    return witness.inclusion_bundle(entry, head, proof)


def prove_consistency(store: Store, path: Path, first: int, second: int | None = None
                      ) -> dict[str, object]:
    """The consistency proof between two witnessed checkpoints (``second`` None: the last)."""
    heads = witnessed(path)
    a, b = _checkpoint(heads, first, 0), _checkpoint(heads, second, 0)
    if a.tree_size > b.tree_size:
        raise BadInput("--from must be a checkpoint no larger than --to")
    return witness.consistency_bundle(a, b, StoredTree(store).consistency(a.tree_size,
                                                                          b.tree_size))
