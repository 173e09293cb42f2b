"""Extraction requests (one camera, one window, one case) and their transition history."""

from __future__ import annotations

import uuid
from datetime import datetime
from uuid import UUID
from zoneinfo import ZoneInfo

from sqlalchemy import CheckConstraint, ForeignKey, Index, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.db import Base
from app.core.enum_column import EnumText
from app.extractions.states import RequestStatus


def local_time(moment: datetime, timezone: str) -> str:
    """A UTC time as the camera's clock shows it (ISO 8601 with the zone's offset): how windows reach owners."""
    return moment.astimezone(ZoneInfo(timezone)).isoformat()


class ExtractionRequest(Base):
    __tablename__ = "extraction_requests"

    id: Mapped[UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    case_id: Mapped[UUID] = mapped_column(ForeignKey("cases.id"), index=True)
    camera_id: Mapped[UUID] = mapped_column(ForeignKey("cameras.id"), index=True)
    # Copied at filing so scope checks need no joins: the unit that filed, the owner who answers.
    unit_id: Mapped[UUID] = mapped_column(ForeignKey("units.id"), index=True)
    owner_id: Mapped[UUID] = mapped_column(ForeignKey("owners.id"), index=True)
    # Requests filed together by one area request share a group id.
    group_id: Mapped[UUID | None] = mapped_column(index=True)
    window_start: Mapped[datetime]
    window_end: Mapped[datetime]
    # The camera's zone at filing: windows are shown to owners in the camera's local time.
    camera_timezone: Mapped[str] = mapped_column(Text)
    approved_start: Mapped[datetime | None]
    approved_end: Mapped[datetime | None]
    purpose: Mapped[str] = mapped_column(Text)
    legal_basis: Mapped[str] = mapped_column(Text)
    priority: Mapped[str] = mapped_column(Text, default="normal")
    overwrite_deadline: Mapped[datetime]
    status: Mapped[RequestStatus] = mapped_column(EnumText(RequestStatus), index=True)
    consent_id: Mapped[UUID | None]
    auto_approved: Mapped[bool] = mapped_column(default=False)
    created_by: Mapped[UUID] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    responded_at: Mapped[datetime | None]
    deadline_reminded_at: Mapped[datetime | None]
    link_reminded_at: Mapped[datetime | None]
    # How the investigator judged the footage on closing: useful, not_useful or no_footage (closed requests only).
    close_result: Mapped[str | None] = mapped_column(Text)
    # The clip job's failures while the footage waits to be cut (app/footage/clip_failures.py): how many, when the
    # last one was, and what kind of problem it was (media, storage or internal).
    clip_failures: Mapped[int] = mapped_column(default=0, server_default="0")
    clip_failed_at: Mapped[datetime | None]
    clip_problem: Mapped[str | None] = mapped_column(Text)

    history: Mapped[list[RequestTransition]] = relationship(
        order_by="RequestTransition.at, RequestTransition.id", lazy="selectin", viewonly=True
    )

    @property
    def window_start_local(self) -> str:
        return local_time(self.window_start, self.camera_timezone)

    @property
    def window_end_local(self) -> str:
        return local_time(self.window_end, self.camera_timezone)

    __table_args__ = (
        CheckConstraint("window_end > window_start", name="window_ordered"),
        CheckConstraint(
            "approved_start IS NULL OR (approved_end > approved_start AND approved_start >= window_start "
            "AND approved_end <= window_end)",
            name="approved_within_window",
        ),
        CheckConstraint("priority IN ('low','normal','high','urgent')", name="priority_known"),
        CheckConstraint(
            "close_result IS NULL OR close_result IN ('useful','not_useful','no_footage')", name="close_result_known"
        ),
        CheckConstraint(
            "clip_problem IS NULL OR clip_problem IN ('media','storage','internal')", name="clip_problem_known"
        ),
        Index("ix_extraction_requests_status_deadline", "status", "overwrite_deadline"),
    )


class RequestTransition(Base):
    """One step of a request's state machine: who, when, from, to, why. Never changed."""

    __tablename__ = "request_transitions"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    request_id: Mapped[UUID] = mapped_column(ForeignKey("extraction_requests.id"), index=True)
    at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(Text)
    from_status: Mapped[RequestStatus | None] = mapped_column(EnumText(RequestStatus))
    to_status: Mapped[RequestStatus] = mapped_column(EnumText(RequestStatus))
    reason: Mapped[str | None] = mapped_column(Text)
    # Its custody event carries details.transition_id = id (the event's seq is only given at commit).
