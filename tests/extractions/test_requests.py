from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select

from app.auth.models import Role
from app.core import clock
from app.core.db import session_factory
from app.custody.models import CustodyEvent
from app.extractions import service as extractions
from app.notifications import service as notifications
from app.registry import geo
from tests.factories import Account, account, give_consent, make_camera, make_owner, make_unit
from tests.notifications.conftest import Inbox, smtp_inbox  # noqa: F401 - the real SMTP server fixture

DLAT = 100 / geo.METRES_PER_DEGREE_LAT


def _spot() -> tuple[float, float]:
    seed = uuid.uuid4().int
    return 20.0 + (seed % 1000) / 100, 100.0 + (seed // 1000 % 1000) / 100


def _case(client: TestClient, investigator: Account, lat: float, lon: float, start: datetime) -> str:
    response = client.post(
        "/api/v1/cases",
        headers=investigator.headers,
        json={
            "number": f"VV-{uuid.uuid4().hex[:8]}",
            "title": "Trộm xe máy trước chợ Bến Thành",
            "offence": "theft",
            "incident_lat": lat,
            "incident_lon": lon,
            "incident_start": start.isoformat(),
            "incident_end": (start + timedelta(minutes=30)).isoformat(),
        },
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def _window(start: datetime) -> dict[str, str]:
    return {
        "window_start": start.isoformat(),
        "window_end": (start + timedelta(minutes=20)).isoformat(),
        "purpose": "Xác định đối tượng trộm xe",
        "legal_basis": "Điều 88 BLTTHS 2015",
    }


def _events(object_id: str) -> list[str]:
    with session_factory()() as session:
        return [
            e.action
            for e in session.scalars(
                select(CustodyEvent).where(CustodyEvent.object_id == uuid.UUID(object_id)).order_by(CustodyEvent.seq)
            )
        ]


def test_area_request_to_owner_answers_end_to_end(client: TestClient, smtp_inbox: Inbox) -> None:  # noqa: F811
    unit = make_unit()
    investigator = account(client, Role.investigator, unit_id=unit)
    lat, lon = _spot()
    tag = uuid.uuid4().hex[:6]
    owner_a = make_owner("Cửa hàng Minh Anh", "business", email=f"a-{tag}@example.org")
    owner_b = make_owner("Nguyễn Văn Bình", "household", email=f"b-{tag}@example.org")
    owner_c = make_owner("Không đồng ý", "household")
    for owner in (owner_a, owner_b):
        give_consent(owner)
    cam_a1 = make_camera(owner_a, lat - DLAT, lon, direction_deg=0, fov_deg=90, range_m=200, label="Cửa trước")
    cam_a2 = make_camera(owner_a, lat + DLAT, lon, label="Cửa sau")
    cam_b = make_camera(owner_b, lat, lon + 0.001, label="Cổng nhà")
    cam_c = make_camera(owner_c, lat, lon - 0.001, label="Không có đồng ý")
    away = make_camera(owner_a, lat - DLAT, lon + 0.0002, direction_deg=180, fov_deg=60, range_m=200, label="Quay đi")
    start = datetime.now(UTC) - timedelta(days=2)
    case_id = _case(client, investigator, lat, lon, start)

    filed = client.post(
        f"/api/v1/cases/{case_id}/area-requests",
        headers=investigator.headers,
        json={"lat": lat, "lon": lon, "radius_m": 300, **_window(start)},
    )
    assert filed.status_code == 201, filed.text
    body = filed.json()
    by_camera = {r["camera_id"]: r for r in body["requests"]}
    assert set(by_camera) == {str(cam_a1), str(cam_a2), str(cam_b)}
    assert {s["camera_id"]: s["reason"] for s in body["skipped"]} == {
        str(cam_c): "no valid consent",
        str(away): "field of view does not cover the point",
    }
    assert all(r["status"] == "submitted" and r["group_id"] == body["group_id"] for r in body["requests"])

    notifications.deliver_due(session_factory())
    # (consent receipts, sent when the consents were recorded, are other mail)
    requests_mail = [m for m in smtp_inbox.messages if not str(m["Subject"]).startswith("Biên nhận")]
    mail_a = [m for m in requests_mail if m["To"] == f"a-{tag}@example.org"]
    mail_b = [m for m in requests_mail if m["To"] == f"b-{tag}@example.org"]
    assert len(mail_a) == 1 and len(mail_b) == 1  # one message per owner, listing every camera
    text_a = mail_a[0].get_body(("plain",)).get_content()
    assert "Cửa trước" in text_a and "Cửa sau" in text_a
    links_a = re.findall(r"/respond/([A-Za-z0-9_-]{43})", text_a)
    assert len(links_a) == 2

    # owner A answers the first request through its link, with no account
    token = next(t for t in links_a if client.get(f"/api/v1/respond/{t}").json()["camera_id"] == str(cam_a1))
    view = client.get(f"/api/v1/respond/{token}").json()
    assert view["window_start_local"].endswith("+07:00")
    approved = client.post(f"/api/v1/respond/{token}/approve", json={"reason": "Đồng ý"})
    assert approved.status_code == 200 and approved.json()["status"] == "approved"

    # owner B answers with an account, denying
    b = account(client, Role.owner, owner_id=owner_b)
    request_b = by_camera[str(cam_b)]["id"]
    denied = client.post(f"/api/v1/requests/{request_b}/deny", json={"reason": "Camera hỏng hôm đó"}, headers=b.headers)
    assert denied.status_code == 200 and denied.json()["status"] == "denied"
    # B's link only reads now the request left B's hands: it shows the answer, and acts no more
    token_b = re.findall(r"/respond/([A-Za-z0-9_-]{43})", mail_b[0].get_body(("plain",)).get_content())[0]
    reread = client.get(f"/api/v1/respond/{token_b}")
    assert reread.status_code == 200 and reread.json()["status"] == "denied"
    again = client.post(f"/api/v1/respond/{token_b}/approve", json={})
    assert again.status_code == 409 and again.json()["link"] == "completed"

    detail_a = client.get(f"/api/v1/requests/{by_camera[str(cam_a1)]['id']}", headers=investigator.headers).json()
    assert [(h["from"], h["to"]) for h in detail_a["history"]] == [("draft", "submitted"), ("submitted", "approved")]
    assert detail_a["history"][1]["actor"].startswith("owner-link:") and detail_a["history"][1]["reason"] == "Đồng ý"
    detail_b = client.get(f"/api/v1/requests/{request_b}", headers=investigator.headers).json()
    assert [(h["from"], h["to"], h["reason"]) for h in detail_b["history"]][-1] == (
        "submitted",
        "denied",
        "Camera hỏng hôm đó",
    )
    assert detail_b["history"][-1]["actor"] == f"user:{b.id}"
    assert _events(by_camera[str(cam_a1)]["id"]) == [
        "request.filed",
        "owner_link.issued",
        "request.approved",
    ] or _events(by_camera[str(cam_a1)]["id"]) == ["request.filed", "request.approved"]
    assert _events(request_b)[-1] == "request.denied"
    # the other owner's request stays invisible to B
    assert client.get(f"/api/v1/requests/{by_camera[str(cam_a2)]['id']}", headers=b.headers).status_code == 404


def test_filing_rules(client: TestClient) -> None:
    unit = make_unit()
    investigator = account(client, Role.investigator, unit_id=unit)
    lat, lon = _spot()
    start = datetime.now(UTC) - timedelta(days=3)
    case_id = _case(client, investigator, lat, lon, start)
    owner = make_owner()
    give_consent(owner)
    camera = make_camera(owner, lat, lon, retention_days=30)

    def file(**change: object) -> object:
        body = {"camera_id": str(camera), **_window(start), **change}
        return client.post(f"/api/v1/cases/{case_id}/requests", headers=investigator.headers, json=body)

    too_long = file(window_end=(start + timedelta(hours=25)).isoformat())
    assert too_long.status_code == 422 and too_long.json()["errors"][0]["field"] == "window_end"
    backwards = file(window_end=(start - timedelta(minutes=1)).isoformat())
    assert backwards.status_code == 422
    no_purpose = file(purpose="")
    assert no_purpose.status_code == 422 and no_purpose.json()["errors"][0]["field"] == "purpose"
    unknown = file(camera_id=str(uuid.uuid4()))
    assert unknown.status_code == 422 and unknown.json()["errors"][0]["field"] == "camera_id"

    no_consent_owner = make_owner()
    unconsented = file(camera_id=str(make_camera(no_consent_owner, lat, lon)))
    assert unconsented.status_code == 422 and unconsented.json()["errors"][0]["message"] == "no valid consent"
    police = file(camera_id=str(make_camera(no_consent_owner, lat, lon, programme="police")))
    assert police.status_code == 201  # police-managed cameras need no consent
    retired = file(camera_id=str(make_camera(owner, lat, lon, status="decommissioned")))
    assert retired.status_code == 422 and "decommissioned" in retired.json()["detail"]
    short = file(camera_id=str(make_camera(owner, lat, lon, retention_days=2)))
    assert short.status_code == 422 and "overwritten" in short.json()["detail"]
    assert short.json()["overwrite_deadline"].startswith((start + timedelta(days=2)).date().isoformat())

    first = file()
    assert first.status_code == 201
    assert first.json()["overwrite_deadline"].startswith((start + timedelta(days=30)).date().isoformat())
    again = file(
        window_start=(start + timedelta(minutes=10)).isoformat(), window_end=(start + timedelta(minutes=40)).isoformat()
    )
    assert again.status_code == 409 and again.json()["existing_request_id"] == first.json()["id"]

    other_unit = account(client, Role.investigator)
    assert (
        client.post(
            f"/api/v1/cases/{case_id}/requests",
            headers=other_unit.headers,
            json={"camera_id": str(camera), **_window(start)},
        ).status_code
        == 404
    )


def test_illegal_transitions_answer_409_with_the_allowed_ones(client: TestClient) -> None:
    unit = make_unit()
    investigator = account(client, Role.investigator, unit_id=unit)
    lat, lon = _spot()
    start = datetime.now(UTC) - timedelta(days=1)
    case_id = _case(client, investigator, lat, lon, start)
    owner = make_owner()
    give_consent(owner)
    owner_account = account(client, Role.owner, owner_id=owner)
    request_id = client.post(
        f"/api/v1/cases/{case_id}/requests",
        headers=investigator.headers,
        json={"camera_id": str(make_camera(owner, lat, lon)), **_window(start)},
    ).json()["id"]
    assert (
        client.post(
            f"/api/v1/requests/{request_id}/cancel", json={"reason": "nhầm camera"}, headers=investigator.headers
        ).json()["status"]
        == "cancelled"
    )
    late = client.post(f"/api/v1/requests/{request_id}/approve", json={}, headers=owner_account.headers)
    assert late.status_code == 409
    assert late.json()["allowed"] == [] and "cancelled" in late.json()["detail"]


def test_partial_approval_and_auto_approve(client: TestClient) -> None:
    unit = make_unit()
    investigator = account(client, Role.investigator, unit_id=unit)
    lat, lon = _spot()
    start = datetime.now(UTC) - timedelta(days=1)
    case_id = _case(client, investigator, lat, lon, start)
    manual, auto = make_owner(), make_owner()
    give_consent(manual)
    give_consent(auto, scope="auto_approve")
    owner_account = account(client, Role.owner, owner_id=manual)
    request = client.post(
        f"/api/v1/cases/{case_id}/requests",
        headers=investigator.headers,
        json={"camera_id": str(make_camera(manual, lat, lon)), **_window(start)},
    ).json()
    outside = client.post(
        f"/api/v1/requests/{request['id']}/approve",
        headers=owner_account.headers,
        json={"approved_start": (start - timedelta(minutes=5)).isoformat()},
    )
    assert outside.status_code == 422 and outside.json()["errors"][0]["field"] == "approved_start"
    part = client.post(
        f"/api/v1/requests/{request['id']}/approve",
        headers=owner_account.headers,
        json={
            "approved_start": (start + timedelta(minutes=5)).isoformat(),
            "approved_end": (start + timedelta(minutes=10)).isoformat(),
        },
    )
    assert part.status_code == 200 and part.json()["status"] == "partially_approved"

    auto_request = client.post(
        f"/api/v1/cases/{case_id}/requests",
        headers=investigator.headers,
        json={"camera_id": str(make_camera(auto, lat, lon)), **_window(start)},
    ).json()
    assert auto_request["status"] == "approved" and auto_request["auto_approved"] is True
    history = client.get(f"/api/v1/requests/{auto_request['id']}", headers=investigator.headers).json()["history"]
    assert history[-1]["actor"] == "system:consent" and history[-1]["reason"].startswith("auto_approve consent")


def test_unanswered_requests_expire_at_the_deadline(client: TestClient, frozen_clock: clock.FrozenClock) -> None:
    unit = make_unit()
    investigator = account(client, Role.investigator, unit_id=unit)
    lat, lon = _spot()
    start = frozen_clock.current - timedelta(days=1)
    case_id = _case(client, investigator, lat, lon, start)
    owner = make_owner()
    give_consent(owner)
    request = client.post(
        f"/api/v1/cases/{case_id}/requests",
        headers=investigator.headers,
        json={"camera_id": str(make_camera(owner, lat, lon, retention_days=3)), **_window(start)},
    ).json()
    frozen_clock.advance(days=1, hours=23)
    with session_factory()() as session, session.begin():
        assert request["id"] not in [str(r.id) for r in extractions.expire_unanswered(session)]
    frozen_clock.advance(hours=2)
    with session_factory()() as session, session.begin():
        assert request["id"] in [str(r.id) for r in extractions.expire_unanswered(session)]
    detail = client.get(
        f"/api/v1/requests/{request['id']}", headers=account(client, Role.investigator, unit_id=unit).headers
    ).json()
    assert detail["status"] == "expired" and detail["history"][-1]["actor"] == "system:scheduler"


def test_reminders_before_the_deadline_and_the_link_expiry(client: TestClient, frozen_clock: clock.FrozenClock) -> None:
    from app.extractions import reminders
    from app.notifications.models import Notification

    unit = make_unit()
    investigator = account(client, Role.investigator, unit_id=unit)
    lat, lon = _spot()
    start = frozen_clock.current - timedelta(days=1)
    case_id = _case(client, investigator, lat, lon, start)
    tag = uuid.uuid4().hex[:6]
    owner = make_owner("Lê Thị Cúc", email=f"remind-{tag}@example.org")
    give_consent(owner)
    # retention 5 days: deadline = start + 5 d = now + 4 d; the link (10 days) outlives it
    request = client.post(
        f"/api/v1/cases/{case_id}/requests",
        headers=investigator.headers,
        json={"camera_id": str(make_camera(owner, lat, lon, retention_days=5)), **_window(start)},
    ).json()

    def reminders_sent() -> list[str]:
        with session_factory()() as session:
            return [
                n.payload["reason"]
                for n in session.scalars(
                    select(Notification)
                    .where(
                        Notification.recipient == f"remind-{tag}@example.org",
                        Notification.template == "request_reminder",
                    )
                    .order_by(Notification.created_at)
                )
            ]

    def run() -> None:
        with session_factory()() as session, session.begin():
            reminders.send_due_reminders(session)

    run()
    assert reminders_sent() == []
    frozen_clock.advance(days=2, hours=1)  # 47 h before the deadline: the 48 h reminder is due
    run()
    run()  # not twice
    assert reminders_sent() == ["deadline"]
    frozen_clock.advance(hours=35)  # 12 h before
    run()
    assert reminders_sent() == ["deadline", "deadline"]
    assert _events(request["id"]).count("request.reminder_sent") == 2


def test_link_expiry_reminder(client: TestClient, frozen_clock: clock.FrozenClock) -> None:
    from app.extractions import reminders
    from app.notifications.models import Notification

    unit = make_unit()
    investigator = account(client, Role.investigator, unit_id=unit)
    lat, lon = _spot()
    start = frozen_clock.current - timedelta(hours=1)
    case_id = _case(client, investigator, lat, lon, start)
    tag = uuid.uuid4().hex[:6]
    owner = make_owner("Phạm Văn Đức", email=f"link-{tag}@example.org")
    give_consent(owner)
    camera = make_camera(owner, lat, lon, retention_days=30)
    filed = client.post(
        f"/api/v1/cases/{case_id}/requests",
        headers=investigator.headers,
        json={"camera_id": str(camera), **_window(start)},
    )
    assert filed.status_code == 201, filed.text
    frozen_clock.advance(days=9, hours=1)  # the 10-day link expires within 24 h; the deadline is 20 days away
    with session_factory()() as session, session.begin():
        assert reminders.send_due_reminders(session)["link_expiry"] >= 1
    with session_factory()() as session:
        [note] = session.scalars(
            select(Notification).where(
                Notification.recipient == f"link-{tag}@example.org", Notification.template == "request_reminder"
            )
        )
        assert note.payload["reason"] == "link_expiry" and "hết hạn" in note.body
