"""Witness cosignatures of checkpoints (c2sp.org/tlog-cosignature): accepted from configured witness keys only,
stored append-only, served with the checkpoint they sign.

A cosignature is accepted when its note body is a checkpoint of this log (the service's origin, a size the
log has reached, and the root the log had at that size) and its line verifies under one of the keys in
settings `custody_witness_keys`. The witness vouches that this checkpoint is consistent with every earlier
one it saw, so a split view shown to a witness cannot be cosigned.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from functools import lru_cache
from typing import Any
from uuid import UUID, uuid4

from sqlalchemy import BigInteger, CheckConstraint, LargeBinary, Text, UniqueConstraint, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Mapped, Session, mapped_column

from app.core import clock
from app.core.config import get_settings
from app.core.db import Base
from app.core.errors import RuleViolation
from app.custody import notes
from app.custody.checkpoints import CustodyCheckpoint
from app.custody.proofs import root_at
from app.custody.service import log_head


class CustodyCosignature(Base):
    """One witness's cosignature of the log at one size. Never updated, never deleted (a trigger enforces it)."""

    __tablename__ = "custody_cosignatures"

    id: Mapped[UUID] = mapped_column(primary_key=True, default=uuid4)
    tree_size: Mapped[int] = mapped_column(BigInteger)
    root_hash: Mapped[bytes] = mapped_column(LargeBinary)
    witness: Mapped[str] = mapped_column(Text)
    key_id: Mapped[bytes] = mapped_column(LargeBinary)
    cosigned_at: Mapped[int] = mapped_column(BigInteger)  # the witness's POSIX time, as signed
    signature: Mapped[bytes] = mapped_column(LargeBinary)
    received_at: Mapped[datetime]

    __table_args__ = (
        CheckConstraint("tree_size >= 0", name="tree_size_non_negative"),
        CheckConstraint("octet_length(root_hash) = 32", name="root_hash_len"),
        CheckConstraint("octet_length(key_id) = 4", name="key_id_len"),
        CheckConstraint("octet_length(signature) = 64", name="signature_len"),
        UniqueConstraint("witness", "key_id", "tree_size"),  # one per witness and size
    )

    def line(self) -> notes.SignatureLine:
        blob = self.key_id + self.cosigned_at.to_bytes(8, "big") + self.signature
        return notes.SignatureLine(name=self.witness, blob=blob)


@lru_cache(maxsize=8)
def _parse_keys(keys: tuple[str, ...]) -> tuple[notes.VerifierKey, ...]:
    parsed = tuple(notes.parse_vkey(k) for k in keys)
    for key in parsed:
        if key.sig_type != notes.SIG_COSIGNATURE:
            raise ValueError(f"witness key {key.name} is not a cosignature key (type 0x04)")
    return parsed


def witness_keys() -> tuple[notes.VerifierKey, ...]:
    """The witnesses configured in settings `custody_witness_keys`."""
    return _parse_keys(tuple(get_settings().custody_witness_keys))


def accept(session: Session, note_text: str) -> list[CustodyCosignature]:
    """Store the configured witnesses' valid cosignatures carried by `note_text` (a cosigned checkpoint note).

    Refused (RuleViolation) when the note is not a checkpoint of this log or carries no valid cosignature from
    a configured witness. A witness sending the same size again keeps its first cosignature.
    """
    try:
        body, lines = notes.split_note(note_text)
        checkpoint = notes.parse_body(body)
    except notes.NoteError as exc:
        raise RuleViolation("note", f"not a signed checkpoint note: {exc}") from exc
    if checkpoint.origin != get_settings().custody_origin:
        raise RuleViolation("note", "the checkpoint names another log (its origin line differs)")
    if checkpoint.tree_size < 1 or checkpoint.tree_size > log_head(session).tree_size:
        raise RuleViolation("note", "the checkpoint's tree size is not one this log has reached")
    if root_at(session, checkpoint.tree_size) != checkpoint.root_hash:
        raise RuleViolation("note", "the checkpoint's root is not this log's root at that size")
    stored: list[CustodyCosignature] = []
    keys = witness_keys()
    for line in lines:
        for key in keys:
            at = notes.verify_cosignature(body, line, key)
            if at is None:
                continue
            values = {
                "id": uuid4(),
                "tree_size": checkpoint.tree_size,
                "root_hash": checkpoint.root_hash,
                "witness": key.name,
                "key_id": key.key_id,
                "cosigned_at": at,
                "signature": line.blob[12:],
                "received_at": clock.now(),
            }
            session.execute(
                insert(CustodyCosignature)
                .values(**values)
                .on_conflict_do_nothing(index_elements=["witness", "key_id", "tree_size"])
            )
            stored.append(CustodyCosignature(**values))
    if not stored:
        raise RuleViolation("note", "the note carries no valid cosignature from a configured witness")
    session.flush()
    return stored


def cosignatures_of(session: Session, tree_size: int, root_hash: bytes) -> Sequence[CustodyCosignature]:
    """The stored cosignatures of the checkpoint of this size and root, by witness name."""
    stmt = (
        select(CustodyCosignature)
        .where(CustodyCosignature.tree_size == tree_size, CustodyCosignature.root_hash == root_hash)
        .order_by(CustodyCosignature.witness, CustodyCosignature.key_id)
    )
    return session.execute(stmt).scalars().all()


def latest_witnessed(session: Session) -> CustodyCheckpoint | None:
    """The checkpoint of the largest size that carries at least one cosignature."""
    stmt = (
        select(CustodyCheckpoint)
        .join(
            CustodyCosignature,
            (CustodyCosignature.tree_size == CustodyCheckpoint.tree_size)
            & (CustodyCosignature.root_hash == CustodyCheckpoint.root_hash),
        )
        .order_by(CustodyCheckpoint.tree_size.desc(), CustodyCheckpoint.issued_at.desc())
        .limit(1)
    )
    return session.execute(stmt).scalars().first()


def cosignature_record(cosignature: CustodyCosignature) -> dict[str, Any]:
    return {
        "witness": cosignature.witness,
        "key_id": cosignature.key_id.hex(),
        "timestamp": cosignature.cosigned_at,
        "line": str(cosignature.line()),
    }
