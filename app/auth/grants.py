"""Case grants: a prosecutor's sight of one case, given by the case unit's supervisor (or an admin) for a term.

The permission module reads these rows (a prosecutor's reach is the set of cases with a live grant); the
disclosure domain writes them, each grant and revocation with its custody event.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from uuid import UUID

from sqlalchemy import CheckConstraint, ForeignKey, Index, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base


class CaseGrant(Base):
    __tablename__ = "case_grants"

    id: Mapped[UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    # The cases table is the cases domain's, referenced by name (it sits above auth).
    case_id: Mapped[UUID] = mapped_column(ForeignKey("cases.id"))
    grantee_id: Mapped[UUID] = mapped_column(ForeignKey("users.id"))
    granted_by: Mapped[UUID] = mapped_column(ForeignKey("users.id"))
    granted_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    reason: Mapped[str] = mapped_column(Text)
    revoked_at: Mapped[datetime | None]
    revoked_by: Mapped[UUID | None] = mapped_column(ForeignKey("users.id"))

    __table_args__ = (
        CheckConstraint("expires_at > granted_at", name="term_positive"),
        CheckConstraint("length(reason) BETWEEN 1 AND 500", name="reason_length"),
        Index("ix_case_grants_grantee_case", "grantee_id", "case_id"),
        Index("ix_case_grants_case_id", "case_id"),
    )
