"""Non-finite numbers and out-of-range times are refused at the edge (headers, queries, JSON bodies, forms)
and by the database itself, so no stored value can break later reads."""

from __future__ import annotations

import uuid
from datetime import datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from app.auth.models import Role
from app.core.db import session_factory
from tests.factories import Account, account, make_unit
from tests.footage.test_footage import FORMATS, _no_evidence_left, _upload, _video, approved_request


@pytest.fixture()
def approved(client: TestClient) -> tuple[Account, Account, str, datetime]:
    return approved_request(client)


@pytest.mark.parametrize("offset", ["NaN", "nan", "Infinity", "-inf", "1e400"])
def test_a_non_finite_clock_offset_is_refused_and_the_request_stays_usable(
    client: TestClient, approved: tuple[Account, Account, str, datetime], tmp_path: Path, offset: str
) -> None:
    investigator, owner, request_id, t0 = approved
    video = _video(tmp_path, "rec.mp4", FORMATS["mp4-h264"][1], seconds=4)
    refused = _upload(client, owner, request_id, video, t0.isoformat(), **{"X-Clock-Offset-Seconds": offset})
    assert refused.status_code == 422, refused.text
    assert refused.json()["errors"][0]["field"] == "X-Clock-Offset-Seconds"
    _no_evidence_left(request_id)
    assert client.get(f"/api/v1/requests/{request_id}", headers=investigator.headers).status_code == 200
    accepted = _upload(client, owner, request_id, video, t0.isoformat(), **{"X-Clock-Offset-Seconds": "-2.5"})
    assert accepted.status_code == 201, accepted.text


@pytest.mark.parametrize("rate", ["NaN", "inf"])
def test_a_non_finite_frame_rate_is_refused(
    client: TestClient, approved: tuple[Account, Account, str, datetime], tmp_path: Path, rate: str
) -> None:
    _, owner, request_id, t0 = approved
    video = _video(tmp_path, "rec.mp4", FORMATS["mp4-h264"][1], seconds=2)
    refused = _upload(client, owner, request_id, video, t0.isoformat(), **{"X-Frame-Rate": rate})
    assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == "X-Frame-Rate"


@pytest.mark.parametrize("start", ["0001-01-01T00:00:00", "9999-12-31T23:59:59+07:00", "1969-12-31T23:00:00Z"])
def test_a_recording_start_outside_the_years_is_refused(
    client: TestClient, approved: tuple[Account, Account, str, datetime], tmp_path: Path, start: str
) -> None:
    _, owner, request_id, _ = approved
    video = _video(tmp_path, "rec.mp4", FORMATS["mp4-h264"][1], seconds=2)
    refused = _upload(client, owner, request_id, video, start)
    assert refused.status_code == 422, refused.text
    assert refused.json()["errors"][0]["field"] == "X-Recording-Start"
    _no_evidence_left(request_id)


def _case_body(start: str, end: str) -> dict[str, object]:
    return {
        "number": f"VV-{uuid.uuid4().hex[:8]}",
        "title": "Trộm cắp",
        "offence": "theft",
        "incident_lat": 10.77,
        "incident_lon": 106.70,
        "incident_start": start,
        "incident_end": end,
    }


@pytest.mark.parametrize(
    ("start", "end"),
    [("9999-12-31T23:00:00Z", "9999-12-31T23:30:00Z"), ("0001-01-01T00:00:00Z", "2026-01-01T00:00:00Z")],
)
def test_an_incident_in_an_impossible_year_is_refused_and_the_case_list_still_reads(
    client: TestClient, start: str, end: str
) -> None:
    investigator = account(client, Role.investigator, unit_id=make_unit())
    refused = client.post("/api/v1/cases", headers=investigator.headers, json=_case_body(start, end))
    assert refused.status_code == 422, refused.text
    assert {e["field"] for e in refused.json()["errors"]} & {"incident_start", "incident_end"}
    assert client.get("/api/v1/cases", headers=investigator.headers).status_code == 200


def test_nan_in_a_json_body_is_refused(client: TestClient) -> None:
    investigator = account(client, Role.investigator, unit_id=make_unit())
    case = client.post(
        "/api/v1/cases",
        headers=investigator.headers,
        json=_case_body("2026-11-23T20:00:00+07:00", "2026-11-23T20:30:00+07:00"),
    ).json()
    body = (
        '{"lat": NaN, "lon": 106.7, "radius_m": Infinity, "window_start": "2026-11-23T20:00:00+07:00",'
        ' "window_end": "2026-11-23T20:05:00+07:00", "purpose": "Xác định", "legal_basis": "Điều 88"}'
    )
    refused = client.post(
        f"/api/v1/cases/{case['id']}/area-requests",
        headers={**investigator.headers, "Content-Type": "application/json"},
        content=body,
    )
    assert refused.status_code == 422, refused.text
    assert {"lat", "radius_m"} <= {e["field"].rsplit(".", 1)[-1] for e in refused.json()["errors"]}


@pytest.mark.parametrize("at", ["9999-12-31T23:59:59Z", "0001-01-01T00:00:00+07:00"])
def test_a_camera_search_at_an_impossible_time_is_refused(client: TestClient, at: str) -> None:
    investigator = account(client, Role.investigator, unit_id=make_unit())
    refused = client.get(
        "/api/v1/cameras", headers=investigator.headers, params={"lat": 10.77, "lon": 106.7, "radius_m": 200, "at": at}
    )
    assert refused.status_code == 422, refused.text


def test_the_database_refuses_a_nan_offset_and_an_impossible_incident(
    client: TestClient, approved: tuple[Account, Account, str, datetime], tmp_path: Path
) -> None:
    _, owner, request_id, t0 = approved
    video = _video(tmp_path, "rec.mp4", FORMATS["mp4-h264"][1], seconds=2)
    original_id = _upload(client, owner, request_id, video, t0.isoformat()).json()["id"]
    for statement, params in [
        ("UPDATE originals SET clock_offset_s = 'NaN'::float8 WHERE id = :id", {"id": original_id}),
        ("UPDATE originals SET clock_offset_s = 'Infinity'::float8 WHERE id = :id", {"id": original_id}),
        (
            "UPDATE cases SET incident_end = '9999-12-31T23:00:00Z' WHERE id ="
            " (SELECT case_id FROM extraction_requests WHERE id = :id)",
            {"id": request_id},
        ),
    ]:
        with session_factory()() as session, pytest.raises(IntegrityError, match="ck_"):
            assert session.execute(text(statement), params).rowcount == 1  # type: ignore[attr-defined]
            session.flush()


@pytest.mark.parametrize("name", ["Tiệm \u202evàng", "Cổng\u2066A\u2069", "Nhà\x00 số 5", "Quầy\x1b[31m"])
def test_names_with_control_or_direction_characters_are_refused(client: TestClient, name: str) -> None:
    admin = account(client, Role.admin)
    refused = client.post("/api/v1/owners", headers=admin.headers, json={"name": name, "kind": "business"})
    assert refused.status_code == 422, refused.text
    assert refused.json()["errors"][0]["field"] == "name"
    kept = client.post(
        "/api/v1/owners", headers=admin.headers, json={"name": "Tiệm vàng Kim Thành", "kind": "business"}
    )
    assert kept.status_code == 201, kept.text
