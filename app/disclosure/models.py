"""A disclosure: one package of a case's evidence handed to a prosecutor, its receipt and its acknowledgement."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, LargeBinary, Text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base


class Disclosure(Base):
    __tablename__ = "disclosures"

    id: Mapped[UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    case_id: Mapped[UUID] = mapped_column(ForeignKey("cases.id"))
    grant_id: Mapped[UUID] = mapped_column(ForeignKey("case_grants.id"))
    recipient_id: Mapped[UUID] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime]
    # Every item of the package: name, kind, object id, SHA-256, size, the custody event recording it and the
    # checkpoint covering that event (as the receipt lists them).
    items: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)
    receipt_sha256: Mapped[str] = mapped_column(Text)
    receipt_pdf: Mapped[bytes] = mapped_column(LargeBinary)
    # The custody bundle exactly as listed on the receipt (its export event records the same hash).
    bundle_zip: Mapped[bytes] = mapped_column(LargeBinary)
    checkpoint_tree_size: Mapped[int] = mapped_column(BigInteger)
    checkpoint_root: Mapped[str] = mapped_column(Text)
    acknowledged_at: Mapped[datetime | None]
    acknowledged_name: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        CheckConstraint("length(receipt_sha256) = 64", name="receipt_hash_hex"),
        Index("ix_disclosures_case_id", "case_id"),
    )
