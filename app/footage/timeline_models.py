"""Markers on a case's timeline: a note at a true instant of one clip."""

from __future__ import annotations

import uuid
from datetime import datetime
from uuid import UUID

from sqlalchemy import CheckConstraint, ForeignKey, Index, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base


class CaseMarker(Base):
    """A note an investigator put at a true instant on a clip of a case. Never changed; its creation is logged."""

    __tablename__ = "case_markers"

    id: Mapped[UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    case_id: Mapped[UUID] = mapped_column(ForeignKey("cases.id"))
    clip_id: Mapped[UUID] = mapped_column(ForeignKey("clips.id"), index=True)
    at: Mapped[datetime]  # true time (UTC), the recorder's clock offset removed
    note: Mapped[str] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(Text)  # the custody log's name of the actor
    created_at: Mapped[datetime]

    __table_args__ = (
        CheckConstraint("length(note) BETWEEN 1 AND 2000", name="note_length"),
        Index("ix_case_markers_case_at", "case_id", "at"),
    )
