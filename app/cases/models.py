"""Cases: the investigation every extraction request belongs to."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from uuid import UUID

from sqlalchemy import BigInteger, CheckConstraint, Float, ForeignKey, Index, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base
from app.core.enum_column import EnumText


class CaseStatus(enum.StrEnum):
    open = "open"
    closed = "closed"


class Case(Base):
    __tablename__ = "cases"

    id: Mapped[UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    number: Mapped[str] = mapped_column(Text, unique=True)
    title: Mapped[str] = mapped_column(Text)
    offence: Mapped[str] = mapped_column(Text)
    incident_lat: Mapped[float] = mapped_column(Float)
    incident_lon: Mapped[float] = mapped_column(Float)
    incident_start: Mapped[datetime]
    incident_end: Mapped[datetime]
    # The unit of the investigator who opened the case: it decides who may see the case and its requests.
    unit_id: Mapped[UUID] = mapped_column(ForeignKey("units.id"))
    lead_investigator_id: Mapped[UUID] = mapped_column(ForeignKey("users.id"), index=True)
    status: Mapped[CaseStatus] = mapped_column(EnumText(CaseStatus), default=CaseStatus.open)
    outcome: Mapped[str | None] = mapped_column(Text)
    footage_contributed: Mapped[bool | None]
    created_by: Mapped[UUID] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    closed_at: Mapped[datetime | None]
    closed_by: Mapped[UUID | None] = mapped_column(ForeignKey("users.id"))
    # How long its evidence stays locked (None: the settings' default period and mode).
    retention_category: Mapped[str | None] = mapped_column(ForeignKey("retention_categories.code"))
    # A manual legal hold on the case's evidence (e.g. during an appeal), placed and released with a reason by
    # a supervisor or admin; while set, no hold of the case's evidence comes off, open case or not.
    manual_hold_reason: Mapped[str | None] = mapped_column(Text)
    manual_hold_at: Mapped[datetime | None]
    manual_hold_by: Mapped[str | None] = mapped_column(Text)
    # Where the incident happened, by the province's list of districts (registry.District's name) and a ward.
    district: Mapped[str | None] = mapped_column(Text, index=True)
    ward: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        CheckConstraint("incident_end > incident_start", name="incident_window_ordered"),
        CheckConstraint(
            "incident_start >= '1970-01-01 00:00:00+00' AND incident_end < '2200-01-01 00:00:00+00'",
            name="incident_years",
        ),
        CheckConstraint("incident_lat BETWEEN -90 AND 90 AND incident_lon BETWEEN -180 AND 180", name="incident_wgs84"),
        CheckConstraint("status IN ('open','closed')", name="status_known"),
        # A closed case always says how it ended; an open one has no outcome yet.
        CheckConstraint(
            "(status = 'open' AND closed_at IS NULL AND outcome IS NULL) OR "
            "(status = 'closed' AND closed_at IS NOT NULL AND outcome IS NOT NULL AND footage_contributed IS NOT NULL)",
            name="closed_has_outcome",
        ),
        CheckConstraint("(manual_hold_reason IS NULL) = (manual_hold_at IS NULL)", name="manual_hold_has_reason"),
        Index("ix_cases_unit_status_created", "unit_id", "status", "created_at"),
    )


class RetentionCategory(Base):
    """How long evidence of a case stays locked in storage, and in which Object Lock mode. Admins manage them."""

    __tablename__ = "retention_categories"

    code: Mapped[str] = mapped_column(Text, primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    retention_seconds: Mapped[int] = mapped_column(BigInteger)
    mode: Mapped[str] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]

    __table_args__ = (
        CheckConstraint("retention_seconds > 0", name="period_positive"),
        CheckConstraint("mode IN ('COMPLIANCE', 'GOVERNANCE')", name="mode_known"),
    )
