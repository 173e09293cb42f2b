"""Inclusion and consistency proofs served from the leaf hashes stored in custody_events.

Each proof needs subtree hashes that together span the whole tree, so the leaf hashes are kept in a
per-database cache of every perfect subtree (packed 32-byte hashes, ~64 bytes per event). The log is
append-only: a subtree hash never changes once complete, so the cache only ever loads new events, and
checks on each use that the last event it holds is still the same (a restored or rebuilt database, or a
rolled-back append, makes it start over).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.core.errors import DomainError, RuleViolation
from app.custody.merkle import EMPTY_ROOT, MerkleTree, node_hash
from app.custody.models import CustodyEvent
from app.custody.service import log_head

HASH = 32


@dataclass(frozen=True)
class InclusionProof:
    """Audit path of event `seq` (leaf `leaf_index = seq - 1`) in the tree of the first `tree_size` events."""

    seq: int
    leaf_index: int
    tree_size: int
    leaf_hash: bytes
    audit_path: list[bytes]

    def as_record(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "leaf_index": self.leaf_index,
            "tree_size": self.tree_size,
            "leaf_hash": self.leaf_hash.hex(),
            "audit_path": [h.hex() for h in self.audit_path],
        }


@dataclass(frozen=True)
class ConsistencyProof:
    """Proof that the tree of `first` events is a prefix of the tree of `second` events (RFC 9162 §2.1.4)."""

    first: int
    second: int
    proof: list[bytes]

    def as_record(self) -> dict[str, Any]:
        return {"first": self.first, "second": self.second, "proof": self.proof_hex()}

    def proof_hex(self) -> list[str]:
        return [h.hex() for h in self.proof]


class LogIntegrityError(DomainError):
    """The stored events cannot form the log (a gap in the sequence): no proof can be served until it is mended."""

    status, slug, title = 409, "custody-log-damaged", "Custody log damaged"

    def __init__(self, missing_seq: int) -> None:
        super().__init__(
            f"custody event {missing_seq} is missing from the log, so no proof can be computed; run the full "
            "verification (POST /api/v1/custody/verify or footage verify-custody) for the list of damage",
            extra={"missing_seq": missing_seq},
        )


class PackedTree(MerkleTree):
    """A MerkleTree that grows by appending, its levels packed in bytearrays (32 bytes per node)."""

    def __init__(self) -> None:
        self.packed: list[bytearray] = [bytearray()]

    @property
    def size(self) -> int:
        return len(self.packed[0]) // HASH

    def node(self, level: int, index: int) -> bytes:
        return bytes(self.packed[level][index * HASH : (index + 1) * HASH])

    def append(self, leaf: bytes) -> None:
        level = 0
        node = leaf
        while True:
            row = self.packed[level]
            row += node
            count = len(row) // HASH
            if count % 2:
                return
            node = node_hash(bytes(row[-2 * HASH : -HASH]), node)
            level += 1
            if level == len(self.packed):
                self.packed.append(bytearray())

    def subtree(self, start: int, end: int) -> bytes:
        n = end - start
        if n == 0:
            return EMPTY_ROOT
        if n & (n - 1) == 0 and start % n == 0:
            return self.node(n.bit_length() - 1, start // n)
        k = 1 << ((n - 1).bit_length() - 1)
        return node_hash(self.subtree(start, start + k), self.subtree(start + k, end))


class _CachedLog:
    def __init__(self) -> None:
        self.tree = PackedTree()
        self.lock = threading.Lock()


_caches: dict[str, _CachedLog] = {}
_caches_lock = threading.Lock()
_LOAD_BATCH = 50_000


def _cache_for(session: Session) -> _CachedLog:
    key = session.connection().engine.url.render_as_string(hide_password=True)
    with _caches_lock:
        cached = _caches.get(key)
        if cached is None:
            cached = _caches[key] = _CachedLog()
        return cached


def _still_valid(session: Session, tree: PackedTree) -> bool:
    if tree.size == 0:
        return True
    last = session.execute(select(CustodyEvent.leaf_hash).where(CustodyEvent.seq == tree.size)).scalar_one_or_none()
    return last == tree.node(0, tree.size - 1)


def _tree_covering(session: Session, tree_size: int) -> PackedTree:
    """The cached tree of this database, grown to at least `tree_size` events (only leaf hashes are read)."""
    cached = _cache_for(session)
    with cached.lock:
        if not _still_valid(session, cached.tree):
            cached.tree = PackedTree()
        tree = cached.tree
        if tree.size < tree_size:
            rows = session.execute(
                select(CustodyEvent.seq, CustodyEvent.leaf_hash)
                .where(CustodyEvent.seq > tree.size, CustodyEvent.seq <= tree_size)
                .order_by(CustodyEvent.seq)
                .execution_options(yield_per=_LOAD_BATCH)
            )
            for seq, leaf in rows:
                if seq != tree.size + 1:
                    raise LogIntegrityError(tree.size + 1)
                tree.append(leaf)
            if tree.size < tree_size:
                raise LogIntegrityError(tree.size + 1)
        return tree


def _check_size(session: Session, field: str, size: int) -> None:
    head = log_head(session).tree_size
    if size > head:
        raise RuleViolation(field, f"the log holds {head} events; {size} is beyond its head")


def inclusion_proof(session: Session, seq: int, tree_size: int | None = None) -> InclusionProof:
    """Audit path proving event `seq` is in the tree of the first `tree_size` events (default: the head)."""
    return inclusion_proofs(session, [seq], tree_size)[0]


def inclusion_proofs(session: Session, seqs: list[int], tree_size: int | None = None) -> list[InclusionProof]:
    """Audit paths of many events in one tree (a bundle's proofs against its checkpoint), in the order given."""
    size = log_head(session).tree_size if tree_size is None else tree_size
    if size < 1:
        raise RuleViolation("tree_size", "must be at least 1")
    _check_size(session, "tree_size", size)
    for seq in seqs:
        if not 1 <= seq <= size:
            raise RuleViolation("seq", f"must be between 1 and the tree size {size}, not {seq}")
    tree = _tree_covering(session, size)
    return [
        InclusionProof(
            seq=seq,
            leaf_index=seq - 1,
            tree_size=size,
            leaf_hash=tree.node(0, seq - 1),
            audit_path=tree.inclusion_proof(seq - 1, size),
        )
        for seq in seqs
    ]


def consistency_proof(session: Session, first: int, second: int | None = None) -> ConsistencyProof:
    """Proof that the tree of `first` events is a prefix of the tree of `second` (default: the head)."""
    size = log_head(session).tree_size if second is None else second
    if first < 1:
        raise RuleViolation("first", "must be at least 1")
    if first > size:
        raise RuleViolation("first", f"must not exceed second ({size})")
    _check_size(session, "second", size)
    tree = _tree_covering(session, size)
    return ConsistencyProof(first=first, second=size, proof=tree.consistency_proof(first, size))


def root_at(session: Session, tree_size: int) -> bytes:
    """Merkle root of the first `tree_size` events, from the stored leaf hashes."""
    _check_size(session, "tree_size", tree_size)
    return _tree_covering(session, tree_size).root(tree_size)
