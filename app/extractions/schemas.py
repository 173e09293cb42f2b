from __future__ import annotations

from datetime import datetime
from typing import Literal
from uuid import UUID

from pydantic import AliasChoices, ConfigDict, Field, model_validator

from app.core.params import BoundedDatetime, Schema

Priority = Literal["low", "normal", "high", "urgent"]


class _Window(Schema):
    window_start: BoundedDatetime
    window_end: BoundedDatetime
    purpose: str = Field(min_length=3, max_length=2000)
    legal_basis: str = Field(min_length=3, max_length=500)
    priority: Priority = "normal"

    @model_validator(mode="after")
    def _ordered(self) -> _Window:
        if self.window_end <= self.window_start:
            raise ValueError("window_end must be after window_start")
        return self


class RequestCreate(_Window):
    camera_id: UUID


class AreaRequestCreate(_Window):
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    radius_m: float = Field(gt=0, le=5000)


class ApproveIn(Schema):
    reason: str | None = Field(None, max_length=2000)
    approved_start: BoundedDatetime | None = None
    approved_end: BoundedDatetime | None = None


class ReasonIn(Schema):
    reason: str = Field(min_length=3, max_length=2000)


class TransitionRead(Schema):
    model_config = ConfigDict(from_attributes=True)

    actor: str
    at: datetime
    from_status: str | None = Field(validation_alias=AliasChoices("from_status", "from"), serialization_alias="from")
    to_status: str = Field(validation_alias=AliasChoices("to_status", "to"), serialization_alias="to")
    reason: str | None


class RequestRead(Schema):
    model_config = ConfigDict(from_attributes=True)

    id: UUID
    case_id: UUID
    camera_id: UUID
    owner_id: UUID
    unit_id: UUID
    group_id: UUID | None
    status: str
    window_start: datetime
    window_end: datetime
    window_start_local: str
    window_end_local: str
    camera_timezone: str
    approved_start: datetime | None
    approved_end: datetime | None
    purpose: str
    legal_basis: str
    priority: str
    overwrite_deadline: datetime
    auto_approved: bool
    created_at: datetime
    responded_at: datetime | None


class SkippedCamera(Schema):
    camera_id: UUID
    reason: str


class AreaRequestResult(Schema):
    group_id: UUID
    requests: list[RequestRead]
    skipped: list[SkippedCamera]


class LinkRead(Schema):
    id: UUID
    request_id: UUID
    url: str
    expires_at: datetime


class WaitingRequestRead(Schema):
    request_id: UUID
    camera_label: str
    status: str
    overwrite_deadline: datetime
    overwrite_deadline_local: str = Field(description="The deadline in the camera's time zone, ISO 8601 with offset.")


class OwnerToCallRead(Schema):
    owner_id: UUID
    owner_name: str
    phone: str | None = Field(description="E.164, e.g. +84903123456; null when the owner gave none.")
    phone_display: str | None = Field(description="As people write it, e.g. 0903 123 456.")
    reason: Literal["no_contact", "no_email_no_phone", "no_email_no_bridge", "bridge_failed"] = Field(
        description="Why no message reaches them: no email and no phone; no email and no phone for the bridge; "
        "no email and no bridge configured; every bridge message about these requests came back failed."
    )
    requests: list[WaitingRequestRead]
