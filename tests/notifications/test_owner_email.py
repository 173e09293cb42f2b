"""The owner's email read as a mail program reads it: parsed as MIME, multipart/alternative (plain + HTML), naming
the camera, the unit and its phone, the case and the officer's role (never the officer's name), each window to
the second with its zone, and every link alone on its own line, opening the page of its own camera's request."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from zoneinfo import ZoneInfo

from fastapi.testclient import TestClient
from sqlalchemy import update

from app.auth.models import Role, Unit
from app.core.db import session_factory
from app.notifications import service as notifications
from app.registry import geo
from tests.factories import account, give_consent, make_camera, make_owner, make_unit
from tests.notifications.conftest import Inbox, smtp_inbox  # noqa: F401 - the real SMTP server fixture

LINK = re.compile(r"https?://\S+")
PHONE = "028 3829 7001"


def _filed_email(client: TestClient, inbox: Inbox) -> tuple[EmailMessage, dict[str, str], datetime, str, str]:
    unit = make_unit()
    with session_factory()() as session, session.begin():
        session.execute(update(Unit).where(Unit.id == unit).values(phone=PHONE))
    investigator = account(client, Role.investigator, unit_id=unit)
    tag = uuid.uuid4().hex[:6]
    owner = make_owner("Tiệm vàng Kim Ngân", "business", email=f"kimngan-{tag}@example.org")
    give_consent(owner)
    seed = uuid.uuid4().int
    lat, lon = 11.0 + (seed % 1000) / 1000, 106.0 + (seed // 1000 % 1000) / 1000
    labels = {"Cổng trước": (lat, lon), "Quầy thu ngân": (lat + 100 / geo.METRES_PER_DEGREE_LAT, lon)}
    cameras = {
        str(make_camera(owner, at[0], at[1], label=label, address=f"{i + 12} Lê Lợi, phường Bến Thành")): label
        for i, (label, at) in enumerate(labels.items())
    }
    start = (datetime.now(UTC) - timedelta(days=1)).replace(microsecond=0, second=5)
    number = f"VV-{tag}"
    case = client.post(
        "/api/v1/cases",
        headers=investigator.headers,
        json={
            "number": number,
            "title": "Cướp giật trước tiệm vàng",
            "offence": "robbery",
            "incident_lat": lat,
            "incident_lon": lon,
            "incident_start": start.isoformat(),
            "incident_end": (start + timedelta(minutes=5)).isoformat(),
        },
    )
    assert case.status_code == 201, case.text
    filed = client.post(
        f"/api/v1/cases/{case.json()['id']}/area-requests",
        headers=investigator.headers,
        json={
            "lat": lat,
            "lon": lon,
            "radius_m": 300,
            "window_start": start.isoformat(),
            "window_end": (start + timedelta(seconds=30)).isoformat(),
            "purpose": "Xác định đối tượng cướp giật",
            "legal_basis": "Điều 88 BLTTHS 2015",
        },
    )
    assert filed.status_code == 201, filed.text
    assert {r["camera_id"] for r in filed.json()["requests"]} == set(cameras)
    notifications.deliver_due(session_factory())
    [message] = [
        m
        for m in inbox.messages
        if m["To"] == f"kimngan-{tag}@example.org" and not str(m["Subject"]).startswith("Biên nhận")  # not the receipt
    ]
    return message, cameras, start, number, investigator.email


def test_the_filing_email_is_multipart_names_everything_and_puts_each_link_alone(
    client: TestClient,
    smtp_inbox: Inbox,  # noqa: F811
) -> None:
    message, cameras, start, number, officer_email = _filed_email(client, smtp_inbox)
    assert message.get_content_type() == "multipart/alternative"
    assert [part.get_content_type() for part in message.iter_parts()] == ["text/plain", "text/html"]
    plain_part, html_part = message.get_body(("plain",)), message.get_body(("html",))
    assert plain_part is not None and html_part is not None
    plain, html = plain_part.get_content(), html_part.get_content()

    # the camera, the unit and its phone, the case, the officer as role · unit (never by name or email)
    for label in cameras.values():
        assert label in plain and label in html
    assert "12 Lê Lợi, phường Bến Thành" in plain and "13 Lê Lợi, phường Bến Thành" in plain
    assert number in message["Subject"] and number in plain
    assert "Người đề nghị: Điều tra viên · Công an phường Bến Nghé" in plain
    assert PHONE in plain and PHONE in html
    assert officer_email not in plain
    # the window to the second, the day once, the zone in words with its offset
    local = start.astimezone(ZoneInfo("Asia/Ho_Chi_Minh"))
    end = local + timedelta(seconds=30)
    window = f"{local:%H:%M:%S} → {end:%H:%M:%S}, {local:%d/%m/%Y} (giờ Việt Nam, UTC+7)"
    assert plain.count(window) == 2

    # every link alone on its line, in the text and as a link of its own in the HTML
    links = LINK.findall(plain)
    assert len(links) == 2
    lines = plain.splitlines()
    for link in links:
        assert link in lines, f"{link} shares its line"
        index = lines.index(link)
        assert lines[index + 1].strip() == "", "the line after a link is blank, so nothing runs into it"
        assert f'<a href="{link}">{link}</a>' in html
    # each link opens the page of its own camera's request
    opened = set()
    for link in links:
        path = link.split("://", 1)[1].split("/", 1)[1]
        page = client.get(f"/{path}", headers={"Accept-Language": "vi"})
        assert page.status_code == 200
        shown = [label for label in cameras.values() if label in page.text]
        assert len(shown) == 1
        opened.add(shown[0])
    assert opened == set(cameras.values())
