"""RFC 6962 / RFC 9162 Merkle tree hashing, proofs and their verification.

leaf = SHA-256(0x00 || entry), node = SHA-256(0x01 || left || right); the tree over n leaves splits at
the largest power of two smaller than n. The empty tree's root is SHA-256 of nothing.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence

EMPTY_ROOT = hashlib.sha256(b"").digest()


def leaf_hash(entry: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + entry).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """Largest power of two strictly smaller than n (n > 1)."""
    return 1 << ((n - 1).bit_length() - 1)


# -- compact frontier: the running root in O(log n) per append --------------------------------------
def frontier_append(frontier: Sequence[bytes], size: int, leaf: bytes) -> list[bytes]:
    """The frontier of a tree of size+1 leaves, from that of `size` leaves.

    The frontier holds the roots of the perfect subtrees that make up the tree, largest (leftmost) first:
    one per set bit of `size`. Appending merges equal-height subtrees like a binary counter.
    """
    merged = list(frontier)
    node = leaf
    n = size
    while n & 1:
        node = node_hash(merged.pop(), node)
        n >>= 1
    merged.append(node)
    return merged


def frontier_root(frontier: Sequence[bytes]) -> bytes:
    """Root of the tree whose frontier is given: fold the subtrees right to left."""
    if not frontier:
        return EMPTY_ROOT
    root = frontier[-1]
    for subtree in reversed(frontier[:-1]):
        root = node_hash(subtree, root)
    return root


def root_from_leaves(leaves: Iterable[bytes]) -> tuple[int, bytes]:
    """(size, root) of the tree over `leaves` (leaf hashes), streaming, O(log n) memory."""
    frontier: list[bytes] = []
    size = 0
    for leaf in leaves:
        frontier = frontier_append(frontier, size, leaf)
        size += 1
    return size, frontier_root(frontier)


# -- a tree held in memory, for proofs -----------------------------------------------------------
class MerkleTree:
    """All perfect-subtree hashes by level, so any subtree hash and proof costs O(log n)."""

    def __init__(self, leaves: Sequence[bytes]) -> None:
        self.levels: list[list[bytes]] = [list(leaves)]
        while len(self.levels[-1]) > 1:
            below = self.levels[-1]
            self.levels.append([node_hash(below[i], below[i + 1]) for i in range(0, len(below) - 1, 2)])

    @property
    def size(self) -> int:
        return len(self.levels[0])

    def subtree(self, start: int, end: int) -> bytes:
        """MTH(D[start:end]); `start` is aligned as in every RFC 6962 recursion."""
        n = end - start
        if n == 0:
            return EMPTY_ROOT
        if n & (n - 1) == 0 and start % n == 0:
            return self.levels[n.bit_length() - 1][start // n]
        k = _split(n)
        return node_hash(self.subtree(start, start + k), self.subtree(start + k, end))

    def root(self, size: int | None = None) -> bytes:
        return self.subtree(0, self.size if size is None else size)

    def inclusion_proof(self, index: int, size: int) -> list[bytes]:
        """Audit path of leaf `index` in the tree of the first `size` leaves (RFC 6962 §2.1.1)."""
        if not 0 <= index < size <= self.size:
            raise ValueError(f"no leaf {index} in a tree of size {size} (log holds {self.size})")
        path: list[bytes] = []
        start, end = 0, size
        while end - start > 1:
            k = _split(end - start)
            if index - start < k:
                path.append(self.subtree(start + k, end))
                end = start + k
            else:
                path.append(self.subtree(start, start + k))
                start += k
        path.reverse()
        return path

    def consistency_proof(self, first: int, second: int) -> list[bytes]:
        """Proof that the tree of `first` leaves is a prefix of the tree of `second` (RFC 6962 §2.1.2)."""
        if not 0 < first <= second <= self.size:
            raise ValueError(f"no consistency between sizes {first} and {second} (log holds {self.size})")
        proof: list[bytes] = []
        self._subproof(first, 0, second, True, proof)
        return proof

    def _subproof(self, m: int, start: int, end: int, complete: bool, proof: list[bytes]) -> None:
        n = end - start
        if m == n:
            if not complete:
                proof.append(self.subtree(start, end))
            return
        k = _split(n)
        if m <= k:
            self._subproof(m, start, start + k, complete, proof)
            proof.append(self.subtree(start + k, end))
        else:
            self._subproof(m - k, start + k, end, False, proof)
            proof.append(self.subtree(start, start + k))


# -- verification (RFC 9162 §2.1.3.2 and §2.1.4.2) ----------------------------------------------
def verify_inclusion(leaf: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes) -> bool:
    if not 0 <= index < size:
        return False
    fn, sn = index, size - 1
    r = leaf
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def verify_consistency(first: int, second: int, first_root: bytes, second_root: bytes, proof: Sequence[bytes]) -> bool:
    if first == second:
        return not proof and first_root == second_root
    if not 0 < first < second or not proof:
        return False
    path = list(proof)
    if first & (first - 1) == 0:  # first is a power of two: its root is the implicit first element
        path.insert(0, first_root)
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return sn == 0 and fr == first_root and sr == second_root
