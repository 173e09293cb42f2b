from __future__ import annotations

from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from pydantic import ConfigDict, Field

from app.core.params import FiniteFloat, IsoDateTime, Schema
from app.extractions.schemas import RequestRead, TransitionRead
from app.footage.models import ClockCheckMethod, ClockOffsetSource


class MediaRead(Schema):
    container: str | None = None
    video_codec: str | None = None
    audio_codec: str | None = None
    duration_s: float | None = None
    start_time_s: float | None = None
    width: int | None = None
    height: int | None = None
    frame_rate: float | None = None


class PlaybackCopyRead(Schema):
    """The MP4 playback copy of an original in a container browsers cannot play: the same video frames moved by
    stream copy (no re-encoding), with the same frame times; a derivative, the original is unchanged."""

    model_config = ConfigDict(from_attributes=True)

    id: UUID
    sha256: str
    size: int
    version_id: str
    media: dict[str, Any]
    parent_sha256: str
    parent_version_id: str
    tool: str
    tool_version: str
    command: list[str]
    retention_mode: str
    retain_until: datetime
    created_at: datetime


class OriginalRead(Schema):
    model_config = ConfigDict(from_attributes=True)

    id: UUID
    # null for a file a resident sent through a community appeal: it belongs to the case alone
    request_id: UUID | None
    case_id: UUID | None = None  # set (only) when request_id is null: the case the appeal's file belongs to
    appeal_submission_id: UUID | None = None  # the accepted appeal submission it became an original from
    sha256: str
    size: int
    version_id: str
    filename: str
    media: MediaRead
    frame_rate_assumed: bool
    recording_start_recorder: datetime
    recording_start_stated: str
    clock_offset_s: float
    clock_offset_source: ClockOffsetSource
    clock_check_id: UUID | None
    recording_start_true: datetime
    recording_start_source: str
    vendor_format: str | None = None
    needs_conversion: bool = False
    conversion_message: str | None = None
    parent_original_id: UUID | None = None
    parent_sha256: str | None = None
    conversion_tool: str | None = None
    conversion_tool_version: str | None = None
    # The request's latest transition when the file arrived: the files of one export arrived after it opened.
    arrived_after_transition_id: int | None = None
    uploaded_by: str
    received_at: datetime
    retention_mode: str
    retain_until: datetime
    legal_hold: bool


class OriginalRecord(OriginalRead):
    """GET /originals/{id}: the original's record with its playback copy (null when it has none)."""

    playback_copy: PlaybackCopyRead | None = None


class ClipParentRead(Schema):
    model_config = ConfigDict(from_attributes=True)

    original_id: UUID
    sha256: str


class ClipRead(Schema):
    model_config = ConfigDict(from_attributes=True)

    id: UUID
    original_id: UUID
    request_id: UUID | None  # null for a clip of an appeal's file: it belongs to the case alone
    case_id: UUID | None = None  # set when request_id is null
    parent_sha256: str
    sha256: str
    size: int
    version_id: str
    container: str
    requested_start: datetime
    requested_end: datetime
    actual_start: datetime
    actual_end: datetime
    # Media time of the first video frame: 0 (the frame at media time t is at actual_start + t); null for a clip cut
    # before clips were made zero-based, whose timestamps kept their offsets in the original.
    first_pts_s: float | None = None
    clock_offset_s: float
    clock_offset_source: ClockOffsetSource
    clock_check_id: UUID | None
    shortfall: dict[str, Any]
    tool: str
    tool_version: str
    command: list[str]
    created_at: datetime
    retain_until: datetime
    # Every file the clip was cut from, in timeline order (the first is original_id / parent_sha256).
    parents: list[ClipParentRead] = []


class ExportFileRead(Schema):
    original_id: UUID
    sha256: str
    start: datetime  # true time
    end: datetime


class ExportJunctionRead(Schema):
    before_original_id: UUID
    after_original_id: UUID
    start: datetime
    end: datetime
    seconds: float


class ExportRead(Schema):
    """The current export's files on the true timeline, the gaps and overlaps between them, and how the clip was
    cut: from one file, across several joined (`concat`), or one clip per file when they differ in codec."""

    files: list[ExportFileRead]
    gaps: list[ExportJunctionRead]
    overlaps: list[ExportJunctionRead]
    clip_mode: str | None = None
    clip_note: str | None = None


class RequestDetail(RequestRead):
    history: list[TransitionRead]
    originals: list[OriginalRead]
    clips: list[ClipRead]
    export: ExportRead | None = None


class DownloadLinkIn(Schema):
    purpose: str = Field(min_length=3, max_length=500)
    expires_in_s: int | None = Field(None, gt=0)
    # what the link is for: saving the file, or playing it in the browser (both deliver a ready clip)
    use: Literal["download", "play"] = "download"


class DownloadLinkRead(Schema):
    url: str
    expires_at: datetime
    sha256: str
    version_id: str


class OriginalReceived(Schema):
    id: UUID
    sha256: str
    size: int
    version_id: str
    media: MediaRead
    frame_rate_assumed: bool
    recording_start_recorder: datetime
    recording_start_source: str = "header"
    clock_offset_s: float
    clock_offset_source: ClockOffsetSource
    clock_check_id: UUID | None
    needs_conversion: bool = False
    conversion_message: str | None = None
    parent_original_id: UUID | None = None


class ClockCheckIn(Schema):
    # What the recorder's screen shows now, as read: naive local time, read in the camera's time zone.
    displayed: IsoDateTime = Field(examples=["2026-11-23T20:14:05"])
    method: ClockCheckMethod | None = None
    # Seconds between reading the screen and sending, by the client's own elapsed-time clock (so the client's
    # wrong wall clock does not matter); given, the reading is dated that much before receipt, more precisely.
    read_ago_s: FiniteFloat | None = Field(None, ge=0, le=600)


class ClockCheckRead(Schema):
    model_config = ConfigDict(from_attributes=True)

    id: UUID
    request_id: UUID
    offset_seconds: float
    method: ClockCheckMethod
    measured_at: datetime
    uncertainty_s: float
    displayed: str
    measured_by: str
    photo_sha256: str | None = None
    photo_version_id: str | None = None
