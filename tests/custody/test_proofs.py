from __future__ import annotations

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from app.core.errors import RuleViolation
from app.custody.checkpoints import issue_checkpoint, verify_checkpoint
from app.custody.merkle import MerkleTree, verify_consistency, verify_inclusion
from app.custody.models import CustodyEvent
from app.custody.proofs import PackedTree, consistency_proof, inclusion_proof, root_at
from app.custody.service import append_event_sequenced
from tests.custody.conftest import append


def test_packed_tree_matches_the_reference_tree() -> None:
    leaves = [bytes([i]) * 32 for i in range(70)]
    packed = PackedTree()
    for size, leaf in enumerate(leaves, start=1):
        packed.append(leaf)
        reference = MerkleTree(leaves[:size])
        assert packed.root() == reference.root()
        for index in range(0, size, 7):
            assert packed.inclusion_proof(index, size) == reference.inclusion_proof(index, size)
        assert packed.consistency_proof(max(1, size // 3), size) == reference.consistency_proof(max(1, size // 3), size)


def test_proofs_from_the_database_verify_against_signed_checkpoints(own_log: Engine) -> None:
    append(own_log, 13)
    with Session(own_log, expire_on_commit=False) as session, session.begin():
        first = issue_checkpoint(session)
    append(own_log, 24)
    with Session(own_log, expire_on_commit=False) as session, session.begin():
        second = issue_checkpoint(session)
    assert (first.tree_size, second.tree_size) == (13, 37)
    assert verify_checkpoint(first) and verify_checkpoint(second)
    with Session(own_log) as session:
        for checkpoint in (first, second):
            for seq in range(1, checkpoint.tree_size + 1):
                proof = inclusion_proof(session, seq, checkpoint.tree_size)
                stored = session.get(CustodyEvent, seq)
                assert stored is not None and proof.leaf_hash == stored.leaf_hash
                assert proof.leaf_index == seq - 1
                assert verify_inclusion(
                    proof.leaf_hash, proof.leaf_index, proof.tree_size, proof.audit_path, checkpoint.root_hash
                )
                other = proof.leaf_hash[:-1] + bytes([proof.leaf_hash[-1] ^ 1])
                assert not verify_inclusion(
                    other, proof.leaf_index, proof.tree_size, proof.audit_path, checkpoint.root_hash
                )
        consistency = consistency_proof(session, first.tree_size, second.tree_size)
        assert verify_consistency(13, 37, first.root_hash, second.root_hash, consistency.proof)
        assert consistency.as_record()["proof"] == [h.hex() for h in consistency.proof]
        assert root_at(session, 13) == first.root_hash
        # Defaults: the head.
        assert inclusion_proof(session, 5).tree_size == 37
        assert consistency_proof(session, 13).second == 37


def test_the_cache_follows_new_events(own_log: Engine) -> None:
    append(own_log, 4)
    with Session(own_log) as session:
        assert inclusion_proof(session, 4).tree_size == 4
    append(own_log, 3)
    with Session(own_log, expire_on_commit=False) as session, session.begin():
        checkpoint = issue_checkpoint(session)
        proof = inclusion_proof(session, 6, 7)
        assert verify_inclusion(proof.leaf_hash, 5, 7, proof.audit_path, checkpoint.root_hash)
    record = proof.as_record()
    assert set(record) == {"seq", "leaf_index", "tree_size", "leaf_hash", "audit_path"}


def test_a_rolled_back_append_does_not_poison_the_cache(own_log: Engine) -> None:
    append(own_log, 3)
    with Session(own_log) as session, session.begin():
        append_event_sequenced(session, actor="system:test", action="test.rolled-back")
        assert inclusion_proof(session, 4).tree_size == 4  # cached, then the transaction rolls back
        session.rollback()
    append(own_log, 1, action="test.kept")
    with Session(own_log, expire_on_commit=False) as session, session.begin():
        checkpoint = issue_checkpoint(session)
        proof = inclusion_proof(session, 4, 4)
        assert verify_inclusion(proof.leaf_hash, 3, 4, proof.audit_path, checkpoint.root_hash)


@pytest.mark.parametrize(
    ("seq", "tree_size", "field"),
    [(0, 3, "seq"), (4, 3, "seq"), (1, 0, "tree_size"), (1, 99, "tree_size")],
)
def test_impossible_proofs_name_the_field(own_log: Engine, seq: int, tree_size: int, field: str) -> None:
    append(own_log, 3)
    with Session(own_log) as session, pytest.raises(RuleViolation) as caught:
        inclusion_proof(session, seq, tree_size)
    assert caught.value.field == field


def test_impossible_consistency_proofs(own_log: Engine) -> None:
    append(own_log, 3)
    with Session(own_log) as session:
        for first, second, field in ((0, 3, "first"), (4, 3, "first"), (1, 9, "second")):
            with pytest.raises(RuleViolation) as caught:
                consistency_proof(session, first, second)
            assert caught.value.field == field
