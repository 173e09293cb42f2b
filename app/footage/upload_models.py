"""Resumable uploads in progress (tus 1.0): everything needed to take one up again on any process."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, LargeBinary, Text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base


class ResumableUpload(Base):
    """One upload: where its bytes go (an S3 multipart upload), how far it is, and the SHA-256 state of the
    bytes taken so far. `offset` counts only bytes that are safe: in a sent part or in `tail` (the bytes after
    the last part, under one part in size, kept as `UploadTailSlice` rows until a request completes a part)."""

    __tablename__ = "resumable_uploads"

    id: Mapped[UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    request_id: Mapped[UUID] = mapped_column(ForeignKey("extraction_requests.id"), index=True)
    # Who may go on with it: the account that created it, or (for an owner link) anyone holding its URL while
    # the link is live — the URL carries 122 random bits, as the link carries its own.
    user_id: Mapped[UUID | None]
    link_id: Mapped[UUID | None]
    length: Mapped[int] = mapped_column(BigInteger)
    offset: Mapped[int] = mapped_column(BigInteger, default=0)
    upload_headers: Mapped[dict[str, Any]] = mapped_column(JSONB)  # the recorder headers, as a PUT takes them
    original_id: Mapped[UUID]  # reserved at creation: the object key names it
    object_key: Mapped[str] = mapped_column(Text)
    multipart_id: Mapped[str] = mapped_column(Text)
    sha256_state: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime] = mapped_column(index=True)
    completed_at: Mapped[datetime | None]  # the original is recorded; the row stays until it expires

    __table_args__ = (
        CheckConstraint("length > 0", name="length_positive"),
        CheckConstraint('"offset" >= 0 AND "offset" <= length', name="offset_in_range"),
        CheckConstraint("(user_id IS NULL) <> (link_id IS NULL)", name="one_holder"),
    )


class UploadedPart(Base):
    """A part of a resumable upload the S3 server has acknowledged (its ETag and CRC32 complete the upload)."""

    __tablename__ = "resumable_upload_parts"

    upload_id: Mapped[UUID] = mapped_column(ForeignKey("resumable_uploads.id", ondelete="CASCADE"), primary_key=True)
    number: Mapped[int] = mapped_column(primary_key=True)
    etag: Mapped[str] = mapped_column(Text)
    crc32: Mapped[int] = mapped_column(BigInteger)
    size: Mapped[int] = mapped_column(BigInteger)


class UploadTailSlice(Base):
    """A slice of an upload's tail (the bytes after its last sent part), in order of `seq`. A row per slice,
    so keeping a tail writes each byte once and taking it up reads each byte once (one bytea value grown by
    appending would be rewritten whole at every append)."""

    __tablename__ = "resumable_upload_tail"

    upload_id: Mapped[UUID] = mapped_column(ForeignKey("resumable_uploads.id", ondelete="CASCADE"), primary_key=True)
    seq: Mapped[int] = mapped_column(primary_key=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)


class UploadClaim(Base):
    """A request's upload in progress: taken before the body streams, so a second upload of the whole export
    is refused at once (409) instead of after it streamed. The upload renews `claimed_at` while it runs and
    drops the row in the transaction that records the original; a claim not renewed for UPLOAD_CLAIM_SECONDS
    (its process died) is stale and the next upload takes it over."""

    __tablename__ = "upload_claims"

    request_id: Mapped[UUID] = mapped_column(ForeignKey("extraction_requests.id"), primary_key=True)
    token: Mapped[UUID]
    claimed_by: Mapped[str] = mapped_column(Text)
    claimed_at: Mapped[datetime]
