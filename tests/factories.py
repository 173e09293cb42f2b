"""Factories for test data, created through the real services and committed to the real database."""

from __future__ import annotations

import re
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from uuid import UUID

import httpx
import pyotp
from fastapi.testclient import TestClient

from app.auth import service as auth
from app.auth import two_factor
from app.auth.models import Role
from app.auth.schemas import UnitCreate, UserCreate
from app.core import clock
from app.core.config import get_settings
from app.core.db import session_factory

PASSWORD = "correct horse battery staple"


@dataclass
class Account:
    id: UUID
    email: str
    role: Role
    unit_id: UUID | None
    owner_id: UUID | None
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def make_unit(code: str | None = None, name: str = "Công an phường Bến Nghé") -> UUID:
    with session_factory()() as session, session.begin():
        return auth.create_unit(session, UnitCreate(name=name, code=code or f"U{secrets.token_hex(4)}")).id


# The authenticator secrets of the users the factories enrolled (admins and auditors must sign in with a code).
TOTP_SECRETS: dict[str, str] = {}


def totp_code(email: str) -> str:
    """The code the user's authenticator shows now (by the service's clock, which tests may freeze)."""
    return pyotp.TOTP(TOTP_SECRETS[email]).at(clock.now())


def make_user(role: Role, *, unit_id: UUID | None = None, owner_id: UUID | None = None) -> tuple[UUID, str]:
    """A user signing in with PASSWORD; admins and auditors enrolled in two-factor sign-in (see `totp_code`)."""
    email = f"{role.value}-{secrets.token_hex(4)}@example.org"
    if role in (Role.investigator, Role.supervisor) and unit_id is None:
        unit_id = make_unit()
    with session_factory()() as session, session.begin():
        user = auth.create_user(
            session,
            UserCreate(
                email=email,
                password=PASSWORD,
                full_name=f"Test {role.value}",
                role=role,
                unit_id=unit_id,
                owner_id=owner_id,
            ),
        )
        if role.value in get_settings().totp_required_roles:
            secret = pyotp.random_base32()
            # no recovery codes: hashing ten with argon2id for every admin and auditor would slow the suite down
            two_factor.enrol_with_secret(session, user, secret, recovery_codes=False)
            TOTP_SECRETS[email] = secret
        return user.id, email


def sign_in(client: TestClient, email: str, password: str = PASSWORD) -> str:
    data = {"username": email, "password": password}
    if email in TOTP_SECRETS:
        data["totp_code"] = totp_code(email)
    response = client.post("/api/v1/auth/token", data=data)
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


def web_login(client: TestClient, data: dict[str, str], follow_redirects: bool = True) -> httpx.Response:
    """Post the sign-in form as a browser does: its CSRF token taken from the form (bound to the pre-session
    cookie the form set)."""
    form = client.get("/login")
    found = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    assert found is not None, "the sign-in form carries a CSRF token"
    answer = client.post("/login", data={**data, "csrf_token": found.group(1)}, follow_redirects=False)
    location = answer.headers.get("location", "")
    email = data.get("email", "").strip().lower()
    if answer.status_code == 303 and location.startswith("/login/code") and email in TOTP_SECRETS:
        step = client.get(location)
        token = re.search(r'name="csrf_token" value="([^"]+)"', step.text)
        target = re.search(r'name="next" value="([^"]*)"', step.text)
        assert token is not None and target is not None
        code = {"code": totp_code(email), "csrf_token": token.group(1), "next": target.group(1)}
        return client.post("/login/code", data=code, follow_redirects=follow_redirects)
    if follow_redirects and answer.is_redirect:
        return client.get(location)
    return answer


def account(client: TestClient, role: Role, *, unit_id: UUID | None = None, owner_id: UUID | None = None) -> Account:
    user_id, email = make_user(role, unit_id=unit_id, owner_id=owner_id)
    with session_factory()() as session:
        user = auth.get_user(session, user_id)
        return Account(user.id, email, role, user.unit_id, user.owner_id, sign_in(client, email))


def make_owner(name: str = "Nguyễn Thị Hoa", kind: str = "household", email: str | None = None) -> UUID:
    from app.registry import service as registry
    from app.registry.schemas import OwnerCreate

    with session_factory()() as session, session.begin():
        return registry.create_owner(session, OwnerCreate(name=name, kind=kind, email=email)).id  # type: ignore[arg-type]


def make_camera(owner_id: UUID, lat: float = 10.7769, lon: float = 106.7009, **fields: object) -> UUID:
    from app.auth.permissions import Actor
    from app.registry import service as registry
    from app.registry.schemas import CameraCreate

    admin = Actor(kind="user", role=Role.admin, user_id=None)
    values: dict[str, object] = {"label": "Camera cổng trước", "retention_days": 14, **fields}
    with session_factory()() as session, session.begin():
        return registry.create_camera(
            session,
            admin,
            CameraCreate(owner_id=owner_id, lat=lat, lon=lon, **values),  # type: ignore[arg-type]
        ).id


def give_consent(owner_id: UUID, scope: str = "on_request", **fields: object) -> UUID:
    from datetime import UTC, datetime

    from app.auth.permissions import Actor
    from app.registry import service as registry
    from app.registry.schemas import ConsentCreate

    admin = Actor(kind="user", role=Role.admin, user_id=None)
    values: dict[str, object] = {
        "valid_from": datetime(2025, 1, 1, tzinfo=UTC),
        "terms_version": "2025-01",
        "legal_basis": "Thỏa thuận tham gia",
        **fields,
    }
    with session_factory()() as session, session.begin():
        return registry.give_consent(
            session,
            admin,
            owner_id,
            ConsentCreate(scope=scope, **values),  # type: ignore[arg-type]
        ).id


def case_with_request(client: TestClient, title: str = "Cướp giật điện thoại đường Đồng Khởi") -> tuple[Account, str]:
    """An investigator of a new unit, a case opened yesterday and one request on a consenting owner's camera."""
    investigator = account(client, Role.investigator, unit_id=make_unit())
    owner = make_owner("Nhà thuốc Hạnh Phúc", "business")
    give_consent(owner)
    start = datetime.now(UTC) - timedelta(days=1)
    case = client.post(
        "/api/v1/cases",
        headers=investigator.headers,
        json={
            "number": f"VV-{uuid.uuid4().hex[:6]}",
            "title": title,
            "offence": "robbery",
            "incident_lat": 10.7765,
            "incident_lon": 106.7030,
            "incident_start": start.isoformat(),
            "incident_end": (start + timedelta(minutes=10)).isoformat(),
        },
    ).json()
    filed = client.post(
        f"/api/v1/cases/{case['id']}/requests",
        headers=investigator.headers,
        json={
            "camera_id": str(make_camera(owner)),
            "window_start": start.isoformat(),
            "window_end": (start + timedelta(minutes=10)).isoformat(),
            "purpose": "Nhận dạng đối tượng",
            "legal_basis": "Điều 88 Bộ luật Tố tụng hình sự",
        },
    )
    assert filed.status_code == 201, filed.text
    return investigator, str(case["id"])
