from __future__ import annotations

from datetime import datetime
from typing import Generic, TypeVar
from uuid import UUID

from pydantic import BaseModel, ConfigDict, EmailStr, Field, StrictBool

from app.auth.models import Role
from app.core.params import Schema
from app.core.phones import PhoneField

T = TypeVar("T")


class TokenRead(Schema):
    access_token: str
    token_type: str = "bearer"
    expires_in: int


class MeRead(Schema):
    model_config = ConfigDict(from_attributes=True)

    id: UUID
    email: str
    full_name: str
    role: Role
    unit_id: UUID | None
    owner_id: UUID | None


class UnitCreate(Schema):
    name: str = Field(min_length=1, max_length=200)
    code: str = Field(min_length=1, max_length=50, pattern=r"^[A-Za-z0-9_.-]+$")
    # the duty phone owners may call, e.g. "0243 826 0000" or "+84 24 3826 0000"; stored in E.164
    phone: PhoneField = None


class UnitRead(Schema):
    model_config = ConfigDict(from_attributes=True)

    id: UUID
    name: str
    code: str
    phone: str | None = None
    totp_required: bool = False
    created_at: datetime


class UnitUpdate(Schema):
    """What an admin changes of a unit: whether its investigators and supervisors need a TOTP code to sign in."""

    totp_required: StrictBool  # true or false only (not 0/1, not "yes")


class UserCreate(Schema):
    email: EmailStr
    password: str = Field(min_length=10, max_length=200)
    full_name: str = Field(min_length=1, max_length=200)
    role: Role
    unit_id: UUID | None = None
    owner_id: UUID | None = None


class UserUpdate(Schema):
    full_name: str | None = Field(None, min_length=1, max_length=200)
    role: Role | None = None
    unit_id: UUID | None = None


class PasswordResetRead(Schema):
    """The reset link, shown once to the admin (it was also sent to the user's email)."""

    user_id: UUID
    email: str
    url: str
    expires_at: datetime


class UserRead(MeRead):
    is_active: bool
    totp_enabled: bool = False
    created_at: datetime


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int
