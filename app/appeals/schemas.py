from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, Field

from app.appeals.models import DeclineCategory, SubmissionKind, SubmissionStatus


class AppealCreate(BaseModel):
    title: str = Field(min_length=3, max_length=120, description="Headline the public reads, no names or case number.")
    text: str = Field(min_length=10, max_length=2000, description="What happened and what footage would help.")
    place: str | None = Field(None, max_length=200, description="The area in words.")
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    radius_m: int = Field(300, ge=10, le=20000)
    window_start: AwareDatetime
    window_end: AwareDatetime
    closes_at: AwareDatetime


class AppealRead(BaseModel):
    model_config = {"from_attributes": True}

    id: UUID
    slug: str
    case_id: UUID
    title: str
    text: str
    place: str | None
    lat: float
    lon: float
    radius_m: int
    window_start: datetime
    window_end: datetime
    timezone: str
    closes_at: datetime
    closed_early_at: datetime | None
    created_at: datetime
    is_open: bool
    public_url: str
    qr_png_url: str
    qr_svg_url: str
    submissions: dict[str, int] = Field(description="Submissions by status.")


class AppealList(BaseModel):
    items: list[AppealRead]
    total: int


class SubmissionRead(BaseModel):
    model_config = {"from_attributes": True}

    id: UUID
    appeal_id: UUID
    status: SubmissionStatus
    kind: SubmissionKind
    sha256: str
    size: int
    version_id: str
    filename: str
    content_type: str
    media: dict[str, Any]
    taken_at: datetime | None
    lat: float | None
    lon: float | None
    description: str | None
    contributor_name: str | None
    contributor_phone: str | None
    anonymous: bool
    attestation_version: str
    received_at: datetime
    retention_mode: str
    retain_until: datetime
    legal_hold: bool
    decided_by: str | None
    decided_at: datetime | None
    decline_category: DeclineCategory | None
    decline_reason: str | None
    # The case's original an accepted submission became (the same stored object); None before acceptance.
    original_id: UUID | None = None


class SubmissionList(BaseModel):
    items: list[SubmissionRead]
    total: int


class SubmissionReceipt(BaseModel):
    """What a resident is told: a reference to quote and the hash of what arrived, nothing of other uploads."""

    reference: str
    sha256: str
    size: int
    received_at: datetime
    status: SubmissionStatus


class DeclineIn(BaseModel):
    category: DeclineCategory
    reason: str = Field(min_length=3, max_length=500)


class AcceptIn(BaseModel):
    note: str | None = Field(None, max_length=500)


class SubmissionLinkIn(BaseModel):
    purpose: str = Field(min_length=3, max_length=300)


class SubmissionLinkRead(BaseModel):
    url: str
    expires_at: datetime
    sha256: str
    version_id: str


class SubmissionClipIn(BaseModel):
    window_start: AwareDatetime
    window_end: AwareDatetime
    recording_start: AwareDatetime | None = Field(
        None, description="The first frame's true time, when the sender's stated time is wrong or missing."
    )


class SubmissionClipRead(BaseModel):
    model_config = {"from_attributes": True}

    id: UUID
    submission_id: UUID
    original_id: UUID
    case_id: UUID
    parent_sha256: str
    sha256: str
    size: int
    version_id: str
    container: str
    recording_start: datetime
    clock_offset_s: float
    requested_start: datetime
    requested_end: datetime
    actual_start: datetime
    actual_end: datetime
    shortfall: dict[str, Any]
    tool: str
    tool_version: str
    command: list[Any]
    created_at: datetime
    retain_until: datetime


class SubmissionClipList(BaseModel):
    items: list[SubmissionClipRead]
    total: int
