"""Originals (native recorder exports, never modified) and clips (stream-copied derivatives)."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, Text, UniqueConstraint
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.db import Base
from app.core.enum_column import EnumText

# What the API says of a file kept for conversion (the decoder's own words stay in the record, not in the API).
CONVERSION_MESSAGE = (
    "No player here opens this file. An investigator converts it with the recorder maker's player or tool and "
    "uploads the converted copy; the clip is cut from that copy."
)


class ClockCheckMethod(enum.StrEnum):
    """How the recorder's screen was read."""

    owner_reading = "owner_reading"  # the owner typed what the screen shows
    investigator_on_site = "investigator_on_site"  # an investigator read it at the recorder
    photo = "photo"  # a photo of the screen, kept as evidence


class ClockOffsetSource(enum.StrEnum):
    """Where an original's recorder clock offset came from."""

    header = "header"  # stated by the uploader (X-Clock-Offset-Seconds)
    clock_check = "clock_check"  # the request's latest clock check
    none = "none"  # neither: taken as 0


class ClockCheck(Base):
    """One reading of the recorder's screen paired with the server's true time at receipt. Never changed."""

    __tablename__ = "clock_checks"

    id: Mapped[UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    request_id: Mapped[UUID] = mapped_column(ForeignKey("extraction_requests.id"), index=True)
    camera_id: Mapped[UUID] = mapped_column(ForeignKey("cameras.id"), index=True)
    method: Mapped[ClockCheckMethod] = mapped_column(EnumText(ClockCheckMethod))
    # What the person typed (as sent) and that reading in UTC, read in the camera's time zone.
    displayed_stated: Mapped[str] = mapped_column(Text)
    displayed_at: Mapped[datetime]
    # True time of the reading: the server's clock at receipt, less the client's stated delay (read_ago_s).
    measured_at: Mapped[datetime]
    received_at: Mapped[datetime]
    read_ago_s: Mapped[float | None]
    offset_s: Mapped[float]  # recorder minus true time
    uncertainty_s: Mapped[float]
    measured_by: Mapped[str] = mapped_column(Text)
    client_address: Mapped[str | None] = mapped_column(Text)
    # The photo of the recorder's screen (method "photo"), locked like an original.
    photo_object_key: Mapped[str | None] = mapped_column(Text)
    photo_version_id: Mapped[str | None] = mapped_column(Text)
    photo_sha256: Mapped[str | None] = mapped_column(Text)
    photo_size: Mapped[int | None] = mapped_column(BigInteger)
    photo_content_type: Mapped[str | None] = mapped_column(Text)

    @property
    def offset_seconds(self) -> float:
        return self.offset_s

    @property
    def displayed(self) -> str:
        return self.displayed_stated

    __table_args__ = (
        CheckConstraint("method IN ('owner_reading','investigator_on_site','photo')", name="method_known"),
        CheckConstraint("offset_s BETWEEN -604800 AND 604800", name="offset_within_week"),
        CheckConstraint("uncertainty_s >= 0 AND uncertainty_s <= 3600", name="uncertainty_bounded"),
        CheckConstraint("read_ago_s IS NULL OR read_ago_s BETWEEN 0 AND 600", name="read_ago_bounded"),
        CheckConstraint(
            "(method = 'photo') = (photo_object_key IS NOT NULL AND photo_version_id IS NOT NULL "
            "AND photo_sha256 IS NOT NULL)",
            name="photo_with_photo_method",
        ),
        Index("ix_clock_checks_request_measured", "request_id", "measured_at"),
    )


class Original(Base):
    """A file as it arrived, never modified. Most come from an extraction request; a resident's file accepted
    from a community appeal is an original of its case without a request (request_id NULL, case_id and
    appeal_submission_id set), pointing at the submission's own locked object: no copy is made."""

    __tablename__ = "originals"

    id: Mapped[UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    request_id: Mapped[UUID | None] = mapped_column(ForeignKey("extraction_requests.id"), index=True)
    # Set for an accepted appeal submission (named by table, not imported: appeals sits above footage).
    case_id: Mapped[UUID | None] = mapped_column(ForeignKey("cases.id"), index=True)
    appeal_submission_id: Mapped[UUID | None] = mapped_column(ForeignKey("appeal_submissions.id"), unique=True)
    object_key: Mapped[str] = mapped_column(Text)
    version_id: Mapped[str] = mapped_column(Text)
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(Text, index=True)
    client_sha256: Mapped[str | None] = mapped_column(Text)
    filename: Mapped[str] = mapped_column(Text)
    media: Mapped[dict[str, Any]] = mapped_column(JSONB)
    frame_rate_assumed: Mapped[bool] = mapped_column(default=False)
    # The recorder's clock at the first frame, as stated by the uploader, and the recorder's offset from
    # true time (recorder minus true, seconds) measured at extraction.
    recording_start_recorder: Mapped[datetime]
    recording_start_stated: Mapped[str] = mapped_column(Text)
    clock_offset_s: Mapped[float] = mapped_column(default=0.0)
    # Where clock_offset_s came from (ClockOffsetSource) and, from a clock check, which one.
    clock_offset_source: Mapped[ClockOffsetSource] = mapped_column(
        EnumText(ClockOffsetSource), default=ClockOffsetSource.none
    )
    clock_check_id: Mapped[UUID | None] = mapped_column(ForeignKey("clock_checks.id"))
    uploaded_by: Mapped[str] = mapped_column(Text)
    client_address: Mapped[str | None] = mapped_column(Text)
    received_at: Mapped[datetime]
    retention_mode: Mapped[str] = mapped_column(Text)
    retain_until: Mapped[datetime]
    legal_hold: Mapped[bool] = mapped_column(default=True)
    deleted_at: Mapped[datetime | None]  # the version was deleted at the end of its retention
    # When the retention and legal hold above were set on the object in S3. The row commits first and the lock
    # follows (a refused or failed upload leaves nothing locked); None while that is pending, and the
    # finish-locks sweep sets the lock of any row a crash left between the two.
    lock_applied_at: Mapped[datetime | None]
    # Where recording_start_recorder came from: the file's own stamps, the uploader's header, or the file name;
    # for an appeal's file, the time its sender stated ("sender") or, when they stated none, its arrival.
    recording_start_source: Mapped[str] = mapped_column(Text, server_default="header")
    # A vendor format no reader here decodes, kept on the uploader's word: ffmpeg's own words stay internal.
    vendor_format: Mapped[str | None] = mapped_column(Text)
    needs_conversion: Mapped[bool] = mapped_column(server_default="false")
    decode_error: Mapped[str | None] = mapped_column(Text)
    # A converted copy of such an original: its parent and the converting tool, as the investigator stated them.
    parent_original_id: Mapped[UUID | None] = mapped_column(ForeignKey("originals.id"))
    parent_sha256: Mapped[str | None] = mapped_column(Text)
    conversion_tool: Mapped[str | None] = mapped_column(Text)
    conversion_tool_version: Mapped[str | None] = mapped_column(Text)
    # The request's latest transition when this file arrived: the files of one export are those that arrived
    # after the request last opened to footage (app.footage.segments). NULL for files recorded before it existed.
    arrived_after_transition_id: Mapped[int | None] = mapped_column(ForeignKey("request_transitions.id"))

    @property
    def conversion_message(self) -> str | None:
        return CONVERSION_MESSAGE if self.needs_conversion else None

    @property
    def recording_start_true(self) -> datetime:
        """The first frame in true time: the recorder's clock minus its offset."""
        return self.recording_start_recorder - timedelta(seconds=self.clock_offset_s)

    __table_args__ = (
        UniqueConstraint("object_key", "version_id", name="uq_originals_object_version"),
        CheckConstraint("size > 0", name="size_positive"),
        CheckConstraint("length(sha256) = 64", name="sha256_hex"),
        # PostgreSQL orders NaN above every number, so this also refuses NaN and the infinities.
        CheckConstraint("clock_offset_s BETWEEN -604800 AND 604800", name="clock_offset_finite"),
        CheckConstraint(
            "clock_offset_source IN ('header','clock_check','none') "
            "AND (clock_offset_source = 'clock_check') = (clock_check_id IS NOT NULL)",
            name="clock_offset_source_known",
        ),
        CheckConstraint(
            "recording_start_source IN ('file', 'header', 'filename', 'sender', 'received')",
            name="recording_start_source_known",
        ),
        CheckConstraint(
            "(request_id IS NOT NULL AND appeal_submission_id IS NULL) "
            "OR (request_id IS NULL AND appeal_submission_id IS NOT NULL AND case_id IS NOT NULL)",
            name="of_request_or_appeal",
        ),
    )


class Clip(Base):
    __tablename__ = "clips"

    id: Mapped[UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    original_id: Mapped[UUID] = mapped_column(ForeignKey("originals.id"), index=True)
    # The request of its original; NULL for a clip of an appeal's original, which names its case instead.
    request_id: Mapped[UUID | None] = mapped_column(ForeignKey("extraction_requests.id"), index=True)
    case_id: Mapped[UUID | None] = mapped_column(ForeignKey("cases.id"), index=True)
    parent_sha256: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(Text, index=True)
    size: Mapped[int] = mapped_column(BigInteger)
    object_key: Mapped[str] = mapped_column(Text)
    version_id: Mapped[str] = mapped_column(Text)
    container: Mapped[str] = mapped_column(Text)
    # All four in true time (UTC, recorder clock offset removed).
    requested_start: Mapped[datetime]
    requested_end: Mapped[datetime]
    actual_start: Mapped[datetime]
    actual_end: Mapped[datetime]
    # The media time of the clip's first video frame: 0 for a clip cut zero-based (its frame at media time t is at
    # true time actual_start + t); NULL for a clip cut before, whose timestamps kept their offsets in the original.
    first_pts_s: Mapped[float | None]
    # The recorder clock offset removed to place the cut in true time, and where it came from (the parent's).
    clock_offset_s: Mapped[float] = mapped_column(default=0.0)
    clock_offset_source: Mapped[ClockOffsetSource] = mapped_column(
        EnumText(ClockOffsetSource), default=ClockOffsetSource.none
    )
    clock_check_id: Mapped[UUID | None] = mapped_column(ForeignKey("clock_checks.id"))
    shortfall: Mapped[dict[str, Any]] = mapped_column(JSONB)
    tool: Mapped[str] = mapped_column(Text)
    tool_version: Mapped[str] = mapped_column(Text)
    command: Mapped[list[str]] = mapped_column(JSONB)
    created_at: Mapped[datetime]
    retention_mode: Mapped[str] = mapped_column(Text)
    retain_until: Mapped[datetime]
    legal_hold: Mapped[bool] = mapped_column(default=True)
    deleted_at: Mapped[datetime | None]  # the version was deleted at the end of its retention
    # Every file the clip was cut from, in timeline order; the first is original_id / parent_sha256.
    parents: Mapped[list[ClipParent]] = relationship(order_by="ClipParent.position", lazy="selectin", viewonly=True)

    __table_args__ = (
        # One clip per original and requested window: a retried job finds it instead of making another.
        UniqueConstraint("original_id", "requested_start", "requested_end", name="uq_clips_original_window"),
        CheckConstraint("length(sha256) = 64 AND length(parent_sha256) = 64", name="hashes_hex"),
        CheckConstraint(
            "clock_offset_source IN ('header','clock_check','none') "
            "AND (clock_offset_source = 'clock_check') = (clock_check_id IS NOT NULL)",
            name="clock_offset_source_known",
        ),
        CheckConstraint("request_id IS NOT NULL OR case_id IS NOT NULL", name="of_request_or_case"),
    )


class ClipParent(Base):
    """One file a clip was cut from: a clip across an export in several files names each, with its hash."""

    __tablename__ = "clip_parents"

    clip_id: Mapped[UUID] = mapped_column(ForeignKey("clips.id"), primary_key=True)
    original_id: Mapped[UUID] = mapped_column(ForeignKey("originals.id"), primary_key=True, index=True)
    position: Mapped[int]  # order on the true timeline, from 0
    sha256: Mapped[str] = mapped_column(Text)

    __table_args__ = (
        UniqueConstraint("clip_id", "position", name="uq_clip_parents_position"),
        CheckConstraint("length(sha256) = 64", name="sha256_hex"),
        CheckConstraint("position >= 0", name="position_natural"),
    )
