"""RFC 6962 reference vectors (the tree of Certificate Transparency's test suite)."""

from __future__ import annotations

import pytest

from app.custody.merkle import (
    EMPTY_ROOT,
    MerkleTree,
    frontier_append,
    frontier_root,
    leaf_hash,
    root_from_leaves,
    verify_consistency,
    verify_inclusion,
)

LEAVES = [
    bytes.fromhex(h)
    for h in (
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    )
]
ROOTS = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]
HASHES = [leaf_hash(x) for x in LEAVES]
TREE = MerkleTree(HASHES)


def test_empty_root() -> None:
    assert EMPTY_ROOT.hex() == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    assert root_from_leaves([]) == (0, EMPTY_ROOT)


@pytest.mark.parametrize("size", range(1, 9))
def test_published_roots_for_every_prefix(size: int) -> None:
    assert TREE.root(size).hex() == ROOTS[size - 1]
    assert root_from_leaves(HASHES[:size]) == (size, bytes.fromhex(ROOTS[size - 1]))


def test_frontier_tracks_the_root_append_by_append() -> None:
    frontier: list[bytes] = []
    for size, leaf in enumerate(HASHES):
        frontier = frontier_append(frontier, size, leaf)
        assert frontier_root(frontier).hex() == ROOTS[size]
        assert len(frontier) == bin(size + 1).count("1")


def test_known_inclusion_proof() -> None:
    # RFC 6962 test vector: leaf 0 in the 8-leaf tree.
    assert [p.hex() for p in TREE.inclusion_proof(0, 8)] == [
        "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
    ]


def test_known_consistency_proof() -> None:
    assert [p.hex() for p in TREE.consistency_proof(6, 8)] == [
        "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
        "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    ]


def test_every_inclusion_and_consistency_proof_verifies() -> None:
    for size in range(1, 9):
        root = TREE.root(size)
        for index in range(size):
            assert verify_inclusion(HASHES[index], index, size, TREE.inclusion_proof(index, size), root)
        for first in range(1, size + 1):
            proof = TREE.consistency_proof(first, size)
            assert verify_consistency(first, size, TREE.root(first), root, proof)


def _flips(proof: list[bytes]) -> list[list[bytes]]:
    out = []
    for i, node in enumerate(proof):
        for bit in (0, 77, 255):
            flipped = bytearray(node)
            flipped[bit // 8] ^= 1 << (bit % 8)
            out.append([*proof[:i], bytes(flipped), *proof[i + 1 :]])
    return out


def test_tampered_inclusion_proofs_fail() -> None:
    for size in range(1, 9):
        root = TREE.root(size)
        for index in range(size):
            proof = TREE.inclusion_proof(index, size)
            leaf = HASHES[index]
            assert not verify_inclusion(leaf, index + 1, size, proof, root)
            if index > 0:
                assert not verify_inclusion(leaf, index - 1, size, proof, root)
            # A wrong tree size, checked against the root the log published for that size.
            for other in (size - 1, size + 1):
                if index < other <= 8 and other != size:
                    assert not verify_inclusion(leaf, index, other, proof, TREE.root(other))
            if size > 1:
                assert not verify_inclusion(leaf, index, size, [], root)
            for bad in _flips(proof):
                assert not verify_inclusion(leaf, index, size, bad, root)
            if proof:
                assert not verify_inclusion(leaf, index, size, proof[:-1], root)
            assert not verify_inclusion(leaf, index, size, [*proof, HASHES[0]], root)
            assert not verify_inclusion(HASHES[(index + 1) % 8], index, size, proof, root)


def test_tampered_consistency_proofs_fail() -> None:
    for size in range(2, 9):
        for first in range(1, size):
            proof = TREE.consistency_proof(first, size)
            r1, r2 = TREE.root(first), TREE.root(size)
            assert not verify_consistency(first, size, r1, r2, [])
            if size < 8:
                assert not verify_consistency(first, size + 1, r1, TREE.root(size + 1), proof)
            if first + 1 < size:
                assert not verify_consistency(first + 1, size, TREE.root(first + 1), r2, proof)
            for bad in _flips(proof):
                assert not verify_consistency(first, size, r1, r2, bad)
            assert not verify_consistency(first, size, r1, r2, proof[:-1])
            assert not verify_consistency(first, size, r1, r2, [*proof, HASHES[0]])
            assert not verify_consistency(first, size, r2, r1, proof)
