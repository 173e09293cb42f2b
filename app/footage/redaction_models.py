"""Redacted copies of clips: the boxes to hide (found by the face detector, drawn by hand), and the copy made."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Text, false, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base


class Redaction(Base):
    """One redacted derivative of a clip, from its boxes to the rendered, locked copy.

    Status: detecting (the face detector runs on the clip) → review (boxes may be changed by hand) → rendering
    (ffmpeg makes the copy; `progress` from 0 to 1) → ready; failed when the detector or the render failed, or its
    job was lost too many times (the error stays internal, `failure` says it plainly). The clip itself is never
    changed."""

    __tablename__ = "redactions"

    id: Mapped[UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    clip_id: Mapped[UUID] = mapped_column(ForeignKey("clips.id"), index=True)
    request_id: Mapped[UUID] = mapped_column(ForeignKey("extraction_requests.id"))
    case_id: Mapped[UUID] = mapped_column(ForeignKey("cases.id"))
    # the clip's version and hash the copy is made from
    parent_sha256: Mapped[str] = mapped_column(Text)
    parent_version_id: Mapped[str] = mapped_column(Text)
    style: Mapped[str] = mapped_column(Text)  # blur | box
    status: Mapped[str] = mapped_column(Text)
    progress: Mapped[float] = mapped_column(default=0.0)
    failure: Mapped[str | None] = mapped_column(Text)
    # The clip's frame geometry, read when the detector opens it.
    width: Mapped[int | None]
    height: Mapped[int | None]
    frame_rate: Mapped[float | None]
    frame_count: Mapped[int | None]
    # Detector name, version and parameters; the boxes found (tracks of keyframes, source "auto") and those
    # drawn by hand (source "manual"); see app/footage/redaction.py for the shape.
    detector: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    tracks: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, default=list)
    # The mask file: every frame's boxes as rendered (JSON), stored and locked like evidence.
    mask_object_key: Mapped[str | None] = mapped_column(Text)
    mask_version_id: Mapped[str | None] = mapped_column(Text)
    mask_sha256: Mapped[str | None] = mapped_column(Text)
    # The redacted copy (H.264 MP4, re-encoded) and how it was made.
    object_key: Mapped[str | None] = mapped_column(Text)
    version_id: Mapped[str | None] = mapped_column(Text)
    sha256: Mapped[str | None] = mapped_column(Text)
    size: Mapped[int | None] = mapped_column(BigInteger)
    tool: Mapped[str | None] = mapped_column(Text)
    tool_version: Mapped[str | None] = mapped_column(Text)
    command: Mapped[list[str] | None] = mapped_column(JSONB)
    retention_mode: Mapped[str | None] = mapped_column(Text)
    retain_until: Mapped[datetime | None]
    # The mask file and the copy carry a legal hold while the case is open (both at once); the retention sweep
    # releases it and, past retention, deletes both versions (app/footage/retention.py).
    legal_hold: Mapped[bool] = mapped_column(default=False, server_default=false())
    deleted_at: Mapped[datetime | None]
    # When the detection or render step was queued or last reported progress; a step silent for longer than
    # the settings' redaction_stuck_minutes lost its job, and the sweep queues it again (`requeues` times at most
    # redaction_max_requeues, then the redaction fails).
    heartbeat_at: Mapped[datetime | None]
    requeues: Mapped[int] = mapped_column(default=0, server_default=text("0"))
    created_by: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]
    rendered_at: Mapped[datetime | None]

    __table_args__ = (
        CheckConstraint("style IN ('blur','box')", name="style_known"),
        CheckConstraint("status IN ('detecting','review','rendering','ready','failed')", name="status_known"),
        CheckConstraint("progress >= 0 AND progress <= 1", name="progress_fraction"),
        CheckConstraint("requeues >= 0", name="requeues_counted"),
        CheckConstraint("length(parent_sha256) = 64", name="parent_sha256_hex"),
        CheckConstraint(
            "(status = 'ready') = (sha256 IS NOT NULL AND version_id IS NOT NULL AND mask_sha256 IS NOT NULL)",
            name="ready_with_copy_and_mask",
        ),
    )
