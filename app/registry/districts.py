"""The province's list of districts: seeded with Thanh Hóa's, edited by admins, used to place cases and cameras."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, Field, StrictBool
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.auth.permissions import Actor, ensure_role
from app.core import clock
from app.core.errors import Conflict, NotFound, RuleViolation
from app.registry.models import District

PROVINCE = "Thanh Hóa"
# Thanh Hóa's district-level units: 2 cities, 2 towns, 23 rural districts (code, name, kind). The codes are the
# General Statistics Office's.
THANH_HOA: tuple[tuple[str, str, str], ...] = (
    ("380", "Thành phố Thanh Hóa", "city"),
    ("381", "Thị xã Bỉm Sơn", "town"),
    ("382", "Thành phố Sầm Sơn", "city"),
    ("384", "Huyện Mường Lát", "district"),
    ("385", "Huyện Quan Hóa", "district"),
    ("386", "Huyện Bá Thước", "district"),
    ("387", "Huyện Quan Sơn", "district"),
    ("388", "Huyện Lang Chánh", "district"),
    ("389", "Huyện Ngọc Lặc", "district"),
    ("390", "Huyện Cẩm Thủy", "district"),
    ("391", "Huyện Thạch Thành", "district"),
    ("392", "Huyện Hà Trung", "district"),
    ("393", "Huyện Vĩnh Lộc", "district"),
    ("394", "Huyện Yên Định", "district"),
    ("395", "Huyện Thọ Xuân", "district"),
    ("396", "Huyện Thường Xuân", "district"),
    ("397", "Huyện Triệu Sơn", "district"),
    ("398", "Huyện Thiệu Hóa", "district"),
    ("399", "Huyện Hoằng Hóa", "district"),
    ("400", "Huyện Hậu Lộc", "district"),
    ("401", "Huyện Nga Sơn", "district"),
    ("402", "Huyện Như Xuân", "district"),
    ("403", "Huyện Như Thanh", "district"),
    ("404", "Huyện Nông Cống", "district"),
    ("405", "Huyện Đông Sơn", "district"),
    ("406", "Huyện Quảng Xương", "district"),
    ("407", "Thị xã Nghi Sơn", "town"),
)
CODE = re.compile(r"^[0-9A-Za-z_-]{1,20}$")


class DistrictCreate(BaseModel):
    code: str = Field(min_length=1, max_length=20, description="The statistics office's code, or one of your own.")
    name: str = Field(min_length=1, max_length=120)
    kind: Literal["city", "town", "district"] = "district"
    province: str = Field(PROVINCE, min_length=1, max_length=120)


class DistrictUpdate(BaseModel):
    name: str | None = Field(None, min_length=1, max_length=120)
    kind: Literal["city", "town", "district"] | None = None
    active: StrictBool | None = None  # true or false, not 0 / 1 / "yes"


class DistrictRead(BaseModel):
    model_config = {"from_attributes": True}

    code: str
    name: str
    kind: str
    province: str
    active: bool


def list_districts(session: Session, *, active_only: bool = False) -> list[District]:
    statement = select(District).order_by(District.code)
    if active_only:
        statement = statement.where(District.active.is_(True))
    return list(session.scalars(statement))


def create_district(session: Session, actor: Actor, body: DistrictCreate) -> District:
    """Admins add a district; code and name are each unique."""
    ensure_role(actor, "districts.write")
    if not CODE.match(body.code):
        raise RuleViolation("code", "letters, digits, - and _ only, at most 20")
    if session.get(District, body.code) is not None:
        raise Conflict(f"a district with code {body.code} exists")
    _name_free(session, body.name.strip(), None)
    district = District(code=body.code, name=body.name.strip(), kind=body.kind, province=body.province.strip())
    district.updated_at = clock.now()
    session.add(district)
    session.flush()
    return district


def update_district(session: Session, actor: Actor, code: str, body: DistrictUpdate) -> District:
    """Admins rename a district, change its kind, or retire it (retired ones stay in the statistics)."""
    ensure_role(actor, "districts.write")
    district = session.get(District, code)
    if district is None:
        raise NotFound(f"no district with code {code}")
    if body.name is not None and body.name.strip() != district.name:
        _name_free(session, body.name.strip(), code)
        district.name = body.name.strip()
    if body.kind is not None:
        district.kind = body.kind
    if body.active is not None:
        district.active = body.active
    district.updated_at = clock.now()
    session.flush()
    return district


def _name_free(session: Session, name: str, code: str | None) -> None:
    taken = session.scalar(select(District.code).where(District.name == name))
    if taken is not None and taken != code:
        raise Conflict(f"the name {name} is already the district {taken}'s")


def known_district(session: Session, field: str, name: str | None) -> str | None:
    """A district named by a case or camera: one of the list's (by name or code), stored by its name."""
    if name is None or not name.strip():
        return None
    value = name.strip()
    found = session.scalar(select(District.name).where((District.name == value) | (District.code == value)))
    if found is None:
        raise RuleViolation(field, "must be a district of the province's list (GET /api/v1/districts)")
    return found
