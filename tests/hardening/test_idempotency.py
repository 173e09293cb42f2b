"""Idempotency-Key on the requests that create cases, extraction requests and evidence: a retried request
gets the first answer and creates nothing more; a key reused for another request is refused; a failed
request leaves its key free."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from app.auth.models import Role
from app.core.db import session_factory
from app.extractions.models import ExtractionRequest
from app.footage.models import Original
from tests.factories import Account, account, give_consent, make_camera, make_owner, make_unit
from tests.footage.test_footage import FORMATS, _video, approved  # noqa: F401  (approved: a fixture)

# One incident time for every body: a repeat must be byte-for-byte the same request, even across a second.
INCIDENT = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=2)


def _case_body(number: str) -> dict[str, object]:
    t0 = INCIDENT
    return {
        "number": number,
        "title": "Trộm xe máy",
        "offence": "theft",
        "incident_lat": 10.77,
        "incident_lon": 106.70,
        "incident_start": t0.isoformat(),
        "incident_end": (t0 + timedelta(minutes=30)).isoformat(),
    }


def test_cases_and_requests_are_created_once_per_key(client: TestClient) -> None:
    investigator = account(client, Role.investigator, unit_id=make_unit())
    number = f"ID-{uuid.uuid4().hex[:8]}"
    key = {"Idempotency-Key": str(uuid.uuid4())}
    first = client.post("/api/v1/cases", headers={**investigator.headers, **key}, json=_case_body(number))
    again = client.post("/api/v1/cases", headers={**investigator.headers, **key}, json=_case_body(number))
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json() and again.headers["Idempotent-Replayed"] == "true"
    other = client.post("/api/v1/cases", headers={**investigator.headers, **key}, json=_case_body(number + "-2"))
    assert other.status_code == 422 and other.json()["errors"][0]["field"] == "Idempotency-Key"
    # another caller's identical key is another key
    colleague = account(client, Role.investigator, unit_id=make_unit())
    theirs = client.post("/api/v1/cases", headers={**colleague.headers, **key}, json=_case_body(number + "-3"))
    assert theirs.status_code == 201

    owner = make_owner()
    give_consent(owner)
    camera = str(make_camera(owner))
    t0 = datetime.fromisoformat(str(first.json()["incident_start"]))
    case_id = first.json()["id"]
    request_key = {"Idempotency-Key": str(uuid.uuid4())}
    too_long = {
        "camera_id": camera,
        "window_start": t0.isoformat(),
        "window_end": (t0 + timedelta(hours=30)).isoformat(),
        "purpose": "Xác định biển số",
        "legal_basis": "Điều 88 BLTTHS",
    }
    refused = client.post(
        f"/api/v1/cases/{case_id}/requests", headers={**investigator.headers, **request_key}, json=too_long
    )
    assert refused.status_code == 422  # the failed request released its key
    good = {**too_long, "window_end": (t0 + timedelta(minutes=10)).isoformat()}
    filed = [
        client.post(f"/api/v1/cases/{case_id}/requests", headers={**investigator.headers, **request_key}, json=good)
        for _ in range(3)
    ]
    assert [r.status_code for r in filed] == [201, 201, 201]
    assert len({r.json()["id"] for r in filed}) == 1
    with session_factory()() as session:
        count = session.scalar(
            select(func.count()).select_from(ExtractionRequest).where(ExtractionRequest.case_id == uuid.UUID(case_id))
        )
    assert count == 1


def test_an_upload_repeated_with_its_key_stores_the_footage_once(
    client: TestClient,
    approved: tuple[Account, Account, str, datetime],  # noqa: F811
    tmp_path: Path,
) -> None:
    _, owner, request_id, t0 = approved
    video = _video(tmp_path, "rec.mp4", FORMATS["mp4-h264"][1], seconds=8).read_bytes()
    headers = {
        **owner.headers,
        "X-Filename": "rec.mp4",
        "X-Recording-Start": t0.isoformat(),
        "Idempotency-Key": str(uuid.uuid4()),
    }
    url = f"/api/v1/requests/{request_id}/original"
    first = client.put(url, content=video, headers=headers)
    again = client.put(url, content=video, headers=headers)
    assert first.status_code == again.status_code == 201, first.text
    assert again.json() == first.json() and again.headers.get("Idempotent-Replayed") == "true"
    changed = client.put(url, content=video, headers={**headers, "X-Filename": "other.mp4"})
    assert changed.status_code == 422 and changed.json()["errors"][0]["field"] == "Idempotency-Key"
    with session_factory()() as session:
        count = session.scalar(
            select(func.count()).select_from(Original).where(Original.request_id == uuid.UUID(request_id))
        )
    assert count == 1
