"""Shapes of the lifecycle's end (closing, asking again), staff notifications and the supervisor's view."""

from __future__ import annotations

from datetime import datetime
from typing import Literal
from uuid import UUID

from pydantic import Field, model_validator

from app.core.params import BoundedDatetime, Schema

CloseResult = Literal["useful", "not_useful", "no_footage"]


class CloseIn(Schema):
    result: CloseResult
    reason: str | None = Field(None, max_length=2000)


class ReRequestIn(Schema):
    """The corrected window (true time, with offset) for the same camera, purpose and legal basis."""

    window_start: BoundedDatetime
    window_end: BoundedDatetime

    @model_validator(mode="after")
    def _ordered(self) -> ReRequestIn:
        if self.window_end <= self.window_start:
            raise ValueError("window_end must be after window_start")
        return self


class StaffNotificationRead(Schema):
    id: UUID
    kind: str
    request_id: UUID | None
    case_id: UUID | None
    text: str
    created_at: datetime
    read_at: datetime | None


class ReadAllResult(Schema):
    marked: int


WaitingOn = Literal["owner", "investigator", "service"]


class SupervisedRequest(Schema):
    id: UUID
    case_id: UUID
    case_number: str
    camera_label: str
    camera_timezone: str
    owner_name: str
    owner_phone: str | None
    filed_by: str
    status: str
    created_at: datetime
    overwrite_deadline: datetime
    at_risk: bool
    # who must act next and what for: the owner (answer, upload), the service (cut the clip), the investigator
    # (convert, download, close)
    waiting_on: WaitingOn
    waiting_for: str
    waiting_since: datetime
    waiting_s: int
    time_to_answer_s: int | None
