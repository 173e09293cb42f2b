from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient

from app.auth.models import Role
from tests.factories import account, give_consent, make_camera, make_owner, make_unit


def test_statistics_count_what_happened_in_the_unit(client: TestClient) -> None:
    unit = make_unit()
    investigator = account(client, Role.investigator, unit_id=unit)
    supervisor = account(client, Role.supervisor, unit_id=unit)
    began = datetime.now(UTC) - timedelta(minutes=1)
    start = datetime.now(UTC) - timedelta(days=1)
    case = client.post(
        "/api/v1/cases",
        headers=investigator.headers,
        json={
            "number": f"TK-{uuid.uuid4().hex[:6]}",
            "title": "Thống kê",
            "offence": "theft",
            "incident_lat": 10.77,
            "incident_lon": 106.70,
            "incident_start": start.isoformat(),
            "incident_end": (start + timedelta(minutes=5)).isoformat(),
        },
    ).json()
    owners = [make_owner() for _ in range(3)]
    ids = []
    for n, owner in enumerate(owners):
        give_consent(owner)
        camera = make_camera(owner, 10.77, 106.70, district="Quận 1" if n < 2 else "Quận 3")
        ids.append(
            client.post(
                f"/api/v1/cases/{case['id']}/requests",
                headers=investigator.headers,
                json={
                    "camera_id": str(camera),
                    "window_start": start.isoformat(),
                    "window_end": (start + timedelta(minutes=5)).isoformat(),
                    "purpose": "thống kê",
                    "legal_basis": "Điều 88",
                },
            ).json()["id"]
        )
    answer = [account(client, Role.owner, owner_id=o) for o in owners]
    client.post(f"/api/v1/requests/{ids[0]}/approve", json={}, headers=answer[0].headers)
    client.post(f"/api/v1/requests/{ids[1]}/deny", json={"reason": "không có"}, headers=answer[1].headers)
    client.post(
        f"/api/v1/cases/{case['id']}/close",
        headers=investigator.headers,
        json={"outcome": "clarified", "footage_contributed": True},
    )
    window = {"from": began.isoformat(), "to": (datetime.now(UTC) + timedelta(minutes=1)).isoformat()}
    stats = client.get("/api/v1/stats", params=window, headers=supervisor.headers)
    assert stats.status_code == 200, stats.text
    body = stats.json()
    assert body["requests"] == 3
    # closing the case settled its requests: the approved one (no footage yet) and the unanswered one are cancelled
    assert body["requests_by_status"] == {"cancelled": 2, "denied": 1}
    assert body["approval_rate"] == 0.5 and body["median_owner_response_hours"] is not None
    assert body["cases_closed"] == 1 and body["cases_clarified_with_footage"] == 1
    assert body["by_district"] == {"Quận 1": {"cancelled": 1, "denied": 1}, "Quận 3": {"cancelled": 1}}
    assert body["unit_id"] == str(unit)  # a supervisor sees their own unit
    other = client.get("/api/v1/stats", params={**window, "unit_id": str(uuid.uuid4())}, headers=supervisor.headers)
    assert other.status_code == 422 and other.json()["errors"][0]["field"] == "unit_id"
    csv_text = client.get(
        "/api/v1/stats", params={**window, "format": "csv"}, headers=supervisor.headers
    ).content.decode("utf-8-sig")
    assert "district,Quận 3,cancelled,1" in csv_text
    backwards = client.get(
        "/api/v1/stats", params={"from": window["to"], "to": window["from"]}, headers=supervisor.headers
    )
    assert backwards.status_code == 422
    assert client.get("/api/v1/stats", params=window, headers=investigator.headers).status_code == 403
