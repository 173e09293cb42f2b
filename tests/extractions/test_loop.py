"""The request loop closes and investigators are told, against the real PostgreSQL, S3, ffmpeg and SMTP server:
each notification kind reaches the filing investigator (in the app and by email) and nobody else; the filing
unit's first fetch of a clip delivers the request; closing (a request, a case) and asking again end the loop;
the supervisor sees the unit's open requests at-risk first as the clock moves."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from app.auth import service as auth
from app.auth import tokens
from app.auth.models import Role
from app.core import clock, media
from app.core.db import session_factory
from app.custody.models import CustodyEvent
from app.extractions import alerts
from app.extractions.models import ExtractionRequest
from app.footage.cutting import make_clip
from app.notifications import service as outbox
from app.notifications.staff_models import StaffNotification
from tests.factories import Account, account, give_consent, make_camera, make_owner, make_unit
from tests.notifications.conftest import Inbox, smtp_inbox  # noqa: F401 - the real SMTP server fixture

H264 = ["-c:v", "libx264", "-g", "25", "-an"]


def _video(directory: Path, seconds: int) -> Path:
    path = directory / f"rec-{seconds}.mp4"
    media.run_ffmpeg(["-f", "lavfi", "-i", f"testsrc2=size=160x120:rate=25:duration={seconds}", *H264, "-y", str(path)])
    return path


@dataclass
class Scene:
    investigator: Account
    colleague: Account  # same unit, did not file
    outsider: Account  # another unit
    owner: Account
    case_id: str
    case_number: str
    t0: datetime


def _scene(client: TestClient) -> Scene:
    unit = make_unit()
    investigator = account(client, Role.investigator, unit_id=unit)
    colleague = account(client, Role.investigator, unit_id=unit)
    outsider = account(client, Role.investigator, unit_id=make_unit())
    owner_id = make_owner("Tiệm tạp hóa Minh Châu", "business")
    give_consent(owner_id)
    owner = account(client, Role.owner, owner_id=owner_id)
    t0 = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=5)
    number = f"VV-{uuid.uuid4().hex[:8]}"
    case = client.post(
        "/api/v1/cases",
        headers=investigator.headers,
        json={
            "number": number,
            "title": "Trộm xe máy",
            "offence": "theft",
            "incident_lat": 10.77,
            "incident_lon": 106.70,
            "incident_start": t0.isoformat(),
            "incident_end": (t0 + timedelta(minutes=1)).isoformat(),
        },
    )
    assert case.status_code == 201, case.text
    return Scene(investigator, colleague, outsider, owner, case.json()["id"], number, t0)


def _file(client: TestClient, scene: Scene, label: str = "Cổng trước", retention_days: int = 14) -> str:
    camera = make_camera(scene.owner.owner_id, label=label, retention_days=retention_days)  # type: ignore[arg-type]
    filed = client.post(
        f"/api/v1/cases/{scene.case_id}/requests",
        headers=scene.investigator.headers,
        json={
            "camera_id": str(camera),
            "window_start": (scene.t0 + timedelta(seconds=3)).isoformat(),
            "window_end": (scene.t0 + timedelta(seconds=8)).isoformat(),
            "purpose": "Xác định đối tượng",
            "legal_basis": "Điều 88 BLTTHS",
        },
    )
    assert filed.status_code == 201, filed.text
    assert filed.json()["status"] == "submitted"
    return str(filed.json()["id"])


def _upload(client: TestClient, scene: Scene, request_id: str, video: Path, start: datetime) -> None:
    response = client.put(
        f"/api/v1/requests/{request_id}/original",
        content=video.read_bytes(),
        headers={**scene.owner.headers, "X-Filename": video.name, "X-Recording-Start": start.isoformat()},
    )
    assert response.status_code == 201, response.text


def _kinds(client: TestClient, who: Account, **params: Any) -> list[str]:
    listed = client.get("/api/v1/notifications", headers=who.headers, params=params)
    assert listed.status_code == 200, listed.text
    return [item["kind"] for item in listed.json()["items"]]


def _mails_to(inbox: Inbox, address: str) -> list[EmailMessage]:
    outbox.deliver_due(session_factory())
    return [m for m in inbox.messages if m["To"] == address]


def _texts(message: EmailMessage) -> tuple[str, str]:
    plain = message.get_body(("plain",))
    rich = message.get_body(("html",))
    assert plain is not None and rich is not None
    return plain.get_content(), rich.get_content()


def lasting(who: Account) -> dict[str, str]:
    """Bearer headers that outlive a clock moved days ahead (issued now, before the clock moves, for 30 days)."""
    token, _ = tokens.issue(who.id, 0, ttl=timedelta(days=30))
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture()
def moved_clock() -> Iterator[clock.FrozenClock]:
    frozen = clock.FrozenClock(datetime.now(UTC))
    clock.set_clock(frozen)
    try:
        yield frozen
    finally:
        clock.set_clock(None)


def test_the_loop_from_approval_to_closing_tells_the_filing_investigator_only(
    client: TestClient,
    smtp_inbox: Inbox,  # noqa: F811
    tmp_path: Path,
) -> None:
    scene = _scene(client)
    request_id = _file(client, scene)
    assert _kinds(client, scene.investigator) == []

    approved = client.post(f"/api/v1/requests/{request_id}/approve", headers=scene.owner.headers, json={})
    assert approved.status_code == 200, approved.text
    _upload(client, scene, request_id, _video(tmp_path, 12), scene.t0)
    assert make_clip(session_factory(), uuid.UUID(request_id)) is not None

    kinds = _kinds(client, scene.investigator)
    assert kinds == ["clip_ready", "footage_received", "request_approved"]  # newest first
    assert _kinds(client, scene.colleague) == [] and _kinds(client, scene.outsider) == []
    assert client.get("/api/v1/notifications", headers=scene.owner.headers).status_code == 403
    listed = client.get("/api/v1/notifications", headers=scene.investigator.headers, params={"lang": "en"}).json()
    assert listed["total"] == 3 and all(item["request_id"] == request_id for item in listed["items"])
    assert listed["items"][0]["text"] == f"Clip ready – Cổng trước, case {scene.case_number}"
    vi = client.get("/api/v1/notifications", headers=scene.investigator.headers).json()["items"][0]["text"]
    assert vi == f"Đoạn trích đã sẵn sàng – Cổng trước, vụ việc {scene.case_number}"

    mails = _mails_to(smtp_inbox, scene.investigator.email)
    subjects = sorted(str(m["Subject"]) for m in mails)
    assert len(mails) == 3, subjects
    assert any(s.startswith("Chủ camera đã đồng ý cung cấp") for s in subjects)  # Vietnamese by default
    plain, rich = _texts(next(m for m in mails if "sẵn sàng" in str(m["Subject"])))
    assert f"/requests/{request_id}" in plain and 'href="http' in rich
    for other in (scene.colleague, scene.outsider, scene.owner):
        assert [m for m in smtp_inbox.messages if m["To"] == other.email] == []

    # An auditor's fetch of the clip does not deliver it; the filing unit's first playback does, recorded with its use.
    clip_id = client.get(f"/api/v1/requests/{request_id}", headers=scene.investigator.headers).json()["clips"][0]["id"]
    auditor = account(client, Role.auditor)
    fetched = client.post(
        f"/api/v1/clips/{clip_id}/download-link", headers=auditor.headers, json={"purpose": "kiểm tra"}
    )
    assert fetched.status_code == 200, fetched.text
    assert client.get(f"/api/v1/requests/{request_id}", headers=scene.investigator.headers).json()["status"] == (
        "clip_ready"
    )
    bad_use = client.post(
        f"/api/v1/clips/{clip_id}/download-link",
        headers=scene.colleague.headers,
        json={"purpose": "xem lại", "use": "stream"},
    )
    assert bad_use.status_code == 422
    played = client.post(
        f"/api/v1/clips/{clip_id}/download-link",
        headers=scene.colleague.headers,
        json={"purpose": "nhận dạng đối tượng", "use": "play"},
    )
    assert played.status_code == 200, played.text
    detail = client.get(f"/api/v1/requests/{request_id}", headers=scene.investigator.headers).json()
    assert detail["status"] == "delivered"
    assert detail["history"][-1]["reason"] == "nhận dạng đối tượng"
    with session_factory()() as session:
        delivered = session.scalars(
            select(CustodyEvent).where(
                CustodyEvent.object_id == uuid.UUID(request_id), CustodyEvent.action == "request.delivered"
            )
        ).one()
        assert delivered.details["use"] == "play" and delivered.details["clip_id"] == clip_id
    again = client.post(
        f"/api/v1/clips/{clip_id}/download-link", headers=scene.investigator.headers, json={"purpose": "lưu hồ sơ"}
    )
    assert again.status_code == 200
    assert client.get(f"/api/v1/requests/{request_id}", headers=scene.investigator.headers).json()["status"] == (
        "delivered"
    )

    wrong = client.post(
        f"/api/v1/requests/{request_id}/close", headers=scene.investigator.headers, json={"result": "ok"}
    )
    assert wrong.status_code == 422
    stranger = client.post(
        f"/api/v1/requests/{request_id}/close", headers=scene.outsider.headers, json={"result": "useful"}
    )
    assert stranger.status_code == 404
    closed = client.post(
        f"/api/v1/requests/{request_id}/close",
        headers=scene.investigator.headers,
        json={"result": "useful", "reason": "nhận dạng được biển số"},
    )
    assert closed.status_code == 200, closed.text
    assert closed.json()["status"] == "closed"
    with session_factory()() as session:
        assert session.get(ExtractionRequest, uuid.UUID(request_id)).close_result == "useful"  # type: ignore[union-attr]
    twice = client.post(
        f"/api/v1/requests/{request_id}/close", headers=scene.investigator.headers, json={"result": "useful"}
    )
    assert twice.status_code == 409


def test_denial_and_partial_approval_tell_the_reason_and_the_window(
    client: TestClient,
    smtp_inbox: Inbox,  # noqa: F811
) -> None:
    scene = _scene(client)
    denied_id = _file(client, scene, "Sân sau")
    partial_id = _file(client, scene, "Quầy thu ngân")
    denied = client.post(
        f"/api/v1/requests/{denied_id}/deny", headers=scene.owner.headers, json={"reason": "Đầu ghi đã hỏng"}
    )
    assert denied.status_code == 200, denied.text
    part = client.post(
        f"/api/v1/requests/{partial_id}/approve",
        headers=scene.owner.headers,
        json={
            "approved_start": (scene.t0 + timedelta(seconds=4)).isoformat(),
            "approved_end": (scene.t0 + timedelta(seconds=6)).isoformat(),
            "reason": "Chỉ phần có lối đi chung",
        },
    )
    assert part.status_code == 200, part.text
    items = client.get("/api/v1/notifications", headers=scene.investigator.headers, params={"lang": "en"}).json()
    by_kind = {item["kind"]: item for item in items["items"]}
    assert set(by_kind) == {"request_denied", "request_partially_approved"}
    assert by_kind["request_denied"]["text"].endswith(": Đầu ghi đã hỏng")
    local = (scene.t0 + timedelta(seconds=4)).astimezone(ZoneInfo("Asia/Ho_Chi_Minh")).strftime("%H:%M:%S")
    assert (
        local in by_kind["request_partially_approved"]["text"]
        and "UTC+7" in by_kind["request_partially_approved"]["text"]
    )
    mails = _mails_to(smtp_inbox, scene.investigator.email)
    assert len(mails) == 2
    denial = next(m for m in mails if "từ chối" in str(m["Subject"]))
    plain, _ = _texts(denial)
    assert "Lý do: Đầu ghi đã hỏng" in plain
    assert _kinds(client, scene.colleague) == [] and _kinds(client, scene.outsider) == []


def test_a_mismatch_is_told_and_then_closed_or_asked_again_in_one_step(client: TestClient, tmp_path: Path) -> None:
    scene = _scene(client)
    ids = [_file(client, scene, "Cổng trước"), _file(client, scene, "Cổng sau")]
    early = _video(tmp_path, 4)
    for request_id in ids:
        assert (
            client.post(f"/api/v1/requests/{request_id}/approve", headers=scene.owner.headers, json={}).status_code
            == 200
        )
        _upload(client, scene, request_id, early, scene.t0 - timedelta(hours=2))
        assert make_clip(session_factory(), uuid.UUID(request_id)) is None
    assert _kinds(client, scene.investigator).count("footage_mismatch") == 2
    assert _kinds(client, scene.outsider) == []

    start, end = scene.t0 - timedelta(hours=2), scene.t0 - timedelta(hours=2) + timedelta(seconds=3)
    backwards = client.post(
        f"/api/v1/requests/{ids[0]}/re-request",
        headers=scene.investigator.headers,
        json={"window_start": end.isoformat(), "window_end": start.isoformat()},
    )
    assert backwards.status_code == 422
    again = client.post(
        f"/api/v1/requests/{ids[0]}/re-request",
        headers=scene.investigator.headers,
        json={"window_start": start.isoformat(), "window_end": end.isoformat()},
    )
    assert again.status_code == 201, again.text
    new = again.json()
    assert new["id"] != ids[0] and new["status"] == "submitted"
    assert datetime.fromisoformat(new["window_start"]) == start
    old = client.get(f"/api/v1/requests/{ids[0]}", headers=scene.investigator.headers).json()
    assert old["status"] == "cancelled"
    not_mismatch = client.post(
        f"/api/v1/requests/{new['id']}/re-request",
        headers=scene.investigator.headers,
        json={"window_start": start.isoformat(), "window_end": end.isoformat()},
    )
    assert not_mismatch.status_code == 409

    closed = client.post(
        f"/api/v1/requests/{ids[1]}/close", headers=scene.investigator.headers, json={"result": "no_footage"}
    )
    assert closed.status_code == 200 and closed.json()["status"] == "closed"


def test_expiry_an_expired_link_and_a_deadline_at_risk_are_told_once(
    client: TestClient, moved_clock: clock.FrozenClock
) -> None:
    from app.extractions import service as extractions

    scene = _scene(client)
    request_id = _file(client, scene, retention_days=13)  # overwrite deadline: about 12 days 19 hours from now
    headers = {who.email: lasting(who) for who in (scene.investigator, scene.colleague, scene.outsider)}

    def raised() -> list[str]:
        """Run the periodic check twice (the second must add nothing) and list this request's alerts."""
        for _ in range(2):
            with session_factory()() as session, session.begin():
                alerts.raise_due(session)
        with session_factory()() as session:
            return sorted(
                session.scalars(
                    select(StaffNotification.kind).where(StaffNotification.request_id == uuid.UUID(request_id))
                )
            )

    assert raised() == []
    moved_clock.advance(days=10, hours=1)  # the owner's link (10 days) has expired; the deadline ~2 days 18 h away
    assert raised() == ["link_expired_unanswered"]
    moved_clock.advance(hours=20)  # now within 48 hours of the overwrite deadline
    assert raised() == ["deadline_at_risk", "link_expired_unanswered"]

    moved_clock.advance(days=3)
    with session_factory()() as session, session.begin():
        expired = extractions.expire_unanswered(session)
    assert uuid.UUID(request_id) in {r.id for r in expired}

    listed = client.get("/api/v1/notifications", headers=headers[scene.investigator.email], params={"lang": "en"})
    assert listed.status_code == 200, listed.text
    items = listed.json()["items"]
    assert [item["kind"] for item in items] == ["request_expired", "deadline_at_risk", "link_expired_unanswered"]
    assert "UTC+7" in items[1]["text"] and items[1]["text"].startswith("Overwrite at ")
    for other in (scene.colleague, scene.outsider):
        assert client.get("/api/v1/notifications", headers=headers[other.email]).json()["total"] == 0


def test_unread_counts_and_marking_read(client: TestClient) -> None:
    scene = _scene(client)
    first, second = _file(client, scene, "A"), _file(client, scene, "B")
    for request_id in (first, second):
        client.post(f"/api/v1/requests/{request_id}/deny", headers=scene.owner.headers, json={"reason": "Không có"})
    unread = client.get("/api/v1/notifications", headers=scene.investigator.headers, params={"unread": True}).json()
    assert unread["total"] == 2
    one = unread["items"][0]["id"]
    foreign = client.post(f"/api/v1/notifications/{one}/read", headers=scene.colleague.headers)
    assert foreign.status_code == 404
    marked = client.post(f"/api/v1/notifications/{one}/read", headers=scene.investigator.headers)
    assert marked.status_code == 200 and marked.json()["read_at"] is not None
    assert (
        client.get("/api/v1/notifications", headers=scene.investigator.headers, params={"unread": True}).json()["total"]
        == 1
    )
    assert client.post("/api/v1/notifications/read-all", headers=scene.investigator.headers).json() == {"marked": 1}
    everything = client.get("/api/v1/notifications", headers=scene.investigator.headers).json()
    assert everything["total"] == 2 and all(item["read_at"] for item in everything["items"])
    assert everything["items"][0]["text"].startswith("Chủ camera từ chối")  # no language picked: Vietnamese
    with session_factory()() as session, session.begin():
        auth.set_locale(session, scene.investigator.id, "en")
    english = client.get("/api/v1/notifications", headers=scene.investigator.headers).json()
    assert english["items"][0]["text"].startswith("The owner denied")  # the language the user picked


def test_the_supervisor_sees_at_risk_requests_first_as_the_clock_moves(
    client: TestClient, moved_clock: clock.FrozenClock
) -> None:
    scene = _scene(client)
    supervisor = account(client, Role.supervisor, unit_id=scene.investigator.unit_id)
    other_supervisor = account(client, Role.supervisor, unit_id=scene.outsider.unit_id)
    soonest = _file(client, scene, "Đã đồng ý", retention_days=3)  # answered: never at risk
    middle = _file(client, scene, "Chưa trả lời", retention_days=5)
    latest = _file(client, scene, "Còn lâu", retention_days=9)
    assert client.post(f"/api/v1/requests/{soonest}/approve", headers=scene.owner.headers, json={}).status_code == 200

    headers = {who.email: lasting(who) for who in (supervisor, other_supervisor, scene.investigator)}

    def listed(who: Account) -> list[dict[str, Any]]:
        response = client.get("/api/v1/supervision/open-requests", headers=headers[who.email])
        assert response.status_code == 200, response.text
        return list(response.json()["items"])

    now_items = listed(supervisor)
    assert [item["id"] for item in now_items] == [soonest, middle, latest]  # by deadline, none at risk yet
    assert not any(item["at_risk"] for item in now_items)
    assert now_items[0]["waiting_on"] == "owner" and now_items[0]["waiting_for"] == "upload"
    assert now_items[0]["time_to_answer_s"] is not None and now_items[1]["time_to_answer_s"] is None
    assert now_items[1]["owner_phone"] is None and now_items[1]["filed_by"] == "Test investigator"

    moved_clock.advance(days=3, hours=12)  # the middle one's deadline is now ~1.5 days away, unanswered
    later = listed(supervisor)
    assert [item["id"] for item in later] == [middle, soonest, latest]
    assert [item["at_risk"] for item in later] == [True, False, False]
    assert later[0]["waiting_s"] >= 3 * 86400

    assert listed(other_supervisor) == []
    refused = client.get("/api/v1/supervision/open-requests", headers=headers[scene.investigator.email])
    assert refused.status_code == 403


def test_closing_a_case_settles_its_requests(client: TestClient, tmp_path: Path) -> None:
    scene = _scene(client)
    unanswered = _file(client, scene, "Chưa trả lời")
    approved = _file(client, scene, "Đã đồng ý")
    ready = _file(client, scene, "Có đoạn trích")
    for request_id in (approved, ready):
        assert (
            client.post(f"/api/v1/requests/{request_id}/approve", headers=scene.owner.headers, json={}).status_code
            == 200
        )
    _upload(client, scene, ready, _video(tmp_path, 12), scene.t0)
    assert make_clip(session_factory(), uuid.UUID(ready)) is not None

    closed = client.post(
        f"/api/v1/cases/{scene.case_id}/close",
        headers=scene.investigator.headers,
        json={"outcome": "đã xác định đối tượng", "footage_contributed": True},
    )
    assert closed.status_code == 200, closed.text
    status = {
        rid: client.get(f"/api/v1/requests/{rid}", headers=scene.investigator.headers).json()
        for rid in (unanswered, approved, ready)
    }
    assert status[unanswered]["status"] == "cancelled" and status[approved]["status"] == "cancelled"
    assert status[unanswered]["history"][-1]["reason"] == "case closed: đã xác định đối tượng"
    assert status[ready]["status"] == "closed"
    with session_factory()() as session:
        assert session.get(ExtractionRequest, uuid.UUID(ready)).close_result == "useful"  # type: ignore[union-attr]
        moves = session.scalar(
            select(func.count())
            .select_from(CustodyEvent)
            .where(
                CustodyEvent.case_id == uuid.UUID(scene.case_id),
                CustodyEvent.action.in_(["request.cancelled", "request.closed"]),
            )
        )
        assert moves == 3
