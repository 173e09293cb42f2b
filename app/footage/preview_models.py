"""Previews of a clip: a poster frame and a strip of keyframe thumbnails, derivatives made by ffmpeg."""

from __future__ import annotations

import uuid
from datetime import datetime
from uuid import UUID

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Text, UniqueConstraint
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base

PREVIEW_KINDS = ("poster", "thumb")


class Preview(Base):
    """One JPEG made from a clip's keyframes: the poster (position 0) or a thumbnail of the strip.

    `at_s` is the keyframe's time from the clip's first keyframe, so the player seeks to it; the clip's version
    and hash it was made from, the tool, its version and the exact command are kept, the clip is never changed."""

    __tablename__ = "previews"

    id: Mapped[UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    clip_id: Mapped[UUID] = mapped_column(ForeignKey("clips.id"), index=True)
    kind: Mapped[str] = mapped_column(Text)
    position: Mapped[int]
    at_s: Mapped[float]
    width: Mapped[int]
    height: Mapped[int]
    object_key: Mapped[str] = mapped_column(Text)
    version_id: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(Text)
    size: Mapped[int] = mapped_column(BigInteger)
    parent_sha256: Mapped[str] = mapped_column(Text)
    parent_version_id: Mapped[str] = mapped_column(Text)
    tool: Mapped[str] = mapped_column(Text)
    tool_version: Mapped[str] = mapped_column(Text)
    command: Mapped[list[str]] = mapped_column(JSONB)
    retention_mode: Mapped[str] = mapped_column(Text)
    retain_until: Mapped[datetime]
    created_at: Mapped[datetime]
    deleted_at: Mapped[datetime | None]  # the version was deleted with its clip at the end of its retention

    __table_args__ = (
        UniqueConstraint("clip_id", "kind", "position", name="uq_previews_clip_kind_position"),
        CheckConstraint("kind IN ('poster','thumb')", name="kind_known"),
        CheckConstraint("length(sha256) = 64 AND length(parent_sha256) = 64", name="hashes_hex"),
        CheckConstraint("size > 0 AND width > 0 AND height > 0 AND position >= 0 AND at_s >= 0", name="sane"),
    )
