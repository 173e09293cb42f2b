from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient

from app.auth.models import Role
from tests.factories import PASSWORD, give_consent, make_camera, make_owner, make_unit, make_user, web_login


def _csrf(html: str) -> str:
    return html.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]


def test_investigator_opens_a_case_and_files_requests_from_the_pages(client: TestClient) -> None:
    unit = make_unit()
    _, email = make_user(Role.investigator, unit_id=unit)
    web_login(client, data={"email": email, "password": PASSWORD})
    token = _csrf(client.get("/cases").text)
    start = (datetime.now(UTC) - timedelta(days=1)).astimezone().strftime("%Y-%m-%dT%H:%M:%S")
    number = f"VV-{uuid.uuid4().hex[:6]}"
    made = client.post(
        "/cases",
        follow_redirects=False,
        data={
            "csrf_token": token,
            "number": number,
            "title": "Trộm xe đạp",
            "offence": "theft",
            "incident_lat": "10.7769",
            "incident_lon": "106.7009",
            "incident_start": start,
            "incident_end": start.replace("T", "T"),
        },
    )
    assert made.status_code == 422 and "incident_end" in made.text  # an empty window is refused, form kept
    end = (datetime.fromisoformat(start) + timedelta(minutes=30)).strftime("%Y-%m-%dT%H:%M:%S")
    made = client.post(
        "/cases",
        follow_redirects=False,
        data={
            "csrf_token": token,
            "number": number,
            "title": "Trộm xe đạp",
            "offence": "theft",
            "incident_lat": "10.7769",
            "incident_lon": "106.7009",
            "incident_start": start,
            "incident_end": end,
        },
    )
    assert made.status_code == 303
    case_url = made.headers["location"]
    page = client.get(case_url)
    assert number in page.text and 'id="map"' in page.text
    owner = make_owner()
    give_consent(owner)
    camera = make_camera(owner, 10.7770, 106.7010)
    cameras = client.get(f"{case_url}/cameras.json").json()
    assert str(camera) in {c["id"] for c in cameras["items"]}
    refused = client.post(
        f"{case_url}/requests",
        data={
            "csrf_token": token,
            "camera_id": str(camera),
            "window_start": start,
            "window_end": start,
            "purpose": "Nhận dạng",
            "legal_basis": "Điều 88",
        },
    )
    assert refused.status_code == 422 and 'role="alert"' in refused.text
    filed = client.post(
        f"{case_url}/requests",
        follow_redirects=False,
        data={
            "csrf_token": token,
            "camera_id": str(camera),
            "window_start": start,
            "window_end": end,
            "purpose": "Nhận dạng",
            "legal_basis": "Điều 88",
        },
    )
    assert filed.status_code == 303
    request_page = client.get(filed.headers["location"])
    assert "đã gửi" in request_page.text  # the status, in Vietnamese
    forged = client.post(
        f"{case_url}/requests",
        data={
            "csrf_token": "x",
            "camera_id": str(camera),
            "window_start": start,
            "window_end": end,
            "purpose": "p",
            "legal_basis": "l",
        },
    )
    assert forged.status_code == 403
