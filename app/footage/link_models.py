"""Evidence links: a short-lived address of one object version that the service itself answers, so that every
fetch of the bytes (not only the link's issue) is written to the custody log before the redirect to storage."""

from __future__ import annotations

import uuid
from datetime import datetime
from uuid import UUID

from sqlalchemy import CheckConstraint, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base


class EvidenceLink(Base):
    """One issued link. Only the SHA-256 of its token is kept: the token itself is the credential."""

    __tablename__ = "evidence_links"

    id: Mapped[UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    token_sha256: Mapped[str] = mapped_column(Text, unique=True)
    object_type: Mapped[str] = mapped_column(Text)  # "original" | "clip"
    object_id: Mapped[UUID] = mapped_column(index=True)
    # The exact version the link opens: a later version under the same key is never served through it.
    object_key: Mapped[str] = mapped_column(Text)
    version_id: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(Text)
    filename: Mapped[str] = mapped_column(Text)
    case_id: Mapped[UUID | None]
    purpose: Mapped[str] = mapped_column(Text)
    issued_by: Mapped[str] = mapped_column(Text)  # the custody log's name of the actor it was issued to
    issued_at: Mapped[datetime]
    expires_at: Mapped[datetime]

    __table_args__ = (
        CheckConstraint("object_type IN ('original', 'clip')", name="object_type_known"),
        CheckConstraint("length(token_sha256) = 64 AND length(sha256) = 64", name="hashes_hex"),
        CheckConstraint("expires_at > issued_at", name="expires_after_issue"),
    )
