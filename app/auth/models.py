"""Units, users, owner links and the append-only security trail."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, Integer, Text, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base
from app.core.enum_column import EnumText


class Role(enum.StrEnum):
    admin = "admin"
    investigator = "investigator"
    supervisor = "supervisor"
    owner = "owner"
    auditor = "auditor"
    # A procuracy or court officer: sees only the cases a supervisor granted them, for the grant's term.
    prosecutor = "prosecutor"


class Unit(Base):
    """A police unit (station, district team). Investigators and supervisors belong to one."""

    __tablename__ = "units"

    id: Mapped[UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    name: Mapped[str] = mapped_column(Text)
    code: Mapped[str] = mapped_column(Text, unique=True)
    # What owners are told to call about a request (shown on their link page and in every message to them).
    phone: Mapped[str | None] = mapped_column(Text)
    # Investigators and supervisors of this unit must sign in with a second factor (TOTP) too.
    totp_required: Mapped[bool] = mapped_column(default=False, server_default="false")
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())


class User(Base):
    __tablename__ = "users"

    id: Mapped[UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    email: Mapped[str] = mapped_column(Text, unique=True)
    password_hash: Mapped[str] = mapped_column(Text)
    full_name: Mapped[str] = mapped_column(Text)
    role: Mapped[Role] = mapped_column(EnumText(Role))
    unit_id: Mapped[UUID | None] = mapped_column(ForeignKey("units.id"))
    # The owner record an owner account acts for (the registry's table, referenced by name).
    owner_id: Mapped[UUID | None] = mapped_column(ForeignKey("owners.id"))
    is_active: Mapped[bool] = mapped_column(default=True)
    # Bumped to revoke every token issued before (logout, password change, deactivation).
    token_version: Mapped[int] = mapped_column(Integer, default=0)
    # The pages' language the user picked, whatever browser they sign in from; None until they pick one (then the
    # browser's language switch, else Vietnamese).
    locale: Mapped[str | None] = mapped_column(Text)
    # The authenticator's TOTP secret, encrypted (app/auth/totp.py); set during enrolment, in use once
    # `totp_enabled_at` is set.
    totp_secret: Mapped[str | None] = mapped_column(Text)
    totp_enabled_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())

    @property
    def totp_enabled(self) -> bool:
        return self.totp_enabled_at is not None

    __table_args__ = (
        CheckConstraint(
            "role IN ('admin','investigator','supervisor','owner','auditor','prosecutor')", name="role_known"
        ),
        CheckConstraint("locale IS NULL OR locale IN ('vi','en')", name="locale_known"),
        CheckConstraint("email = lower(email)", name="email_lower"),
        CheckConstraint("role NOT IN ('investigator','supervisor') OR unit_id IS NOT NULL", name="staff_have_unit"),
        CheckConstraint("role <> 'owner' OR owner_id IS NOT NULL", name="owner_has_owner_id"),
    )


class OwnerLink(Base):
    """A one-time link for an owner without an account, scoped to one extraction request.

    Only the SHA-256 of the 256-bit token is stored; the token itself leaves the server once, in the message.
    """

    __tablename__ = "owner_links"

    id: Mapped[UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    request_id: Mapped[UUID] = mapped_column(index=True)
    token_hash: Mapped[str] = mapped_column(Text, unique=True)
    created_by: Mapped[UUID | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]
    use_count: Mapped[int] = mapped_column(Integer, default=0)


class SecurityEvent(Base):
    """Append-only trail of logins, lock-outs, permission denials and owner-link uses (a trigger enforces it)."""

    __tablename__ = "security_events"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    at: Mapped[datetime]
    kind: Mapped[str] = mapped_column(Text)
    user_id: Mapped[UUID | None]
    email: Mapped[str | None] = mapped_column(Text)
    client_address: Mapped[str | None] = mapped_column(Text)
    method: Mapped[str | None] = mapped_column(Text)
    path: Mapped[str | None] = mapped_column(Text)
    details: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)

    __table_args__ = (
        Index("ix_security_events_kind_email_at", "kind", "email", "at"),
        Index("ix_security_events_kind_address_at", "kind", "client_address", "at"),
    )


class SecurityEventTally(Base):
    """Repeated probes of one kind from one client address (unknown owner links, refused sign-ins, rate-limited
    calls), counted in one row instead of a row each: a flood of probes cannot flood the trail."""

    __tablename__ = "security_event_tallies"

    kind: Mapped[str] = mapped_column(Text, primary_key=True)
    client_address: Mapped[str] = mapped_column(Text, primary_key=True)
    count: Mapped[int] = mapped_column(BigInteger)
    first_at: Mapped[datetime]
    last_at: Mapped[datetime]
    last_email: Mapped[str | None] = mapped_column(Text)
    last_path: Mapped[str | None] = mapped_column(Text)
    last_details: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)


class RecoveryCode(Base):
    """A one-time code that stands in for the authenticator (argon2id hash only; shown once, at enrolment)."""

    __tablename__ = "recovery_codes"

    id: Mapped[UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    user_id: Mapped[UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
