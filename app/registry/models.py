"""Owners, their cameras, and the append-only history of their consent."""

from __future__ import annotations

import uuid
from datetime import datetime
from uuid import UUID

from sqlalchemy import CheckConstraint, Float, ForeignKey, Index, Integer, Text, func
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base

OWNER_KINDS = ("person", "household", "business", "school", "agency", "community", "police")
PROGRAMMES = ("police", "private")
CAMERA_STATUSES = ("active", "inactive", "decommissioned")
CONSENT_SCOPES = ("on_request", "auto_approve")


class Owner(Base):
    __tablename__ = "owners"

    id: Mapped[UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    # The programme's own register number for the owner, if it keeps one: how an import names the owner.
    external_id: Mapped[str | None] = mapped_column(Text, unique=True)
    name: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(Text)
    phone: Mapped[str | None] = mapped_column(Text)
    email: Mapped[str | None] = mapped_column(Text)
    address: Mapped[str | None] = mapped_column(Text)
    locale: Mapped[str] = mapped_column(Text, default="vi")
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())

    __table_args__ = (
        CheckConstraint(f"kind IN {OWNER_KINDS}", name="kind_known"),
        CheckConstraint("locale IN ('vi','en')", name="locale_known"),
    )


class Camera(Base):
    __tablename__ = "cameras"

    id: Mapped[UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    external_id: Mapped[str | None] = mapped_column(Text, unique=True)
    owner_id: Mapped[UUID] = mapped_column(ForeignKey("owners.id"), index=True)
    label: Mapped[str] = mapped_column(Text)
    lat: Mapped[float] = mapped_column(Float)
    lon: Mapped[float] = mapped_column(Float)
    address: Mapped[str | None] = mapped_column(Text)
    province: Mapped[str | None] = mapped_column(Text)
    district: Mapped[str | None] = mapped_column(Text)
    ward: Mapped[str | None] = mapped_column(Text)
    direction_deg: Mapped[float | None] = mapped_column(Float)
    fov_deg: Mapped[float | None] = mapped_column(Float)
    range_m: Mapped[float | None] = mapped_column(Float)
    indoor: Mapped[bool] = mapped_column(default=False)
    recorder_make: Mapped[str | None] = mapped_column(Text)
    recorder_model: Mapped[str | None] = mapped_column(Text)
    recorder_firmware: Mapped[str | None] = mapped_column(Text)
    retention_days: Mapped[int] = mapped_column(Integer)
    timezone: Mapped[str] = mapped_column(Text, default="Asia/Ho_Chi_Minh")
    programme: Mapped[str] = mapped_column(Text, default="private")
    status: Mapped[str] = mapped_column(Text, default="active")
    last_verified_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now(), onupdate=func.now())

    __table_args__ = (
        CheckConstraint("lat BETWEEN -90 AND 90 AND lon BETWEEN -180 AND 180", name="wgs84"),
        CheckConstraint("retention_days > 0", name="retention_positive"),
        CheckConstraint("direction_deg IS NULL OR (direction_deg >= 0 AND direction_deg < 360)", name="direction"),
        CheckConstraint("fov_deg IS NULL OR (fov_deg > 0 AND fov_deg <= 360)", name="fov"),
        CheckConstraint("range_m IS NULL OR range_m > 0", name="range_positive"),
        CheckConstraint(f"programme IN {PROGRAMMES}", name="programme_known"),
        CheckConstraint(f"status IN {CAMERA_STATUSES}", name="status_known"),
        # The coverage search's bounding-box prefilter: a B-tree range scan on lat, then lon within it. It
        # carries what the search ranks by (retention_days, id), so ranking reads the index only.
        Index("ix_cameras_lat_lon", "lat", "lon", postgresql_include=["retention_days", "id"]),
    )


class Consent(Base):
    """One consent given by an owner (for all their cameras, or one). Never edited; withdrawal is recorded once."""

    __tablename__ = "consents"

    id: Mapped[UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    owner_id: Mapped[UUID] = mapped_column(ForeignKey("owners.id"), index=True)
    camera_id: Mapped[UUID | None] = mapped_column(ForeignKey("cameras.id"), index=True)
    scope: Mapped[str] = mapped_column(Text)
    valid_from: Mapped[datetime]
    valid_until: Mapped[datetime | None]
    terms_version: Mapped[str] = mapped_column(Text)
    legal_basis: Mapped[str] = mapped_column(Text)
    given_by: Mapped[str] = mapped_column(Text)
    recorded_at: Mapped[datetime]
    withdrawn_at: Mapped[datetime | None]
    withdrawn_reason: Mapped[str | None] = mapped_column(Text)
    withdrawn_by: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        CheckConstraint(f"scope IN {CONSENT_SCOPES}", name="scope_known"),
        CheckConstraint("valid_until IS NULL OR valid_until > valid_from", name="validity_ordered"),
        CheckConstraint("(withdrawn_at IS NULL) = (withdrawn_reason IS NULL)", name="withdrawal_has_reason"),
    )


DISTRICT_KINDS = ("city", "town", "district")


class District(Base):
    """A district-level unit of the province (city, town or rural district): what cameras and cases are placed
    in, and what the statistics group by. Seeded with Thanh Hóa's 27; admins add, rename and retire them."""

    __tablename__ = "districts"

    code: Mapped[str] = mapped_column(Text, primary_key=True)
    name: Mapped[str] = mapped_column(Text, unique=True)
    kind: Mapped[str] = mapped_column(Text)
    province: Mapped[str] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(default=True)
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now())

    __table_args__ = (CheckConstraint(f"kind IN {DISTRICT_KINDS}", name="kind_known"),)
