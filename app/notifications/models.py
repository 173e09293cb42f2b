"""The notification outbox and its append-only log of delivery attempts."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, Text, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base
from app.core.enum_column import EnumText


class Channel(enum.StrEnum):
    email = "email"
    webhook = "webhook"


class OutboxStatus(enum.StrEnum):
    pending = "pending"
    sent = "sent"
    failed = "failed"


class Notification(Base):
    """One message to send, written in the same transaction as the change it reports."""

    __tablename__ = "notifications"

    id: Mapped[UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    channel: Mapped[str] = mapped_column(Text)
    recipient: Mapped[str] = mapped_column(Text)  # email address or webhook URL
    template: Mapped[str] = mapped_column(Text)
    locale: Mapped[str] = mapped_column(Text, default="vi")
    subject: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)  # email text, or the webhook's JSON body exactly as sent
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    # Values (one-time link tokens) scrubbed from body and payload once the message is sent or failed,
    # so the outbox does not keep a usable token after it has done its job.
    secrets: Mapped[list[str]] = mapped_column(JSONB, default=list)
    # What the message is about, so a request's messages can be listed and audited.
    subject_type: Mapped[str | None] = mapped_column(Text)
    subject_id: Mapped[UUID | None]
    status: Mapped[OutboxStatus] = mapped_column(EnumText(OutboxStatus), default=OutboxStatus.pending)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime]
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]

    __table_args__ = (
        CheckConstraint("channel IN ('email','webhook')", name="channel_known"),
        CheckConstraint("status IN ('pending','sent','failed')", name="status_known"),
        CheckConstraint("locale IN ('vi','en')", name="locale_known"),
        Index("ix_notifications_status_next_attempt_at", "status", "next_attempt_at"),
        Index("ix_notifications_subject", "subject_type", "subject_id"),
    )


class DeliveryAttempt(Base):
    """One try at sending a notification, success or failure. Rows are only ever inserted."""

    __tablename__ = "notification_attempts"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    notification_id: Mapped[UUID] = mapped_column(ForeignKey("notifications.id"), index=True)
    attempt: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime]
    # sent | retry | failed (the service's own sends); delivered | read | failed (reported by the bridge)
    outcome: Mapped[str] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(Text)
    response: Mapped[str | None] = mapped_column(Text)  # SMTP reply, HTTP status line, or the bridge's channel
    # None for the service's own sends; "bridge" for a delivery report (then `at` is the bridge's time).
    reported_by: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        CheckConstraint("outcome IN ('sent','retry','failed','delivered','read')", name="outcome_known"),
        CheckConstraint("reported_by IS NULL OR reported_by = 'bridge'", name="reporter_known"),
        # One report per message, outcome and moment: a replayed report is told from a new one.
        Index(
            "uq_notification_attempts_report",
            "notification_id",
            "outcome",
            "at",
            unique=True,
            postgresql_where=text("reported_by IS NOT NULL"),
        ),
    )
