from __future__ import annotations

from datetime import datetime
from typing import Literal
from uuid import UUID
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import ConfigDict, EmailStr, Field, field_validator

from app.core.params import BoundedDatetime, Schema
from app.core.phones import PhoneField

OwnerKind = Literal["person", "household", "business", "school", "agency", "community", "police"]
Programme = Literal["police", "private"]
CameraStatus = Literal["active", "inactive", "decommissioned"]
ConsentScope = Literal["on_request", "auto_approve"]
ConsentState = Literal["valid", "none", "withdrawn", "expired"]

Lat = Field(ge=-90, le=90)
Lon = Field(ge=-180, le=180)


def _check_zone(value: str | None) -> str | None:
    if value is None:
        return value
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {value!r} (use an IANA name such as Asia/Ho_Chi_Minh)") from exc
    return value


class OwnerCreate(Schema):
    name: str = Field(min_length=1, max_length=300)
    kind: OwnerKind
    phone: PhoneField = None
    email: EmailStr | None = None
    address: str | None = Field(None, max_length=500)
    locale: Literal["vi", "en"] = "vi"
    external_id: str | None = Field(None, min_length=1, max_length=200)


class OwnerUpdate(Schema):
    name: str | None = Field(None, min_length=1, max_length=300)
    kind: OwnerKind | None = None
    phone: PhoneField = None
    email: EmailStr | None = None
    address: str | None = Field(None, max_length=500)
    locale: Literal["vi", "en"] | None = None
    external_id: str | None = Field(None, min_length=1, max_length=200)


class OwnerRead(Schema):
    model_config = ConfigDict(from_attributes=True)

    id: UUID
    external_id: str | None
    name: str
    kind: str
    phone: str | None
    email: str | None
    address: str | None
    locale: str
    created_at: datetime


class CameraFields(Schema):
    label: str = Field(min_length=1, max_length=300)
    lat: float = Lat
    lon: float = Lon
    address: str | None = Field(None, max_length=500)
    province: str | None = Field(None, max_length=120)
    district: str | None = Field(None, max_length=120)
    ward: str | None = Field(None, max_length=120)
    direction_deg: float | None = Field(None, ge=0, lt=360)
    fov_deg: float | None = Field(None, gt=0, le=360)
    range_m: float | None = Field(None, gt=0, le=10_000)
    indoor: bool = False
    recorder_make: str | None = Field(None, max_length=120)
    recorder_model: str | None = Field(None, max_length=120)
    recorder_firmware: str | None = Field(None, max_length=120)
    retention_days: int = Field(gt=0, le=3650)
    timezone: str = "Asia/Ho_Chi_Minh"
    programme: Programme = "private"
    status: CameraStatus = "active"
    last_verified_at: BoundedDatetime | None = None

    _zone = field_validator("timezone")(_check_zone)


class CameraCreate(CameraFields):
    owner_id: UUID
    external_id: str | None = Field(None, min_length=1, max_length=200)


class CameraUpdate(Schema):
    label: str | None = Field(None, min_length=1, max_length=300)
    lat: float | None = Field(None, ge=-90, le=90)
    lon: float | None = Field(None, ge=-180, le=180)
    address: str | None = Field(None, max_length=500)
    province: str | None = Field(None, max_length=120)
    district: str | None = Field(None, max_length=120)
    ward: str | None = Field(None, max_length=120)
    direction_deg: float | None = Field(None, ge=0, lt=360)
    fov_deg: float | None = Field(None, gt=0, le=360)
    range_m: float | None = Field(None, gt=0, le=10_000)
    indoor: bool | None = None
    recorder_make: str | None = Field(None, max_length=120)
    recorder_model: str | None = Field(None, max_length=120)
    recorder_firmware: str | None = Field(None, max_length=120)
    retention_days: int | None = Field(None, gt=0, le=3650)
    timezone: str | None = None
    programme: Programme | None = None
    status: CameraStatus | None = None
    last_verified_at: BoundedDatetime | None = None

    _zone = field_validator("timezone")(_check_zone)


class CameraRead(CameraFields):
    model_config = ConfigDict(from_attributes=True)

    id: UUID
    owner_id: UUID
    external_id: str | None
    created_at: datetime
    updated_at: datetime


class CameraHit(CameraRead):
    distance_m: float
    covers_point: bool | None
    consent: ConsentState
    overwrite_deadline: datetime
    overwritten: bool


class ConsentCreate(Schema):
    camera_id: UUID | None = None
    scope: ConsentScope
    valid_from: BoundedDatetime
    valid_until: BoundedDatetime | None = None
    terms_version: str = Field(min_length=1, max_length=50)
    legal_basis: str = Field(min_length=3, max_length=500)
    given_by: str | None = Field(None, max_length=300, description="Who gave it (default: the owner's name).")


class ConsentRead(Schema):
    model_config = ConfigDict(from_attributes=True)

    id: UUID
    owner_id: UUID
    camera_id: UUID | None
    scope: str
    valid_from: datetime
    valid_until: datetime | None
    terms_version: str
    legal_basis: str
    given_by: str
    recorded_at: datetime
    withdrawn_at: datetime | None
    withdrawn_reason: str | None


class WithdrawIn(Schema):
    reason: str = Field(min_length=3, max_length=1000)


class ImportError_(Schema):
    row: int
    field: str
    message: str
    code: str = Field("invalid", description="What was wrong, for a client to translate (e.g. owner_unknown).")
    params: dict[str, str] = Field(default_factory=dict, description="Limits named by the message, e.g. le.")


class ImportResult(Schema):
    created: int
    updated: int
    owners_created: int = 0
    errors: list[ImportError_]
