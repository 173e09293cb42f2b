"""Playback copies: an original whose container a browser cannot play (DHAV, program stream, TS, AVI, FLV) but
whose video codec it can, copied into MP4 by stream copy (no re-encoding) so the player can show it."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base


class PlaybackCopy(Base):
    """The MP4 playback copy of one original: the same video packets with the same timestamps, repackaged.

    The original's version and hash it was made from, the tool, its version and the exact command are kept; the
    copy is stored under playable/ and locked as long as its original. The original is never changed."""

    __tablename__ = "playback_copies"

    id: Mapped[UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    original_id: Mapped[UUID] = mapped_column(ForeignKey("originals.id"), unique=True)
    object_key: Mapped[str] = mapped_column(Text)
    version_id: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(Text)
    size: Mapped[int] = mapped_column(BigInteger)
    # what the copy holds (container, codecs, duration, frame span) as probed after it was made
    media: Mapped[dict[str, Any]] = mapped_column(JSONB)
    parent_sha256: Mapped[str] = mapped_column(Text)
    parent_version_id: Mapped[str] = mapped_column(Text)
    tool: Mapped[str] = mapped_column(Text)
    tool_version: Mapped[str] = mapped_column(Text)
    command: Mapped[list[str]] = mapped_column(JSONB)
    retention_mode: Mapped[str] = mapped_column(Text)
    retain_until: Mapped[datetime]
    created_at: Mapped[datetime]
    deleted_at: Mapped[datetime | None]  # removed with its original at the end of retention

    __table_args__ = (
        CheckConstraint("length(sha256) = 64 AND length(parent_sha256) = 64", name="hashes_hex"),
        CheckConstraint("size > 0", name="sane"),
    )


# A playback copy that failed this many times is said on the player page to be missing (the sweep still tries).
COPY_FAILURES_SHOWN = 3


class PlaybackCopyAttempt(Base):
    """The failed attempts at an original's playback copy: how many, the last one's time and kind of problem (the
    words are in its custody event). The sweep waits longer after each (app/footage/failures.py); the row goes
    once the copy is made."""

    __tablename__ = "playback_copy_attempts"

    original_id: Mapped[UUID] = mapped_column(ForeignKey("originals.id"), primary_key=True)
    failures: Mapped[int]
    failed_at: Mapped[datetime]
    problem: Mapped[str] = mapped_column(Text)

    __table_args__ = (
        CheckConstraint("failures > 0", name="failures_positive"),
        CheckConstraint("problem IN ('media','storage','internal')", name="problem_known"),
    )
