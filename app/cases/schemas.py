"""Case payloads. Shape is checked here; rules (window order after a patch, lead's unit) in the service."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

from pydantic import ConfigDict, Field, StringConstraints

from app.cases.models import CaseStatus
from app.core.params import Schema, UtcDatetime

Text200 = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Text2000 = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]
CaseNumber = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
Latitude = Annotated[float, Field(ge=-90, le=90)]
Longitude = Annotated[float, Field(ge=-180, le=180)]


class CaseCreate(Schema):
    model_config = ConfigDict(extra="forbid")

    number: CaseNumber
    title: Text200
    offence: Text200
    incident_lat: Latitude
    incident_lon: Longitude
    incident_start: UtcDatetime
    incident_end: UtcDatetime
    lead_investigator_id: UUID | None = Field(None, description="Default: the investigator opening the case.")
    district: str | None = Field(None, max_length=120, description="A district of GET /districts, by name or code.")
    ward: str | None = Field(None, max_length=120)


class CaseUpdate(Schema):
    """Fields left out stay as they are; `null` is refused for required fields."""

    model_config = ConfigDict(extra="forbid")

    number: CaseNumber | None = None
    title: Text200 | None = None
    offence: Text200 | None = None
    incident_lat: Latitude | None = None
    incident_lon: Longitude | None = None
    incident_start: UtcDatetime | None = None
    incident_end: UtcDatetime | None = None
    lead_investigator_id: UUID | None = None
    retention_category: str | None = Field(
        None, min_length=1, max_length=50, description="Code of a retention category (GET /retention-categories)."
    )
    district: str | None = Field(None, max_length=120, description="A district of GET /districts, by name or code.")
    ward: str | None = Field(None, max_length=120)


class CaseClose(Schema):
    model_config = ConfigDict(extra="forbid")

    outcome: Text200
    footage_contributed: bool


class CaseRead(Schema):
    model_config = ConfigDict(from_attributes=True)

    id: UUID
    number: str
    title: str
    offence: str
    incident_lat: float
    incident_lon: float
    incident_start: datetime
    incident_end: datetime
    unit_id: UUID
    lead_investigator_id: UUID
    status: CaseStatus
    outcome: str | None
    footage_contributed: bool | None
    created_by: UUID
    created_at: datetime
    updated_at: datetime
    closed_at: datetime | None
    closed_by: UUID | None
    retention_category: str | None
    district: str | None = None
    ward: str | None = None


class CasePage(Schema):
    items: list[CaseRead]
    total: int


class RetentionCategoryCreate(Schema):
    model_config = ConfigDict(extra="forbid")

    code: str = Field(min_length=1, max_length=50, pattern=r"^[a-z0-9_]+$")
    name: str = Field(min_length=1, max_length=200)
    retention_days: float = Field(gt=0, le=36500, description="How long evidence stays locked; fractions allowed.")
    mode: Literal["COMPLIANCE", "GOVERNANCE"] = "COMPLIANCE"
    description: str | None = Field(None, max_length=2000)


class RetentionCategoryRead(Schema):
    code: str
    name: str
    retention_days: float
    mode: str
    description: str | None


class LegalHoldIn(Schema):
    """Why a manual legal hold is placed on (or released from) a case's evidence."""

    model_config = ConfigDict(extra="forbid")

    reason: Text2000


class HeldObject(Schema):
    object_type: Literal["original", "clip"]
    id: UUID
    legal_hold: bool


class LegalHoldRead(Schema):
    case_id: UUID
    manual_hold: bool
    reason: str | None
    objects: list[HeldObject]
