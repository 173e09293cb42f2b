from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field


class GrantCreate(BaseModel):
    grantee_email: str = Field(min_length=3, max_length=320, description="The prosecutor account's email.")
    expires_at: datetime = Field(description="End of the grant, ISO 8601 with offset; at most a year ahead.")
    reason: str = Field(min_length=1, max_length=500, description="Why the prosecutor needs the case.")


class GrantRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: UUID
    case_id: UUID
    grantee_id: UUID
    granted_by: UUID
    granted_at: datetime
    expires_at: datetime
    reason: str
    revoked_at: datetime | None
    revoked_by: UUID | None


class PackageCreate(BaseModel):
    clip_ids: list[UUID] = Field(default_factory=list, max_length=500, description="None named: every clip.")
    redaction_ids: list[UUID] = Field(
        default_factory=list,
        max_length=500,
        description="Rendered redacted copies handed over in place of their clips: each of a chosen clip, at most "
        "one per clip (GET /cases/{case_id}/disclosure lists each clip's copies).",
    )


class DisclosureRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: UUID
    case_id: UUID
    recipient_id: UUID
    created_at: datetime
    items: list[dict[str, Any]]
    receipt_sha256: str
    checkpoint_tree_size: int
    checkpoint_root: str
    acknowledged_at: datetime | None
    acknowledged_name: str | None


class Acknowledgement(BaseModel):
    name: str = Field(min_length=1, max_length=200, description="Who received the package.")


class RedactedCopyItem(BaseModel):
    """A rendered redacted copy of a clip, which a package may hold in place of the clip."""

    model_config = ConfigDict(from_attributes=True)

    id: UUID
    style: str
    sha256: str
    size: int
    parent_sha256: str
    mask_sha256: str
    rendered_at: datetime


class ClipItem(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: UUID
    sha256: str
    size: int
    container: str
    actual_start: datetime
    actual_end: datetime
    redactions: list[RedactedCopyItem] = Field(default_factory=list)


class CaseEvidenceRead(BaseModel):
    case_id: UUID
    number: str
    title: str
    grant_expires_at: datetime
    clips: list[ClipItem]
    disclosures: list[DisclosureRead]
