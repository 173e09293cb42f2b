"""Notifications to staff (investigators, supervisors): what happened to a request they filed, kept to be read."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import CheckConstraint, ForeignKey, Index, Text, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base


class StaffAlertKind(enum.StrEnum):
    request_approved = "request_approved"
    request_partially_approved = "request_partially_approved"
    request_denied = "request_denied"
    footage_received = "footage_received"
    clip_ready = "clip_ready"
    footage_mismatch = "footage_mismatch"
    request_expired = "request_expired"
    link_expired_unanswered = "link_expired_unanswered"
    deadline_at_risk = "deadline_at_risk"
    appeal_submission = "appeal_submission"  # a resident sent footage to an appeal of the unit's case
    clip_failed = "clip_failed"  # the footage arrived but the clip could not be cut, several times over


# Raised by the periodic check, once per request and recipient (a unique index holds it to once).
ONCE_PER_REQUEST = (StaffAlertKind.link_expired_unanswered, StaffAlertKind.deadline_at_risk)


class StaffNotification(Base):
    """One thing a staff member is told in the app (and by email): the kind, the request, when; read or not.
    The words are rendered when read, in the reader's language, from `kind` and `params`."""

    __tablename__ = "staff_notifications"

    id: Mapped[UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    user_id: Mapped[UUID] = mapped_column(ForeignKey("users.id"))
    unit_id: Mapped[UUID | None] = mapped_column(ForeignKey("units.id"))
    kind: Mapped[str] = mapped_column(Text)
    request_id: Mapped[UUID | None] = mapped_column(ForeignKey("extraction_requests.id"), index=True)
    case_id: Mapped[UUID | None] = mapped_column(ForeignKey("cases.id"))
    params: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    created_at: Mapped[datetime]
    read_at: Mapped[datetime | None]

    __table_args__ = (
        CheckConstraint(
            "kind IN (" + ",".join(f"'{kind.value}'" for kind in StaffAlertKind) + ")",
            name="kind_known",
        ),
        Index("ix_staff_notifications_user_created", "user_id", "created_at"),
        Index(
            "ix_staff_notifications_user_unread",
            "user_id",
            postgresql_where=text("read_at IS NULL"),
        ),
        Index(
            "uq_staff_notifications_once",
            "user_id",
            "request_id",
            "kind",
            unique=True,
            postgresql_where=text("kind IN ('link_expired_unanswered','deadline_at_risk')"),
        ),
    )
