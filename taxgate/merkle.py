"""Merkle tree hashing and proofs as Certificate Transparency defines them (RFC 6962 §2.1,
RFC 9162 §2.1). A leaf: the standard library only.

``leaf = SHA-256(0x00 || data)``, ``node = SHA-256(0x01 || left || right)``; the tree
head of n > 1 leaves splits them at the largest power of two below n, and the head of
no leaves is SHA-256 of nothing. Proofs are made over a :data:`Subtree` (any function
giving the head of leaves ``[lo, hi)``), so the tree may live in a store and only the
O(log n) nodes a proof names are ever read; :class:`Frontier` (the compact range of
``[0, size)``) extends a tree head leaf by leaf in O(log n) memory. Verification
follows RFC 9162 §2.1.3.2 and §2.1.4.2 and needs nothing but hashes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()
Subtree = Callable[[int, int], bytes]  # the tree head of leaves [lo, hi), hi > lo
Node = tuple[int, int, bytes]  # (level, index, hash): the head of leaves [i*2^l, (i+1)*2^l)


def leaf_hash(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def split(n: int) -> int:
    """The largest power of two smaller than ``n`` (n >= 2): where a tree head splits."""
    return 1 << ((n - 1).bit_length() - 1)


def fold(heads: Sequence[bytes]) -> bytes:
    """The head of consecutive subtrees, largest first, each a power of two in size but
    perhaps the last: ``H(s1, H(s2, ... H(s_k-1, s_k)))`` (no subtrees: the empty head)."""
    if not heads:
        return EMPTY_ROOT
    root = heads[-1]
    for h in reversed(heads[:-1]):
        root = node_hash(h, root)
    return root


class Frontier:
    """The compact range of ``[0, size)``: one head per set bit of ``size``, largest first.
    :meth:`append` adds a leaf hash and returns the nodes it completed."""

    def __init__(self, size: int = 0, heads: Iterable[bytes] = ()) -> None:
        self.size = size
        self.heads = list(heads)
        if len(self.heads) != bin(size).count("1"):
            raise ValueError("a frontier holds one head per set bit of its size")

    def append(self, leaf: bytes) -> list[Node]:
        index, level, h = self.size, 0, leaf
        made: list[Node] = [(0, index, h)]
        while (self.size >> level) & 1:
            h = node_hash(self.heads.pop(), h)
            level += 1
            made.append((level, index >> level, h))
        self.heads.append(h)
        self.size += 1
        return made

    def root(self) -> bytes:
        return fold(self.heads)


def root(leaves: Iterable[bytes]) -> bytes:
    """The tree head of these leaf hashes."""
    f = Frontier()
    for leaf in leaves:
        f.append(leaf)
    return f.root()


def inclusion_proof(index: int, size: int, subtree: Subtree) -> list[bytes]:
    """The audit path of leaf ``index`` in the tree of ``size`` leaves (RFC 9162 §2.1.3.1)."""
    if not 0 <= index < size:
        raise ValueError(f"leaf {index} is not in a tree of {size}")

    def path(m: int, lo: int, hi: int) -> list[bytes]:
        if hi - lo == 1:
            return []
        k = split(hi - lo)
        if m < k:
            return [*path(m, lo, lo + k), subtree(lo + k, hi)]
        return [*path(m - k, lo + k, hi), subtree(lo, lo + k)]

    return path(index, 0, size)


def consistency_proof(first: int, second: int, subtree: Subtree) -> list[bytes]:
    """The proof that the tree of ``first`` leaves is a prefix of the tree of ``second``
    (RFC 9162 §2.1.4.1; empty when first is 0 or equal to second)."""
    if not 0 <= first <= second:
        raise ValueError(f"no consistency proof from size {first} to size {second}")

    def sub(m: int, lo: int, hi: int, whole: bool) -> list[bytes]:
        if m == hi - lo:
            return [] if whole else [subtree(lo, hi)]
        k = split(hi - lo)
        if m <= k:
            return [*sub(m, lo, lo + k, whole), subtree(lo + k, hi)]
        return [*sub(m - k, lo + k, hi, False), subtree(lo, lo + k)]

    return sub(first, 0, second, True) if 0 < first < second else []


def _ok(*hashes: bytes) -> bool:
    return all(isinstance(h, bytes) and len(h) == HASH_SIZE for h in hashes)


def verify_inclusion(leaf: bytes, index: int, size: int, proof: Sequence[bytes],
                     root_hash: bytes) -> bool:
    """Whether ``proof`` proves ``leaf`` at ``index`` in the tree of ``size`` with head
    ``root_hash`` (RFC 9162 §2.1.3.2)."""
    if not (0 <= index < size and _ok(leaf, root_hash, *proof)):
        return False
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = node_hash(r, p)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and r == root_hash


def verify_consistency(first: int, second: int, first_root: bytes, second_root: bytes,
                       proof: Sequence[bytes]) -> bool:
    """Whether ``proof`` proves the tree of ``first`` leaves (head ``first_root``) a prefix
    of the tree of ``second`` leaves (head ``second_root``) (RFC 9162 §2.1.4.2)."""
    if not (0 <= first <= second and _ok(first_root, second_root, *proof)):
        return False
    if first == second:
        return not proof and first_root == second_root
    if first == 0:
        return not proof and first_root == EMPTY_ROOT
    if not proof:
        return False
    path = [first_root, *proof] if first & (first - 1) == 0 else list(proof)
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr, sr = node_hash(c, fr), node_hash(c, sr)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            sr = node_hash(sr, c)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and fr == first_root and sr == second_root
