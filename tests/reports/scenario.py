"""A case a court would see: named people, a shop's camera, an owner answering through a one-time link, an
original, a clip cut by the system and a download — everything the custody report has to name."""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from fastapi.testclient import TestClient

from app.auth import service as auth
from app.auth.models import Role
from app.auth.schemas import UnitCreate, UserCreate
from app.core import media
from app.core.db import session_factory
from app.footage.cutting import make_clip
from tests.factories import PASSWORD, give_consent, make_camera, make_owner, sign_in

INVESTIGATOR_NAME = "Trần Văn Minh"
UNIT_NAME = "Công an phường Bến Nghé"
OWNER_NAME = "Nhà thuốc Hạnh Phúc"
CAMERA_LABEL = "Camera cổng trước"
CAMERA_ADDRESS = "12 Đồng Khởi, phường Bến Nghé"
VIDEO_NAME = "NVR_ch1_main_20260313.mp4"


@dataclass
class CourtCase:
    case_id: str
    number: str
    request_id: str
    original_id: str
    clip_id: str
    investigator_id: str
    headers: dict[str, str]  # the investigator's
    window_start: datetime  # UTC, whole seconds (plus 5 s, so "to the second" shows)
    window_end: datetime


def _officer(role: Role, unit_id: uuid.UUID, full_name: str) -> tuple[uuid.UUID, str]:
    email = f"{role.value}-{secrets.token_hex(4)}@example.org"
    with session_factory()() as session, session.begin():
        user = auth.create_user(
            session, UserCreate(email=email, password=PASSWORD, full_name=full_name, role=role, unit_id=unit_id)
        )
        return user.id, email


def build(client: TestClient, workdir: Path) -> CourtCase:
    with session_factory()() as session, session.begin():
        unit = auth.create_unit(session, UnitCreate(name=UNIT_NAME, code=f"BN{secrets.token_hex(3)}")).id
    investigator_id, email = _officer(Role.investigator, unit, INVESTIGATOR_NAME)
    headers = {"Authorization": f"Bearer {sign_in(client, email)}"}
    owner = make_owner(OWNER_NAME, "business")
    give_consent(owner)
    camera = make_camera(owner, label=CAMERA_LABEL, address=CAMERA_ADDRESS)
    start = (datetime.now(UTC) - timedelta(hours=6)).replace(microsecond=0, second=5)
    number = f"VV-{uuid.uuid4().hex[:6]}"
    case = client.post(
        "/api/v1/cases",
        headers=headers,
        json={
            "number": number,
            "title": "Cướp giật điện thoại đường Đồng Khởi",
            "offence": "robbery",
            "incident_lat": 10.7765,
            "incident_lon": 106.7030,
            "incident_start": start.isoformat(),
            "incident_end": (start + timedelta(minutes=10)).isoformat(),
        },
    )
    assert case.status_code == 201, case.text
    case_id = case.json()["id"]
    window_start, window_end = start + timedelta(seconds=2), start + timedelta(seconds=9)
    filed = client.post(
        f"/api/v1/cases/{case_id}/requests",
        headers=headers,
        json={
            "camera_id": str(camera),
            "window_start": window_start.isoformat(),
            "window_end": window_end.isoformat(),
            "purpose": "Nhận dạng đối tượng",
            "legal_basis": "Điều 88 Bộ luật Tố tụng hình sự",
        },
    )
    assert filed.status_code == 201, filed.text
    request_id = filed.json()["id"]
    link = client.post(f"/api/v1/requests/{request_id}/links", headers=headers)
    assert link.status_code == 201, link.text
    token = link.json()["url"].rstrip("/").rsplit("/", 1)[-1]
    approved = client.post(f"/api/v1/respond/{token}/approve", json={"reason": "Đồng ý cung cấp"})
    assert approved.status_code == 200, approved.text

    video = workdir / VIDEO_NAME
    media.run_ffmpeg(
        ["-f", "lavfi", "-i", "testsrc2=size=160x120:rate=25:duration=15", "-c:v", "libx264", "-g", "25", "-y"]
        + [str(video)]
    )
    uploaded = client.put(
        f"/api/v1/respond/{token}/original",
        content=video.read_bytes(),
        headers={"X-Filename": VIDEO_NAME, "X-Recording-Start": start.isoformat()},
    )
    assert uploaded.status_code == 201, uploaded.text
    clip = make_clip(session_factory(), uuid.UUID(request_id))
    assert clip is not None
    download = client.post(
        f"/api/v1/clips/{clip.id}/download-link", json={"purpose": "Trình viện kiểm sát"}, headers=headers
    )
    assert download.status_code == 200, download.text
    return CourtCase(
        case_id=case_id,
        number=number,
        request_id=request_id,
        original_id=uploaded.json()["id"],
        clip_id=str(clip.id),
        investigator_id=str(investigator_id),
        headers=headers,
        window_start=window_start,
        window_end=window_end,
    )
