from __future__ import annotations

import secrets
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from app.auth.models import Role
from app.core.db import session_factory
from app.custody.models import CustodyEvent
from tests.factories import Account, account, make_unit


def _body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "number": f"VV-{secrets.token_hex(4)}",
        "title": "Cướp giật điện thoại trên đường Lê Lợi",
        "offence": "cướp giật tài sản",
        "incident_lat": 10.7731,
        "incident_lon": 106.7004,
        "incident_start": "2026-03-13T20:10:00+07:00",
        "incident_end": "2026-03-13T20:40:00+07:00",
    }
    body.update(overrides)
    return body


def _open(client: TestClient, who: Account, **overrides: Any) -> dict[str, Any]:
    response = client.post("/api/v1/cases", json=_body(**overrides), headers=who.headers)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


def _custody(case_id: str) -> list[CustodyEvent]:
    with session_factory()() as session:
        return list(
            session.scalars(select(CustodyEvent).where(CustodyEvent.case_id == case_id).order_by(CustodyEvent.seq))
        )


def test_open_read_amend_close_with_custody(client: TestClient) -> None:
    investigator = account(client, Role.investigator)
    case = _open(client, investigator)
    assert case["status"] == "open"
    assert case["unit_id"] == str(investigator.unit_id)
    assert case["lead_investigator_id"] == str(investigator.id)
    assert case["incident_start"].startswith("2026-03-13T13:10:00")  # stored and returned in UTC

    got = client.get(f"/api/v1/cases/{case['id']}", headers=investigator.headers)
    assert got.status_code == 200 and got.json()["number"] == case["number"]

    patched = client.patch(
        f"/api/v1/cases/{case['id']}", json={"title": "Cướp giật (sửa)"}, headers=investigator.headers
    )
    assert patched.status_code == 200 and patched.json()["title"] == "Cướp giật (sửa)"

    closed = client.post(
        f"/api/v1/cases/{case['id']}/close",
        json={"outcome": "clarified", "footage_contributed": True},
        headers=investigator.headers,
    )
    assert closed.status_code == 200
    assert closed.json()["status"] == "closed" and closed.json()["footage_contributed"] is True

    events = _custody(case["id"])
    assert [e.action for e in events] == ["case_created", "case_updated", "case_closed"]
    assert all(e.actor == f"user:{investigator.id}" and e.object_type == "case" for e in events)
    assert events[1].details["changes"]["title"]["to"] == "Cướp giật (sửa)"
    closing = dict(events[2].details)
    assert closing.pop("row")["values"]["status"] == "closed"  # the case's tracked state, for verification
    assert closing == {"outcome": "clarified", "footage_contributed": True}

    again = client.post(
        f"/api/v1/cases/{case['id']}/close",
        json={"outcome": "clarified", "footage_contributed": True},
        headers=investigator.headers,
    )
    assert again.status_code == 409
    edit_closed = client.patch(f"/api/v1/cases/{case['id']}", json={"title": "x"}, headers=investigator.headers)
    assert edit_closed.status_code == 409


def test_duplicate_number_is_409(client: TestClient) -> None:
    investigator = account(client, Role.investigator)
    first = _open(client, investigator)
    duplicate = client.post("/api/v1/cases", json=_body(number=first["number"]), headers=investigator.headers)
    assert duplicate.status_code == 409
    assert duplicate.headers["content-type"] == "application/problem+json"
    assert duplicate.json()["field"] == "number"

    second = _open(client, investigator)
    renumber = client.patch(
        f"/api/v1/cases/{second['id']}", json={"number": first["number"]}, headers=investigator.headers
    )
    assert renumber.status_code == 409


def _field_of(response: Any) -> list[str]:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    return [e["field"] for e in response.json()["errors"]]


def test_bad_input_names_the_field(client: TestClient) -> None:
    investigator = account(client, Role.investigator)
    h = investigator.headers
    assert _field_of(client.post("/api/v1/cases", json=_body(incident_lat=91), headers=h)) == ["incident_lat"]
    assert _field_of(client.post("/api/v1/cases", json=_body(incident_lon="east"), headers=h)) == ["incident_lon"]
    assert _field_of(client.post("/api/v1/cases", json=_body(number="  "), headers=h)) == ["number"]
    assert _field_of(client.post("/api/v1/cases", json=_body(incident_start="2026-03-13T20:10:00"), headers=h)) == [
        "incident_start"
    ]
    reversed_window = _body(incident_start="2026-03-13T21:00:00+07:00", incident_end="2026-03-13T20:00:00+07:00")
    assert _field_of(client.post("/api/v1/cases", json=reversed_window, headers=h)) == ["incident_end"]
    missing = _body()
    del missing["title"]
    assert _field_of(client.post("/api/v1/cases", json=missing, headers=h)) == ["title"]

    case = _open(client, investigator)
    path = f"/api/v1/cases/{case['id']}"
    assert _field_of(client.patch(path, json={"incident_end": "2026-03-13T19:00:00+07:00"}, headers=h)) == [
        "incident_end"
    ]
    assert _field_of(client.patch(path, json={"title": None}, headers=h)) == ["title"]
    stranger = account(client, Role.investigator)
    assert _field_of(client.patch(path, json={"lead_investigator_id": str(stranger.id)}, headers=h)) == [
        "lead_investigator_id"
    ]
    assert _field_of(client.post(f"{path}/close", json={"outcome": "clarified"}, headers=h)) == ["footage_contributed"]
    assert len(_custody(case["id"])) == 1  # refused changes leave no trace but the creation


def test_lead_investigator_of_same_unit(client: TestClient) -> None:
    unit = make_unit()
    opener = account(client, Role.investigator, unit_id=unit)
    colleague = account(client, Role.investigator, unit_id=unit)
    case = _open(client, opener, lead_investigator_id=str(colleague.id))
    assert case["lead_investigator_id"] == str(colleague.id)


def test_scope_and_list(client: TestClient) -> None:
    unit = make_unit()
    mine = account(client, Role.investigator, unit_id=unit)
    supervisor = account(client, Role.supervisor, unit_id=unit)
    other = account(client, Role.investigator)
    auditor = account(client, Role.auditor)
    owner_unit_case = _open(client, mine)
    other_case = _open(client, other)

    # Out of scope looks exactly like missing.
    assert client.get(f"/api/v1/cases/{other_case['id']}", headers=mine.headers).status_code == 404
    assert client.patch(f"/api/v1/cases/{other_case['id']}", json={"title": "x"}, headers=mine.headers).status_code == (
        404
    )
    assert client.get(f"/api/v1/cases/{owner_unit_case['id']}", headers=supervisor.headers).status_code == 200
    assert client.get(f"/api/v1/cases/{other_case['id']}", headers=auditor.headers).status_code == 200

    listed = client.get("/api/v1/cases", headers=supervisor.headers).json()
    assert listed["total"] == 1 and [c["id"] for c in listed["items"]] == [owner_unit_case["id"]]
    everything = client.get("/api/v1/cases", params={"limit": 500}, headers=auditor.headers).json()
    ids = {c["id"] for c in everything["items"]}
    assert {owner_unit_case["id"], other_case["id"]} <= ids and everything["total"] >= 2
    by_number = client.get("/api/v1/cases", params={"number": other_case["number"]}, headers=auditor.headers).json()
    assert by_number["total"] == 1
    open_only = client.get("/api/v1/cases", params={"status": "closed"}, headers=supervisor.headers).json()
    assert open_only["total"] == 0

    # Roles outside the policy.
    assert client.post("/api/v1/cases", json=_body(), headers=supervisor.headers).status_code == 403
    assert client.post("/api/v1/cases", json=_body(), headers=auditor.headers).status_code == 403
