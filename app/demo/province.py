"""A lived-in province for the first hour: two police units of Thanh Hóa city, one account per role, owners and
cameras along Trần Phú street, a case with requests in every state the service knows (three of them with real
clips cut from generated recordings), a closed case and another unit's case.

People and registry rows are made through the domain services; everything a user does (filing, answering,
uploading, downloading) goes through the HTTP API in-process, so every rule and every custody event is the one a
real user meets. Building is idempotent: a second run finds the province and changes nothing."""

from __future__ import annotations

import asyncio
import os
import secrets
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

import httpx
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.auth import service as auth
from app.auth.models import Role, Unit, User
from app.auth.permissions import Actor, ActorKind, system_actor
from app.auth.schemas import UnitCreate, UserCreate
from app.core import clock, media, reads
from app.core.config import get_settings
from app.core.db import session_factory, write_session
from app.core.storage import get_storage
from app.custody.models import CustodyEvent
from app.custody.service import append_event
from app.extractions import service as extractions
from app.extractions.models import ExtractionRequest
from app.extractions.service import expire_unanswered
from app.footage.cutting import make_clip
from app.registry import service as registry
from app.registry.models import Camera, Owner
from app.registry.schemas import CameraCreate, ConsentCreate, OwnerCreate

ZONE = ZoneInfo("Asia/Ho_Chi_Minh")
DONE = "demo.province_built"
ACCOUNTS_FILE = "demo-accounts.txt"
CASE_NUMBER = "VV-{year}-0142"
# Trần Phú and the streets beside it, Điện Biên ward, Thanh Hóa city: the incident is at the Lê Lợi corner.
INCIDENT = (19.80770, 105.77640)


@dataclass(frozen=True)
class DemoAccount:
    role: Role
    email: str
    full_name: str
    what: str  # what this account is for, in Vietnamese


@dataclass(frozen=True)
class StoryCamera:
    key: str
    label: str
    address: str
    owner: str
    owner_kind: str
    owner_phone: str
    lat: float
    lon: float
    retention_days: int = 30
    scope: str | None = "on_request"  # the owner's consent; None: none given
    email: bool = True


@dataclass
class Built:
    accounts: list[tuple[DemoAccount, str]] = field(default_factory=list)  # with their passwords
    requests: dict[str, str] = field(default_factory=dict)  # story key -> state reached
    clips: int = 0
    already: bool = False


UNITS = [
    ("CA-DIENBIEN", "Công an phường Điện Biên", "0237 3852 113"),
    ("CA-TRUONGTHI", "Công an phường Trường Thi", "0237 3855 114"),
]
ACCOUNTS = [
    DemoAccount(Role.admin, "quantri@demo.example.org", "Nguyễn Văn Quản", "quản trị: đơn vị, tài khoản, camera"),
    DemoAccount(Role.investigator, "dieutra@demo.example.org", "Lê Văn Hùng", "điều tra viên CA phường Điện Biên"),
    DemoAccount(Role.supervisor, "chihuy@demo.example.org", "Trịnh Thị Mai", "chỉ huy CA phường Điện Biên"),
    DemoAccount(Role.auditor, "kiemtra@demo.example.org", "Phạm Quốc Bảo", "kiểm tra nhật ký lưu giữ"),
    DemoAccount(Role.owner, "chucamera@demo.example.org", "Đỗ Thị Lan", "chủ camera (Nhà thuốc Đỗ Lan)"),
    DemoAccount(
        Role.investigator, "dieutra2@demo.example.org", "Hoàng Minh Tuấn", "điều tra viên CA phường Trường Thi"
    ),
]

# One camera per request state of the story (the key names what happens to its request).
CAMERAS = [
    StoryCamera(
        "clip_ready",
        "Nhà thuốc Đỗ Lan — cổng trước",
        "212 Trần Phú, phường Điện Biên",
        "Đỗ Thị Lan",
        "business",
        "0912 345 678",
        19.80781,
        105.77652,
    ),
    StoryCamera(
        "delivered",
        "Tiệm vàng Kim Thành — mặt đường",
        "198 Trần Phú, phường Điện Biên",
        "Tiệm vàng Kim Thành",
        "business",
        "0913 222 333",
        19.80752,
        105.77618,
    ),
    StoryCamera(
        "closed",
        "Khách sạn Sao Mai — sảnh",
        "230 Trần Phú, phường Điện Biên",
        "Khách sạn Sao Mai",
        "business",
        "0237 3851 999",
        19.80802,
        105.77689,
    ),
    StoryCamera(
        "submitted",
        "Nhà ông Nguyễn Văn Bình — cổng",
        "15 Lê Lợi, phường Điện Biên",
        "Nguyễn Văn Bình",
        "household",
        "0987 654 321",
        19.80730,
        105.77600,
    ),
    StoryCamera(
        "approved",
        "Quán cà phê Phố Cũ — hiên",
        "9 Lê Lợi, phường Điện Biên",
        "Quán cà phê Phố Cũ",
        "business",
        "0904 111 222",
        19.80745,
        105.77580,
    ),
    StoryCamera(
        "partially_approved",
        "Cửa hàng điện thoại Minh Châu",
        "240 Trần Phú, phường Điện Biên",
        "Cửa hàng điện thoại Minh Châu",
        "business",
        "0915 888 999",
        19.80815,
        105.77700,
    ),
    StoryCamera(
        "denied",
        "Nhà bà Trần Thị Hà — ban công",
        "21 Lê Lợi, phường Điện Biên",
        "Trần Thị Hà",
        "household",
        "0978 123 456",
        19.80712,
        105.77590,
    ),
    StoryCamera(
        "expired",
        "Tạp hóa Thu Hà — quầy",
        "186 Trần Phú, phường Điện Biên",
        "Tạp hóa Thu Hà",
        "business",
        "0916 777 888",
        19.80735,
        105.77598,
        retention_days=3,
        email=False,
    ),
    StoryCamera(
        "cancelled",
        "Trường THCS Điện Biên — cổng",
        "2 Hàng Đồng, phường Điện Biên",
        "Trường THCS Điện Biên",
        "school",
        "0237 3852 456",
        19.80840,
        105.77560,
    ),
    StoryCamera(
        "footage_mismatch",
        "Nhà hàng Hương Sen — bãi xe",
        "250 Trần Phú, phường Điện Biên",
        "Nhà hàng Hương Sen",
        "business",
        "0919 456 789",
        19.80830,
        105.77720,
    ),
    StoryCamera(
        "needs_conversion",
        "Gara Thành Công — cổng",
        "6 Lê Lợi, phường Điện Biên",
        "Gara Thành Công",
        "business",
        "0932 555 666",
        19.80760,
        105.77570,
    ),
]
RECORDING_S = 360  # each generated recording: 6 minutes, from 3 minutes before the incident


def demo_password() -> str:
    return secrets.token_urlsafe(12)


def build() -> Built:
    """Build the province once; on a second run report what is there (the accounts file keeps the passwords)."""
    with write_session() as session:
        if session.scalar(select(CustodyEvent.seq).where(CustodyEvent.action == DONE).limit(1)) is not None:
            return Built(accounts=_known_accounts(session), already=True)
    get_storage().ensure_bucket(create=get_settings().s3_create_bucket)
    built = Built()
    with write_session() as session:
        units = _units(session)
        built.accounts = _people(session, units)
        admin = _actor(session, "quantri@demo.example.org")
        cameras = _registry(session, admin)
    _write_accounts_file(built.accounts)
    now = clock.now()
    incident = (now - timedelta(days=2)).astimezone(ZONE).replace(hour=20, minute=12, second=0, microsecond=0)
    passwords = {account.email: password for account, password in built.accounts}
    asyncio.run(_story_then_close(built, cameras, incident.astimezone(UTC), passwords))
    with write_session() as session:
        actor = system_actor("demo")
        append_event(
            session,
            actor=actor.label,
            action=DONE,
            where=actor.where("cli"),
            details={"requests": built.requests, "clips": built.clips},
        )
    return built


# -- people and registry (services) ---------------------------------------------------------------
def _units(session: Session) -> dict[str, Unit]:
    made: dict[str, Unit] = {}
    for code, name, phone in UNITS:
        existing = session.scalar(select(Unit).where(Unit.code == code))
        made[code] = existing or auth.create_unit(session, UnitCreate(name=name, code=code, phone=phone))
    return made


def _people(session: Session, units: dict[str, Unit]) -> list[tuple[DemoAccount, str]]:
    owner = session.scalar(select(Owner).where(Owner.external_id == "demo-owner-dolan"))
    if owner is None:
        owner = registry.create_owner(
            session,
            OwnerCreate(
                name="Đỗ Thị Lan",
                kind="business",
                phone="0912 345 678",
                email="chucamera@demo.example.org",
                address="212 Trần Phú, phường Điện Biên, TP Thanh Hóa",
                external_id="demo-owner-dolan",
            ),
        )
    unit_of = {
        "dieutra@demo.example.org": units["CA-DIENBIEN"].id,
        "chihuy@demo.example.org": units["CA-DIENBIEN"].id,
        "dieutra2@demo.example.org": units["CA-TRUONGTHI"].id,
    }
    made: list[tuple[DemoAccount, str]] = []
    for account in ACCOUNTS:
        if session.scalar(select(User.id).where(User.email == account.email)) is not None:
            continue
        password = demo_password()
        auth.create_user(
            session,
            UserCreate(
                email=account.email,
                password=password,
                full_name=account.full_name,
                role=account.role,
                unit_id=unit_of.get(account.email),
                owner_id=owner.id if account.role == Role.owner else None,
            ),
        )
        made.append((account, password))
    return made


def _actor(session: Session, email: str) -> Actor:
    user = auth.user_by_email(session, email)
    return Actor(
        kind=ActorKind.user,
        role=Role(user.role),
        user_id=user.id,
        email=user.email,
        unit_id=user.unit_id,
        owner_id=user.owner_id,
    )


def _registry(session: Session, admin: Actor) -> dict[str, UUID]:
    """The story's owners, cameras and consents, recorded by the demo admin."""
    made: dict[str, UUID] = {}
    valid_from = datetime(2025, 1, 1, tzinfo=UTC)
    for camera in CAMERAS:
        external = f"story-{camera.key}"
        existing = session.scalar(select(Camera.id).where(Camera.external_id == external))
        if existing is not None:
            made[camera.key] = existing
            continue
        owner_id = (
            session.scalar(select(Owner.id).where(Owner.external_id == "demo-owner-dolan"))
            if camera.owner == "Đỗ Thị Lan"
            else None
        )
        if owner_id is None:
            slug = camera.key.replace("_", "-")
            owner_id = registry.create_owner(
                session,
                OwnerCreate(
                    name=camera.owner,
                    kind=camera.owner_kind,
                    phone=camera.owner_phone,
                    email=f"{slug}@demo.example.org" if camera.email else None,
                    address=camera.address,
                    external_id=f"demo-owner-{slug}",
                ),
            ).id
        made[camera.key] = registry.create_camera(
            session,
            admin,
            CameraCreate(
                owner_id=owner_id,
                external_id=external,
                label=camera.label,
                lat=camera.lat,
                lon=camera.lon,
                address=camera.address,
                province="Thanh Hóa",
                district="Thành phố Thanh Hóa",  # as the province's list names it (app.registry.districts)
                ward="Phường Điện Biên",
                direction_deg=90,
                fov_deg=100,
                range_m=40,
                recorder_make="Hikvision" if len(made) % 2 else "Dahua",
                recorder_model="DS-7608NI" if len(made) % 2 else "NVR4108HS",
                retention_days=camera.retention_days,
                last_verified_at=clock.now() - timedelta(days=20),
            ),
        ).id
        if camera.scope is not None:
            registry.give_consent(
                session,
                admin,
                owner_id,
                ConsentCreate(
                    camera_id=made[camera.key],
                    scope=camera.scope,
                    valid_from=valid_from,
                    terms_version="2025-01",
                    legal_basis="Phiếu tham gia chương trình Camera an ninh trật tự (giấy)",
                ),
            )
    return made


# -- the story (HTTP API, in-process) ---------------------------------------------------------------
async def _story_then_close(
    built: Built, cameras: dict[str, UUID], incident: datetime, passwords: dict[str, str]
) -> None:
    """The story, then the read pool it opened is closed on this event loop (which ends with it)."""
    try:
        await _story(built, cameras, incident, passwords)
    finally:
        await reads.close()


async def _story(built: Built, cameras: dict[str, UUID], incident: datetime, passwords: dict[str, str]) -> None:
    from app.main import create_app

    transport = httpx.ASGITransport(app=create_app(), client=("127.0.0.1", 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://demo.local", timeout=600) as api:
        investigator = await _sign_in(api, "dieutra@demo.example.org", passwords)
        other = await _sign_in(api, "dieutra2@demo.example.org", passwords)
        window = (incident - timedelta(minutes=1), incident + timedelta(minutes=3))
        year = incident.astimezone(ZONE).year
        case = await _case(
            api,
            investigator,
            CASE_NUMBER.format(year=year),
            "Cướp giật xe máy trước nhà thuốc trên đường Trần Phú",
            "Cướp giật tài sản",
            incident,
        )
        with tempfile.TemporaryDirectory(prefix="footage-demo-") as tmp:
            recording = _recording(Path(tmp) / "nvr-export.mp4")
            elsewhere = _recording(Path(tmp) / "ch01-wrong-day.mp4")
            unreadable = Path(tmp) / "export.264x"
            unreadable.write_bytes(b"HXVS" + os.urandom(256 * 1024))
            recorded_from = incident - timedelta(minutes=3)
            for camera in CAMERAS:
                request = await _file(api, investigator, case, cameras[camera.key], window)
                built.requests[camera.key] = await _play(
                    api, investigator, camera.key, request, window, recording, elsewhere, unreadable, recorded_from
                )
                if built.requests[camera.key] in ("clip_ready", "delivered", "closed"):
                    built.clips += 1
        # an earlier case of the unit, closed; and a case of the other unit this unit's people cannot see
        earlier = await _case(
            api,
            investigator,
            f"VV-{year}-0117",
            "Trộm xe đạp điện tại chợ Điện Biên",
            "Trộm cắp tài sản",
            incident - timedelta(days=25),
        )
        closed = await api.post(
            f"/api/v1/cases/{earlier}/close",
            headers=investigator,
            json={"outcome": "Đã xác định đối tượng; chuyển hồ sơ sang Viện kiểm sát", "footage_contributed": True},
        )
        _ok(closed, "close the earlier case")
        await _case(
            api,
            other,
            f"VV-{year}-0208",
            "Va chạm giao thông tại ngã tư Bà Triệu",
            "Gây tai nạn giao thông",
            incident - timedelta(hours=20),
            at=(19.81290, 105.78010),
        )
    with write_session() as session:  # the unanswered request whose 3-day recorder has overwritten the window
        # The incident is one to two days back (20:12 local, two days ago), so its 3-day deadline falls within
        # the next two days whatever the hour the demo is built at.
        expire_unanswered(session, now=clock.now() + timedelta(days=2, hours=1))
        state = session.scalar(
            select(ExtractionRequest.status).where(ExtractionRequest.camera_id == cameras["expired"])
        )
        built.requests["expired"] = str(state)


async def _play(
    api: httpx.AsyncClient,
    investigator: dict[str, str],
    key: str,
    request: str,
    window: tuple[datetime, datetime],
    recording: Path,
    elsewhere: Path,
    unreadable: Path,
    recorded_from: datetime,
) -> str:
    """Take one request as far as its story goes; return the state it reached."""
    if key in ("submitted", "expired"):
        return await _state(api, investigator, request)
    if key == "cancelled":
        _ok(
            await api.post(
                f"/api/v1/requests/{request}/cancel",
                headers=investigator,
                json={"reason": "Camera hướng vào trong sân trường, không thấy mặt đường"},
            ),
            "cancel",
        )
        return await _state(api, investigator, request)
    token = await _link(api, investigator, request)
    if key == "denied":
        _ok(
            await api.post(
                f"/api/v1/respond/{token}/deny",
                json={"reason": "Ổ cứng đầu ghi bị hỏng từ tuần trước, không còn dữ liệu"},
            ),
            "deny",
        )
        return await _state(api, investigator, request)
    approval: dict[str, Any] = {"reason": "Đồng ý cung cấp"}
    if key == "partially_approved":
        approval = {
            "reason": "Chỉ đồng ý đoạn có mặt đường, không có cảnh trong cửa hàng",
            "approved_start": window[0].isoformat(),
            "approved_end": (window[0] + timedelta(minutes=2)).isoformat(),
        }
    _ok(await api.post(f"/api/v1/respond/{token}/approve", json=approval), "approve")
    if key in ("approved", "partially_approved"):
        return await _state(api, investigator, request)
    if key == "needs_conversion":
        await _upload(api, token, unreadable, recorded_from, vendor="Hikvision iVMS-4200")
        return await _state(api, investigator, request)
    if key == "footage_mismatch":
        await _upload(api, token, elsewhere, recorded_from - timedelta(hours=6))
    else:
        await _upload(api, token, recording, recorded_from)
    _clip(UUID(request))
    if key in ("delivered", "closed"):
        detail = (await api.get(f"/api/v1/requests/{request}", headers=investigator)).json()
        clip_id = (detail.get("clips") or [{}])[0].get("id")
        if clip_id:
            link = await api.post(
                f"/api/v1/clips/{clip_id}/download-link",
                headers=investigator,
                json={"purpose": "Xem lại diễn biến vụ việc để xác định đối tượng", "use": "download"},
            )
            _ok(link, "download link")
    if key == "closed":
        with write_session() as session:
            actor = _actor(session, "dieutra@demo.example.org")
            extractions.close(session, actor, UUID(request), "useful", "Xác định được biển số xe của đối tượng")
    return await _state(api, investigator, request)


def _clip(request_id: UUID) -> None:
    """Cut the clip now (the worker of a running service may be doing the same: the clip is made once)."""
    for _ in range(3):
        try:
            make_clip(session_factory(), request_id)
            return
        except IntegrityError:
            continue


async def _sign_in(api: httpx.AsyncClient, email: str, passwords: dict[str, str]) -> dict[str, str]:
    answer = await api.post("/api/v1/auth/token", data={"username": email, "password": passwords[email]})
    _ok(answer, f"sign in as {email}")
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


async def _case(
    api: httpx.AsyncClient,
    who: dict[str, str],
    number: str,
    title: str,
    offence: str,
    incident: datetime,
    at: tuple[float, float] = INCIDENT,
) -> str:
    answer = await api.post(
        "/api/v1/cases",
        headers=who,
        json={
            "number": number,
            "title": title,
            "offence": offence,
            "incident_lat": at[0],
            "incident_lon": at[1],
            "incident_start": incident.isoformat(),
            "incident_end": (incident + timedelta(minutes=2)).isoformat(),
            "district": "Thành phố Thanh Hóa",
            "ward": "Phường Điện Biên",
        },
    )
    _ok(answer, f"open case {number}")
    return str(answer.json()["id"])


async def _file(
    api: httpx.AsyncClient, who: dict[str, str], case: str, camera: UUID, window: tuple[datetime, datetime]
) -> str:
    answer = await api.post(
        f"/api/v1/cases/{case}/requests",
        headers=who,
        json={
            "camera_id": str(camera),
            "window_start": window[0].isoformat(),
            "window_end": window[1].isoformat(),
            "purpose": "Xác định đối tượng cướp giật và hướng tẩu thoát",
            "legal_basis": "Điều 88 Bộ luật Tố tụng hình sự 2015",
        },
    )
    _ok(answer, "file a request")
    return str(answer.json()["id"])


async def _link(api: httpx.AsyncClient, who: dict[str, str], request: str) -> str:
    answer = await api.post(f"/api/v1/requests/{request}/links", headers=who)
    _ok(answer, "issue an owner link")
    return str(answer.json()["url"]).rstrip("/").rsplit("/", 1)[-1]


async def _upload(
    api: httpx.AsyncClient, token: str, path: Path, recorded_from: datetime | None, vendor: str | None = None
) -> None:
    headers = {"X-Filename": path.name, "Content-Type": "application/octet-stream"}
    if recorded_from is not None:
        headers["X-Recording-Start"] = recorded_from.astimezone(ZONE).replace(tzinfo=None).isoformat()
    if vendor is not None:
        headers["X-Vendor-Format"] = vendor
    _ok(await api.put(f"/api/v1/respond/{token}/original", headers=headers, content=_chunks(path)), "upload")


async def _chunks(path: Path) -> AsyncIterator[bytes]:
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            yield chunk


async def _state(api: httpx.AsyncClient, who: dict[str, str], request: str) -> str:
    answer = await api.get(f"/api/v1/requests/{request}", headers=who)
    _ok(answer, "read a request")
    return str(answer.json()["status"])


def _recording(path: Path) -> Path:
    """A recorder-like export: 6 minutes of 640×360 at 25 fps, H.264 with 2 s GOPs, and a tone."""
    media.run_ffmpeg(
        [
            "-f", "lavfi", "-i", f"testsrc2=size=640x360:rate=25:duration={RECORDING_S}",
            "-f", "lavfi", "-i", f"sine=frequency=440:duration={RECORDING_S}",
            "-c:v", "libx264", "-preset", "ultrafast", "-g", "50", "-pix_fmt", "yuv420p",
            "-c:a", "aac", "-b:a", "48k", "-movflags", "+faststart", "-y", str(path),
        ]
    )  # fmt: skip
    return path


def _ok(answer: httpx.Response, what: str) -> None:
    if answer.status_code >= 400:
        raise RuntimeError(f"demo: could not {what}: {answer.status_code} {answer.text[:300]}")


# -- accounts ----------------------------------------------------------------------------------------
def accounts_file() -> Path:
    return get_settings().data_dir / ACCOUNTS_FILE


def _write_accounts_file(accounts: list[tuple[DemoAccount, str]]) -> None:
    """The demo's passwords, once, readable by this user only (the printed box shows them too)."""
    path = accounts_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    with os.fdopen(fd, "a") as fh:
        for account, password in accounts:
            fh.write(f"{account.role.value}\t{account.email}\t{password}\t{account.full_name}\n")
    path.chmod(0o600)


def _known_accounts(session: Session) -> list[tuple[DemoAccount, str]]:
    stored: dict[str, str] = {}
    if accounts_file().exists():
        for line in accounts_file().read_text(encoding="utf-8").splitlines():
            parts = line.split("\t")
            if len(parts) >= 3:
                stored[parts[1]] = parts[2]
    present = set(session.scalars(select(User.email).where(User.email.in_([a.email for a in ACCOUNTS]))))
    return [(a, stored.get(a.email, "(xem " + str(accounts_file()) + ")")) for a in ACCOUNTS if a.email in present]
