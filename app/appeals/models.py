"""Community appeals: a case's public call for footage, and what residents send to it.

A submission is evidence from the moment it arrives (streamed, hashed, locked, logged), but it stays in
quarantine, seen only by the case's unit, until an investigator accepts or declines it. Accepted, it becomes an
original of the case (app.footage.models.Original with `appeal_submission_id`, the same stored object) and is
cut into clips like any original; the submission row stays as the record of who sent it, where and when."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import BigInteger, CheckConstraint, Float, ForeignKey, Index, Integer, Text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base
from app.core.enum_column import EnumText


class SubmissionStatus(enum.StrEnum):
    quarantined = "quarantined"  # arrived; only the case's unit sees it, nothing is done with it yet
    accepted = "accepted"  # evidence of the case, kept for the case's retention
    declined = "declined"  # not used; kept locked for the short declined period, then removable


class SubmissionKind(enum.StrEnum):
    video = "video"
    photo = "photo"


class DeclineCategory(enum.StrEnum):
    """Why a submission was not used: each keeps it for the short declined period only."""

    not_relevant = "not_relevant"  # outside the place or time, or shows nothing of the incident
    duplicate = "duplicate"  # the same footage already sent
    unusable = "unusable"  # too dark, blurred, too short
    abusive = "abusive"  # offensive or unlawful content, or spam


class Appeal(Base):
    __tablename__ = "appeals"

    id: Mapped[UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    # The public address /a/{slug}: random, short enough to type from a poster.
    slug: Mapped[str] = mapped_column(Text, unique=True)
    case_id: Mapped[UUID] = mapped_column(ForeignKey("cases.id"), index=True)
    unit_id: Mapped[UUID] = mapped_column(ForeignKey("units.id"), index=True)
    # What the public reads: no case number, no names of suspects or victims.
    title: Mapped[str] = mapped_column(Text)
    text: Mapped[str] = mapped_column(Text)
    place: Mapped[str | None] = mapped_column(Text)  # the area in words ("Đại lộ Lê Lợi, phường Điện Biên")
    lat: Mapped[float] = mapped_column(Float)
    lon: Mapped[float] = mapped_column(Float)
    radius_m: Mapped[int] = mapped_column(Integer)
    window_start: Mapped[datetime]
    window_end: Mapped[datetime]
    timezone: Mapped[str] = mapped_column(Text, default="Asia/Ho_Chi_Minh")
    closes_at: Mapped[datetime]
    closed_early_at: Mapped[datetime | None]
    created_by: Mapped[UUID] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime]

    __table_args__ = (
        CheckConstraint("window_end > window_start", name="window_ordered"),
        CheckConstraint("lat BETWEEN -90 AND 90 AND lon BETWEEN -180 AND 180", name="wgs84"),
        CheckConstraint("radius_m BETWEEN 10 AND 20000", name="radius_bounded"),
        CheckConstraint("closes_at > created_at", name="closes_after_publishing"),
    )


class Submission(Base):
    __tablename__ = "appeal_submissions"

    id: Mapped[UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    appeal_id: Mapped[UUID] = mapped_column(ForeignKey("appeals.id"))
    case_id: Mapped[UUID] = mapped_column(ForeignKey("cases.id"), index=True)
    unit_id: Mapped[UUID] = mapped_column(ForeignKey("units.id"))
    status: Mapped[SubmissionStatus] = mapped_column(EnumText(SubmissionStatus), default=SubmissionStatus.quarantined)
    kind: Mapped[SubmissionKind] = mapped_column(EnumText(SubmissionKind))
    object_key: Mapped[str] = mapped_column(Text)
    version_id: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(Text, index=True)
    size: Mapped[int] = mapped_column(BigInteger)
    filename: Mapped[str] = mapped_column(Text)
    content_type: Mapped[str] = mapped_column(Text)
    media: Mapped[dict[str, Any]] = mapped_column(JSONB)
    # Where and when the resident says it was taken (the map pin and the time they chose), as they stated it.
    taken_at: Mapped[datetime | None]
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    description: Mapped[str | None] = mapped_column(Text)
    # Named or anonymous: both empty for an anonymous submission.
    contributor_name: Mapped[str | None] = mapped_column(Text)
    contributor_phone: Mapped[str | None] = mapped_column(Text)
    attestation_version: Mapped[str] = mapped_column(Text)
    client_address: Mapped[str | None] = mapped_column(Text)
    received_at: Mapped[datetime]
    retention_mode: Mapped[str] = mapped_column(Text)
    retain_until: Mapped[datetime]
    legal_hold: Mapped[bool] = mapped_column(default=True)
    decided_by: Mapped[str | None] = mapped_column(Text)
    decided_at: Mapped[datetime | None]
    decline_category: Mapped[DeclineCategory | None] = mapped_column(EnumText(DeclineCategory))
    decline_reason: Mapped[str | None] = mapped_column(Text)
    deleted_at: Mapped[datetime | None]

    __table_args__ = (
        CheckConstraint("status IN ('quarantined','accepted','declined')", name="status_known"),
        CheckConstraint("kind IN ('video','photo')", name="kind_known"),
        CheckConstraint("length(sha256) = 64", name="sha256_hex"),
        CheckConstraint("size > 0", name="size_positive"),
        CheckConstraint("(lat IS NULL) = (lon IS NULL)", name="pin_whole"),
        CheckConstraint("(status = 'quarantined') = (decided_at IS NULL)", name="decided_unless_quarantined"),
        CheckConstraint("(status = 'declined') = (decline_category IS NOT NULL)", name="declined_with_category"),
        Index("ix_appeal_submissions_appeal_received", "appeal_id", "received_at"),
        Index("ix_appeal_submissions_appeal_address", "appeal_id", "client_address", "received_at"),
    )
