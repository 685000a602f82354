"""Signed checkpoints of the ledger's Merkle tree, the witness log, and their offline
check. No store access: an overseer needs the gateway's public key, the log and the
proofs (docs/ledger.md, "Checkpoints for outsiders").

The ledger's entries are the leaves of a Certificate Transparency tree
(:mod:`taxgate.merkle`): leaf ``i`` (from 0) is entry ``seq = i + 1``, and its data is
the entry's canonical body, the bytes its chain hash covers. A checkpoint is a signed
tree head, one JSON object per line of the witness log (JSON Lines)::

    {"at": "…Z", "consistency": ["…", …], "head_hash": "…", "prior_size": 800,
     "root": "…", "signature": "…", "tree_size": 812}

``signature`` is Ed25519 by the gateway key over ``canonical_json({"purpose":
"taxgate-ledger-tree-head-v1", "tree_size", "root", "head_hash", "at"})``;
``head_hash`` is the chain hash of entry ``tree_size`` (the head anchor's value);
``consistency`` proves the tree of ``prior_size`` (the line before) a prefix of this one.
Each line therefore proves itself an extension of the one before: a history rewritten
under the gateway's own key cannot add a line that passes :func:`check_log`.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from taxgate import merkle
from taxgate.canonical import canonical_json, sign
from taxgate.canonical import verify as verify_signature
from taxgate.domain import LedgerEntry
from taxgate.ledger import GENESIS, StoredPayload, entry_body, hash_entry, payload_bytes

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import (
        Ed25519PrivateKey,
        Ed25519PublicKey,
    )

PURPOSE = "taxgate-ledger-tree-head-v1"  # domain separation of the signature
_SIGNED = ("tree_size", "root", "head_hash", "at")
_FIELDS = (*_SIGNED, "signature", "prior_size", "consistency")
MALFORMED = "MALFORMED"


def entry_leaf(e: LedgerEntry) -> bytes:
    """The entry's leaf hash: ``SHA-256(0x00 || canonical body)``."""
    return merkle.leaf_hash(entry_body(e.seq, e.recorded_at, e.event_type, e.request_id,
                                       e.payload))


@dataclass(frozen=True)
class TreeHead:
    """One checkpoint: a signed tree head and the proof that it extends the one before."""

    tree_size: int
    root: str
    head_hash: str
    at: str
    signature: str = ""
    prior_size: int = 0
    consistency: list[str] = field(default_factory=list)

    def message(self) -> bytes:
        return canonical_json({"purpose": PURPOSE, **{k: getattr(self, k) for k in _SIGNED}})

    def signed_by(self, public_key: Ed25519PublicKey) -> bool:
        return bool(self.signature) and verify_signature(public_key, self.message(),
                                                         self.signature)

    def to_bytes(self) -> bytes:
        return canonical_json(asdict(self)) + b"\n"

    @property
    def root_bytes(self) -> bytes:
        return bytes.fromhex(self.root)


def signed_head(key: Ed25519PrivateKey, tree_size: int, root: bytes, head_hash: str, at: str,
                prior_size: int = 0, consistency: list[bytes] | None = None) -> TreeHead:
    unsigned = TreeHead(tree_size, root.hex(), head_hash, at)
    return TreeHead(tree_size, root.hex(), head_hash, at, sign(key, unsigned.message()),
                    prior_size, [p.hex() for p in consistency or []])


def _hexes(value: Any) -> bool:
    return isinstance(value, list) and all(_is_hash(v) for v in value)


def _is_hash(value: Any) -> bool:
    return isinstance(value, str) and len(value) == 64 and all(c in "0123456789abcdef"
                                                               for c in value)


def parse_line(raw: bytes) -> TreeHead | None:
    """A line's checkpoint; None for text that is not JSON (a write torn by a crash).
    JSON of the wrong shape comes back unsigned, so that it fails every check."""
    try:
        obj: Any = json.loads(raw)
    except ValueError:
        return None
    ok = (isinstance(obj, dict) and set(obj) == set(_FIELDS)
          and all(isinstance(obj[k], int) and not isinstance(obj[k], bool) and obj[k] >= 0
                  for k in ("tree_size", "prior_size"))
          and _is_hash(obj["root"]) and _is_hash(obj["head_hash"])
          and isinstance(obj["at"], str) and isinstance(obj["signature"], str)
          and _hexes(obj["consistency"]))
    if not ok:
        return TreeHead(0, merkle.EMPTY_ROOT.hex(), GENESIS, MALFORMED)
    return TreeHead(**{k: obj[k] for k in _FIELDS})


def read_log(path: Path) -> list[TreeHead]:
    """Every checkpoint of a witness log, in order (torn lines skipped)."""
    heads = []
    with path.open("rb") as f:
        for raw in f:
            if raw.strip():
                head = parse_line(raw)
                if head is not None:
                    heads.append(head)
    return heads


@dataclass(frozen=True)
class LogReport:
    """What :func:`check_log` found: the checkpoints, the last good one, the first problem."""

    checkpoints: int
    last: TreeHead | None
    problem: str | None = None

    @property
    def ok(self) -> bool:
        return self.problem is None


def extends(prev: TreeHead, head: TreeHead) -> str | None:
    """Why ``head`` does not extend ``prev`` (None: it does)."""
    if head.prior_size != prev.tree_size:
        return (f"checkpoint of size {head.tree_size} proves itself against size "
                f"{head.prior_size}, not the witnessed {prev.tree_size}")
    if head.tree_size < prev.tree_size:
        return (f"checkpoint of size {head.tree_size} is smaller than the witnessed "
                f"{prev.tree_size} (the ledger lost entries)")
    proof = [bytes.fromhex(p) for p in head.consistency]
    if not merkle.verify_consistency(prev.tree_size, head.tree_size, prev.root_bytes,
                                     head.root_bytes, proof):
        return (f"checkpoint of size {head.tree_size} is not consistent with the witnessed "
                f"checkpoint of size {prev.tree_size} (history was rewritten)")
    return None


def check_log(heads: list[TreeHead], public_key: Ed25519PublicKey) -> LogReport:
    """Check a witness log line by line: every checkpoint signed by the gateway key and
    proven an extension of the one before it. Stops at the first problem."""
    last: TreeHead | None = None
    for n, head in enumerate(heads, start=1):
        if head.at == MALFORMED or not head.signed_by(public_key):
            return LogReport(n - 1, last, f"checkpoint {n} is not signed by the gateway's key")
        problem = extends(last, head) if last is not None else (
            None if head.prior_size == 0 and not head.consistency
            else f"checkpoint {n} proves itself against a checkpoint the log does not hold")
        if problem is not None:
            return LogReport(n - 1, last, f"checkpoint {n}: {problem}")
        last = head
    return LogReport(len(heads), last)


# --- proofs handed to an overseer ---------------------------------------------------------


def entry_json(e: LedgerEntry) -> dict[str, Any]:
    """An entry as a proof carries it: the payload as the exact text it was hashed as."""
    return {"seq": e.seq, "recorded_at": e.recorded_at, "event_type": e.event_type,
            "request_id": e.request_id, "payload": payload_bytes(e.payload).decode("utf-8"),
            "prev_hash": e.prev_hash, "entry_hash": e.entry_hash}


def entry_of(obj: dict[str, Any]) -> LedgerEntry:
    text = obj["payload"]
    payload = StoredPayload(json.loads(text), text.encode("utf-8"))
    return LedgerEntry(int(obj["seq"]), obj["recorded_at"], obj["event_type"],
                       obj["request_id"], payload, obj["prev_hash"], obj["entry_hash"])


def inclusion_bundle(e: LedgerEntry, head: TreeHead, proof: list[bytes]) -> dict[str, Any]:
    return {"kind": "inclusion", "entry": entry_json(e), "tree_size": head.tree_size,
            "root": head.root, "proof": [p.hex() for p in proof]}


def consistency_bundle(first: TreeHead, second: TreeHead, proof: list[bytes]
                       ) -> dict[str, Any]:
    return {"kind": "consistency", "first_size": first.tree_size, "first_root": first.root,
            "second_size": second.tree_size, "second_root": second.root,
            "proof": [p.hex() for p in proof]}


def _witnessed(heads: list[TreeHead], size: Any, root: Any) -> bool:
    return any(h.tree_size == size and h.root == root for h in heads)


def check_inclusion(bundle: dict[str, Any], heads: list[TreeHead]) -> str | None:
    """Why an inclusion proof fails against the (already checked) witness log, or None."""
    try:
        e = entry_of(bundle["entry"])
        proof = [bytes.fromhex(p) for p in bundle["proof"]]
        size, root = bundle["tree_size"], bundle["root"]
    except (KeyError, TypeError, ValueError):
        return "the inclusion proof is malformed"
    if not _witnessed(heads, size, root):
        return f"no witnessed checkpoint of size {size} has the proof's root"
    if hash_entry(e.prev_hash, e.seq, e.recorded_at, e.event_type, e.request_id,
                  e.payload) != e.entry_hash:
        return f"entry {e.seq} does not hash to its entry_hash"
    if not merkle.verify_inclusion(entry_leaf(e), e.seq - 1, size, proof, bytes.fromhex(root)):
        return f"entry {e.seq} is not in the witnessed checkpoint of size {size}"
    return None


def check_consistency(bundle: dict[str, Any], heads: list[TreeHead]) -> str | None:
    """Why a consistency proof between two witnessed checkpoints fails, or None."""
    try:
        m, n = bundle["first_size"], bundle["second_size"]
        r1, r2 = bundle["first_root"], bundle["second_root"]
        proof = [bytes.fromhex(p) for p in bundle["proof"]]
        roots = bytes.fromhex(r1), bytes.fromhex(r2)
    except (KeyError, TypeError, ValueError):
        return "the consistency proof is malformed"
    for size, root in ((m, r1), (n, r2)):
        if not _witnessed(heads, size, root):
            return f"no witnessed checkpoint of size {size} has the proof's root"
    if not merkle.verify_consistency(m, n, *roots, proof):
        return f"the checkpoint of size {m} is not a prefix of the checkpoint of size {n}"
    return None


def check_bundle(bundle: Any, heads: list[TreeHead]) -> str | None:
    """Either kind of proof, against the witness log's checkpoints."""
    kind = bundle.get("kind") if isinstance(bundle, dict) else None
    if kind == "inclusion":
        return check_inclusion(bundle, heads)
    if kind == "consistency":
        return check_consistency(bundle, heads)
    return "not a taxgate ledger proof (kind inclusion or consistency)"
