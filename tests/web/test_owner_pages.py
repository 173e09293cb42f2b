"""Owner pages for owners with an account, through the real app, PostgreSQL, S3 server and ffmpeg."""

from __future__ import annotations

import hashlib
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from fastapi.testclient import TestClient

from app.auth.models import Role
from app.core import media
from app.web.i18n import format_local
from tests.factories import (
    PASSWORD,
    Account,
    account,
    give_consent,
    make_camera,
    make_owner,
    make_unit,
    make_user,
    web_login,
)

TZ = "Asia/Ho_Chi_Minh"


def _csrf(html: str) -> str:
    return html.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]


def _local(value: datetime) -> str:
    """A time as a datetime-local field holds it, in the camera's zone."""
    return value.astimezone(ZoneInfo(TZ)).strftime("%Y-%m-%dT%H:%M:%S")


def _sign_in(client: TestClient, email: str) -> None:
    client.cookies.clear()
    done = web_login(client, data={"email": email, "password": PASSWORD}, follow_redirects=False)
    assert done.status_code == 303


@dataclass
class OwnerWithRequests:
    investigator: Account
    owner_id: uuid.UUID
    email: str
    front: uuid.UUID  # camera with the request to approve
    side: uuid.UUID  # camera with the request to deny
    to_approve: str
    to_deny: str
    t0: datetime


def _owner_with_requests(client: TestClient) -> OwnerWithRequests:
    """An owner account with two cameras (owner-wide consent, ask each time) and one submitted request on each."""
    investigator = account(client, Role.investigator, unit_id=make_unit())
    owner = make_owner(name="Tạp hóa Cô Ba")
    give_consent(owner)
    front = make_camera(owner, label="Camera cửa trước")
    side = make_camera(owner, label="Camera hẻm bên hông")
    _, email = make_user(Role.owner, owner_id=owner)
    t0 = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=5)
    case = client.post(
        "/api/v1/cases",
        headers=investigator.headers,
        json={
            "number": f"VV-{uuid.uuid4().hex[:8]}",
            "title": "Trộm xe máy",
            "offence": "theft",
            "incident_lat": 10.7769,
            "incident_lon": 106.7009,
            "incident_start": t0.isoformat(),
            "incident_end": (t0 + timedelta(minutes=1)).isoformat(),
        },
    ).json()
    ids = []
    for camera, purpose in ((front, "Nhận dạng xe máy bị trộm"), (side, "Xác định hướng tẩu thoát")):
        filed = client.post(
            f"/api/v1/cases/{case['id']}/requests",
            headers=investigator.headers,
            json={
                "camera_id": str(camera),
                "window_start": t0.isoformat(),
                "window_end": (t0 + timedelta(seconds=20)).isoformat(),
                "purpose": purpose,
                "legal_basis": "Điều 88 BLTTHS",
            },
        )
        assert filed.status_code == 201, filed.text
        assert filed.json()["status"] == "submitted"
        ids.append(filed.json()["id"])
    return OwnerWithRequests(investigator, owner, email, front, side, ids[0], ids[1], t0)


def _video(directory: Path, seconds: int = 20) -> Path:
    path = directory / "ch01_export.mp4"
    media.run_ffmpeg(
        ["-f", "lavfi", "-i", f"testsrc2=size=160x120:rate=10:duration={seconds}", "-c:v", "libx264", "-g", "20"]
        + ["-y", str(path)]
    )
    return path


def test_owner_answers_in_camera_time_uploads_through_the_page_and_sees_the_ledger(
    client: TestClient, tmp_path: Path
) -> None:
    world = _owner_with_requests(client)
    _sign_in(client, world.email)
    home = client.get("/", follow_redirects=False)
    assert home.status_code == 303 and home.headers["location"] == "/owner/requests"

    listing = client.get("/owner/requests")
    assert listing.status_code == 200
    waiting = listing.text.split('id="waiting"', 1)[1].split('id="to-upload"', 1)[0]
    assert "Chờ Quý vị trả lời" in waiting and "Camera cửa trước" in waiting and "Camera hẻm bên hông" in waiting
    assert f"/owner/requests/{world.to_approve}" in waiting and f"/owner/requests/{world.to_deny}" in waiting
    start_shown = format_local(world.t0, TZ, "vi")
    assert start_shown in waiting and start_shown.endswith(f"({TZ})")  # camera time, zone labelled
    assert "Nhận dạng xe máy bị trộm" in waiting and "Điều 88 BLTTHS" in waiting
    assert 'href="/owner/ledger"' in listing.text and 'href="/owner/cameras"' in listing.text  # the owner's nav

    page = client.get(f"/owner/requests/{world.to_approve}")
    assert page.status_code == 200 and "Camera cửa trước" in page.text
    assert f'value="{_local(world.t0)}"' in page.text  # the part form starts from the whole window, camera time
    assert "đã gửi" in page.text
    token = _csrf(page.text)

    outside = client.post(
        f"/owner/requests/{world.to_approve}/approve",
        data={
            "csrf_token": token,
            "approved_start": _local(world.t0 - timedelta(minutes=5)),
            "approved_end": _local(world.t0 + timedelta(seconds=12)),
            "reason": "Chỉ phần có xe",
        },
    )
    assert outside.status_code == 422 and 'role="alert"' in outside.text
    assert "approved_start" in outside.text  # the field named
    assert f'value="{_local(world.t0 - timedelta(minutes=5))}"' in outside.text and "Chỉ phần có xe" in outside.text

    partial = client.post(
        f"/owner/requests/{world.to_approve}/approve",
        follow_redirects=False,
        data={
            "csrf_token": token,
            "approved_start": _local(world.t0 + timedelta(seconds=5)),
            "approved_end": _local(world.t0 + timedelta(seconds=12)),
            "reason": "Chỉ phần có xe",
        },
    )
    assert partial.status_code == 303
    approved = client.get(partial.headers["location"]).text
    assert "đồng ý một phần" in approved
    # the part agreed, to the second, with the zone in words
    assert f"{(world.t0 + timedelta(seconds=5)).astimezone(ZoneInfo(TZ)):%H:%M:%S} →" in approved
    assert "(giờ Việt Nam, UTC+7)" in approved
    assert f'data-url="/owner/requests/{world.to_approve}/original"' in approved and f'data-csrf="{token}"' in approved
    assert "Đồng hồ của đầu ghi hiển thị mấy giờ ở hình đầu tiên của tệp này?" in approved  # the fields explained

    video = _video(tmp_path)
    digest = hashlib.sha256(video.read_bytes()).hexdigest()
    upload_headers = {
        "X-Filename": video.name,
        "X-Recording-Start": _local(world.t0),
        "X-Clock-Offset-Seconds": "0",
        "X-Content-SHA256": digest,
    }
    unsigned = client.put(
        f"/owner/requests/{world.to_approve}/original", content=video.read_bytes(), headers=upload_headers
    )
    assert unsigned.status_code == 403  # no X-CSRF-Token: refused before the body is read
    uploaded = client.put(
        f"/owner/requests/{world.to_approve}/original",
        content=video.read_bytes(),
        headers={**upload_headers, "X-CSRF-Token": token},
    )
    assert uploaded.status_code == 201, uploaded.text
    body = uploaded.json()
    assert body["sha256"] == digest and body["size"] == video.stat().st_size and body["version_id"]
    assert 19 <= body["media"]["duration_s"] <= 21
    received = client.get(f"/owner/requests/{world.to_approve}").text
    originals = received.split('id="originals"', 1)[1]
    assert video.name in originals and digest in originals
    assert "đã nhận dữ liệu" in received and 'id="upload-form"' not in received

    short = client.post(f"/owner/requests/{world.to_deny}/deny", data={"csrf_token": token, "reason": "x"})
    assert short.status_code == 422 and 'role="alert"' in short.text and "ít nhất 3 ký tự" in short.text
    denied = client.post(
        f"/owner/requests/{world.to_deny}/deny",
        follow_redirects=False,
        data={"csrf_token": token, "reason": "Camera hỏng hôm đó"},
    )
    assert denied.status_code == 303
    assert "bị từ chối" in client.get(denied.headers["location"]).text
    listing = client.get("/owner/requests").text
    earlier = listing.split('id="answered"', 1)[1]
    assert f"/owner/requests/{world.to_deny}" in earlier and "bị từ chối" in earlier
    assert "Không có yêu cầu nào chờ Quý vị trả lời." in listing

    link = client.post(
        f"/api/v1/originals/{body['id']}/download-link",
        headers=world.investigator.headers,
        json={"purpose": "Trích xuất phục vụ điều tra vụ trộm"},
    )
    assert link.status_code == 200, link.text
    ledger = client.get("/owner/ledger")
    assert ledger.status_code == 200
    rows = ledger.text.split('id="ledger"', 1)[1].split("</table>", 1)[0]
    assert "Đã nhận bản gốc" in rows and "Cấp đường dẫn tải bản gốc" in rows
    # officers as role · unit, never by id; no client address; the hash only in the technical details
    assert "điều tra viên · Công an phường Bến Nghé" in rows and "Trích xuất phục vụ điều tra vụ trộm" in rows
    assert str(world.investigator.id) not in ledger.text and "user:" not in rows and "testclient" not in rows
    assert f"({TZ})" in rows and digest in rows.split("<details>", 1)[1]

    client.get("/lang/en")
    english = client.get("/owner/ledger").text
    assert "Download link for the original issued" in english and "My ledger" in english


def test_owner_gives_and_withdraws_consent_and_sees_the_history(client: TestClient) -> None:
    owner = make_owner(name="Trường Tiểu học Hòa Bình", kind="school")
    give_consent(owner)
    gate = make_camera(owner, label="Camera cổng trường")
    _, email = make_user(Role.owner, owner_id=owner)
    _sign_in(client, email)

    page = client.get("/owner/cameras")
    assert page.status_code == 200 and "Camera cổng trường" in page.text
    history = page.text.split('id="consents"', 1)[1].split('id="give-consent"', 1)[0]
    assert "Tất cả camera của tôi" in history and "Thỏa thuận tham gia" in history and "Hỏi tôi mỗi lần" in history
    assert 'data-consent="valid"' in page.text
    token = _csrf(page.text)

    # the terms are the programme's, shown to read; the owner types no version or legal basis
    assert 'name="terms_version"' not in page.text and 'name="legal_basis"' not in page.text
    assert 'id="terms"' in page.text and "CAMERA-ANTT-2026-01" in page.text
    form = {"csrf_token": token, "camera_id": str(gate), "scope": "auto_approve", "valid_from": "2026-06-01T08:00"}
    backwards = client.post("/owner/consents", data={**form, "valid_until": "2026-05-01T08:00", "agree": "yes"})
    assert backwards.status_code == 422 and 'role="alert"' in backwards.text
    assert "Ngày kết thúc phải sau ngày bắt đầu" in backwards.text and 'value="2026-05-01T08:00"' in backwards.text
    unread = client.post("/owner/consents", data=form)
    assert unread.status_code == 422 and "Hãy đánh dấu vào ô" in unread.text
    nonsense = client.post("/owner/consents", data={**form, "scope": "?", "agree": "yes"})
    assert nonsense.status_code == 422 and "Hãy chọn khi nào công an được nhận" in nonsense.text
    not_mine = client.post("/owner/consents", data={**form, "camera_id": "?", "agree": "yes"})
    assert not_mine.status_code == 422 and "Hãy chọn một camera của Quý vị" in not_mine.text

    given = client.post("/owner/consents", follow_redirects=False, data={**form, "valid_until": "", "agree": "yes"})
    assert given.status_code == 303
    page = client.get("/owner/cameras").text
    history = page.split('id="consents"', 1)[1].split('id="give-consent"', 1)[0]
    assert "Tự động đồng ý mọi yêu cầu" in history and "Camera cổng trường" in history
    assert "CAMERA-ANTT-2026-01" in history  # the terms recorded with it, by the system
    assert format_local(datetime(2026, 6, 1, 1, 0, tzinfo=UTC), TZ, "vi") in history  # 08:00 in Ho Chi Minh
    withdraw_actions = re.findall(r'action="(/owner/consents/[0-9a-f-]+/withdraw)"', history)
    assert len(withdraw_actions) == 2
    newest = withdraw_actions[0]  # the history lists the newest first

    short = client.post(newest, data={"csrf_token": token, "reason": "no"})
    assert short.status_code == 422 and "ít nhất 3 ký tự" in short.text
    withdrawn = client.post(
        newest, follow_redirects=False, data={"csrf_token": token, "reason": "Trường nghỉ hè, tạm ngưng"}
    )
    assert withdrawn.status_code == 303
    page = client.get("/owner/cameras").text
    history = page.split('id="consents"', 1)[1].split('id="give-consent"', 1)[0]
    assert "Trường nghỉ hè, tạm ngưng" in history
    assert len(re.findall(r'action="/owner/consents/[0-9a-f-]+/withdraw"', history)) == 1
    again = client.post(newest, data={"csrf_token": token, "reason": "Lần thứ hai"})
    assert again.status_code == 422 and "Không thực hiện được ở trạng thái hiện tại" in again.text


def test_another_owner_gets_404_and_forms_need_the_csrf_token(client: TestClient) -> None:
    world = _owner_with_requests(client)
    _sign_in(client, world.email)
    page = client.get("/owner/cameras").text
    consent_url = re.findall(r'action="(/owner/consents/[0-9a-f-]+/withdraw)"', page)[0]
    token = _csrf(page)
    forged = client.post(f"/owner/requests/{world.to_approve}/approve", data={"csrf_token": "forged"})
    assert forged.status_code == 403
    missing = client.post(f"/owner/requests/{world.to_deny}/deny", data={"reason": "Không muốn"})
    assert missing.status_code == 403
    refused = client.post(consent_url, data={"csrf_token": "", "reason": "Không muốn nữa"})
    assert refused.status_code == 403
    assert "đã gửi" in client.get(f"/owner/requests/{world.to_approve}").text  # nothing changed
    assert 'data-consent="valid"' in client.get("/owner/cameras").text and token

    other = make_owner(name="Nhà thuốc An Khang")
    _, other_email = make_user(Role.owner, owner_id=other)
    _sign_in(client, other_email)
    theirs = client.get("/owner/requests")
    assert theirs.status_code == 200 and world.to_approve not in theirs.text and "Camera cửa trước" not in theirs.text
    other_token = _csrf(theirs.text)
    assert client.get(f"/owner/requests/{world.to_approve}").status_code == 404
    approve = client.post(f"/owner/requests/{world.to_approve}/approve", data={"csrf_token": other_token})
    assert approve.status_code == 404
    deny = client.post(
        f"/owner/requests/{world.to_deny}/deny", data={"csrf_token": other_token, "reason": "Không phải của tôi"}
    )
    assert deny.status_code == 404
    upload = client.put(
        f"/owner/requests/{world.to_approve}/original",
        content=b"not a video",
        headers={"X-Filename": "x.mp4", "X-Recording-Start": "2026-01-01T00:00:00", "X-CSRF-Token": other_token},
    )
    assert upload.status_code == 404
    withdraw = client.post(consent_url, data={"csrf_token": other_token, "reason": "Không phải của tôi"})
    assert withdraw.status_code == 404
    cameras = client.get("/owner/cameras").text
    assert "Camera cửa trước" not in cameras and "Quý vị chưa có camera nào được đăng ký." in cameras
    assert "Chưa ai tiếp cận hình ảnh của Quý vị." in client.get("/owner/ledger").text

    _sign_in(client, world.email)
    assert "đã gửi" in client.get(f"/owner/requests/{world.to_approve}").text  # still unanswered

    _, investigator_email = make_user(Role.investigator)
    _sign_in(client, investigator_email)
    assert client.get("/owner/requests").status_code == 403  # owner pages are for owner accounts


def test_the_link_page_keeps_its_upload_to_the_link_api(client: TestClient) -> None:
    """The one-time link page shares the summary and upload form with the owner pages, without the CSRF header."""
    from app.auth import links
    from app.core.db import session_factory

    investigator = account(client, Role.investigator, unit_id=make_unit())
    owner = make_owner()
    give_consent(owner, scope="auto_approve")
    t0 = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=2)
    case = client.post(
        "/api/v1/cases",
        headers=investigator.headers,
        json={
            "number": f"VV-{uuid.uuid4().hex[:8]}",
            "title": "Va chạm giao thông",
            "offence": "traffic",
            "incident_lat": 10.77,
            "incident_lon": 106.70,
            "incident_start": t0.isoformat(),
            "incident_end": (t0 + timedelta(minutes=1)).isoformat(),
        },
    ).json()
    filed = client.post(
        f"/api/v1/cases/{case['id']}/requests",
        headers=investigator.headers,
        json={
            "camera_id": str(make_camera(owner)),
            "window_start": t0.isoformat(),
            "window_end": (t0 + timedelta(seconds=30)).isoformat(),
            "purpose": "Xác định xe gây tai nạn",
            "legal_basis": "Điều 88 BLTTHS",
        },
    ).json()
    assert filed["status"] == "approved"
    with session_factory()() as session, session.begin():
        _, token = links.issue(session, uuid.UUID(filed["id"]), None)
    page = client.get(f"/respond/{token}")
    assert page.status_code == 200 and "Xác định xe gây tai nạn" in page.text
    assert (
        f"{t0.astimezone(ZoneInfo(TZ)):%H:%M:%S} → {(t0 + timedelta(seconds=30)).astimezone(ZoneInfo(TZ)):%H:%M:%S}, "
        in page.text
    )
    assert f'data-url="/api/v1/respond/{token}/original"' in page.text and "data-csrf" not in page.text
