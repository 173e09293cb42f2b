"""The custody log: append-only events and the log head that serialises appends."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import BigInteger, CheckConstraint, Identity, Index, LargeBinary, SmallInteger, Text
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base


class CustodyEvent(Base):
    """One touch of evidence or one decision about it. Never updated, never deleted (a trigger enforces it)."""

    __tablename__ = "custody_events"

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(Text)
    action: Mapped[str] = mapped_column(Text)
    object_type: Mapped[str | None] = mapped_column(Text)
    object_id: Mapped[UUID | None]
    sha256: Mapped[str | None] = mapped_column(Text)
    version_id: Mapped[str | None] = mapped_column(Text)
    case_id: Mapped[UUID | None]
    reason: Mapped[str | None] = mapped_column(Text)
    where: Mapped[dict[str, Any]] = mapped_column(JSONB)
    outcome: Mapped[str] = mapped_column(Text)
    details: Mapped[dict[str, Any]] = mapped_column(JSONB)
    leaf_hash: Mapped[bytes] = mapped_column(LargeBinary)
    # The case's chain (the custody_case_chains migration): the seq and leaf hash of the case's previous event,
    # 0 and NULL for the first; both NULL for events without a case and events recorded before chains began.
    case_prev_seq: Mapped[int | None] = mapped_column(BigInteger)
    case_prev_hash: Mapped[bytes | None] = mapped_column(LargeBinary)

    __table_args__ = (
        CheckConstraint("seq > 0", name="seq_positive"),
        CheckConstraint("octet_length(leaf_hash) = 32", name="leaf_hash_len"),
        Index("ix_custody_events_case_id_seq", "case_id", "seq"),
        Index("ix_custody_events_object_id_seq", "object_id", "seq"),
    )


class CustodyLogHead(Base):
    """The single row every append locks: tree size and the compact Merkle frontier of the log."""

    __tablename__ = "custody_log_head"

    id: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    tree_size: Mapped[int] = mapped_column(BigInteger)
    frontier: Mapped[list[bytes]] = mapped_column(ARRAY(LargeBinary))
    root_hash: Mapped[bytes] = mapped_column(LargeBinary)

    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)


class CustodyPending(Base):
    """An event appended in a transaction that has not committed yet: its canonical entry's bytes before
    (`entry_head`) and after (`entry_tail`) the seq digits. At commit a deferred trigger
    (`custody_sequence_pending`, migrations 0007 and 0010) reads the event's columns from that entry, gives it
    its seq, leaf hash and place in the frontier, writes it to custody_events and removes this row; the log
    head is locked only for that moment."""

    __tablename__ = "custody_pending"

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=False), primary_key=True)
    entry_head: Mapped[bytes] = mapped_column(LargeBinary)
    entry_tail: Mapped[bytes] = mapped_column(LargeBinary)
    entry_mid: Mapped[bytes | None] = mapped_column(LargeBinary)  # a case's event: between case_prev and seq
