"""The Merkle tree is Certificate Transparency's (RFC 6962 / RFC 9162), checked against the
reference test vectors of the CT implementations, so an overseer's own RFC 6962 tool
agrees with taxgate's verifier (R28, R34)."""

from __future__ import annotations

import hashlib

import pytest

from taxgate import merkle

# The reference leaves and tree heads (RFC 6962 test data, as published with the CT
# reference implementations), sizes 1..8.
DATA = [bytes.fromhex(h) for h in (
    "", "00", "10", "2021", "3031", "40414243", "5051525354555657",
    "606162636465666768696a6b6c6d6e6f")]
ROOTS = [bytes.fromhex(h) for h in (
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328")]
INCLUSION = {  # (leaf index, tree size) -> audit path
    (0, 8): ("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
             "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
             "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"),
    (5, 8): ("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
             "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
             "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
}
CONSISTENCY = {  # (first, second) -> proof
    (2, 8): ("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
             "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"),
    (6, 8): ("0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
             "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
             "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
    (2, 5): ("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
             "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
}
LEAVES = [merkle.leaf_hash(d) for d in DATA]


def over(leaves: list[bytes]) -> merkle.Subtree:
    return lambda lo, hi: merkle.root(leaves[lo:hi])


def test_r28_tree_heads_match_the_rfc6962_reference_for_every_size():
    assert merkle.root([]) == merkle.EMPTY_ROOT == hashlib.sha256(b"").digest()
    for n in range(1, 9):
        assert merkle.root(LEAVES[:n]) == ROOTS[n - 1], n


def test_r28_proofs_match_the_rfc6962_reference_and_verify():
    for (i, n), want in INCLUSION.items():
        proof = merkle.inclusion_proof(i, n, over(LEAVES))
        assert [p.hex() for p in proof] == list(want)
        assert merkle.verify_inclusion(LEAVES[i], i, n, proof, ROOTS[n - 1])
    for (m, n), want in CONSISTENCY.items():
        proof = merkle.consistency_proof(m, n, over(LEAVES))
        assert [p.hex() for p in proof] == list(want)
        assert merkle.verify_consistency(m, n, ROOTS[m - 1], ROOTS[n - 1], proof)


BIG = [merkle.leaf_hash(i.to_bytes(4, "big")) for i in range(70)]
BIG_ROOTS = [merkle.root(BIG[:n]) for n in range(len(BIG) + 1)]


def test_r28_every_inclusion_proof_verifies_and_a_changed_one_does_not():
    for n in range(1, len(BIG) + 1):
        for i in range(n):
            proof = merkle.inclusion_proof(i, n, over(BIG))
            assert merkle.verify_inclusion(BIG[i], i, n, proof, BIG_ROOTS[n])
            assert not merkle.verify_inclusion(BIG[(i + 1) % 70], i, n, proof, BIG_ROOTS[n])
            if proof:
                bad = [*proof[:-1], bytes(32)]
                assert not merkle.verify_inclusion(BIG[i], i, n, bad, BIG_ROOTS[n])
                assert not merkle.verify_inclusion(BIG[i], i, n, proof[:-1], BIG_ROOTS[n])
            assert not merkle.verify_inclusion(BIG[i], i, n, [*proof, bytes(32)], BIG_ROOTS[n])


def test_r28_every_consistency_proof_verifies_and_a_rewritten_prefix_does_not():
    rewritten = list(BIG)
    rewritten[3] = merkle.leaf_hash(b"rewritten")
    for n in range(1, len(BIG) + 1):
        for m in range(0, n + 1):
            proof = merkle.consistency_proof(m, n, over(BIG))
            assert merkle.verify_consistency(m, n, BIG_ROOTS[m], BIG_ROOTS[n], proof)
            if m > 3:  # the rewritten tree cannot prove the honest head a prefix of its own
                forged = merkle.consistency_proof(m, n, over(rewritten))
                assert not merkle.verify_consistency(
                    m, n, BIG_ROOTS[m], merkle.root(rewritten[:n]), forged)
            if proof:
                assert not merkle.verify_consistency(m, n, BIG_ROOTS[m], BIG_ROOTS[n],
                                                     proof[:-1])


def test_r28_the_frontier_gives_every_completed_node_and_the_head():
    f = merkle.Frontier()
    nodes = {}
    for leaf in BIG:
        nodes.update({(lv, ix): h for lv, ix, h in f.append(leaf)})
        assert f.root() == BIG_ROOTS[f.size]
    assert nodes[(6, 0)] == merkle.root(BIG[:64]) and nodes[(1, 33)] == merkle.root(BIG[66:68])
    again = merkle.Frontier(64, [nodes[(6, 0)]])
    for leaf in BIG[64:]:
        again.append(leaf)
    assert again.root() == BIG_ROOTS[70]
    with pytest.raises(ValueError):
        merkle.Frontier(3, [nodes[(1, 0)]])
