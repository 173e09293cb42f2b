"""The overlap rule holds under concurrency: identical filings sent at the same moment, without an
Idempotency-Key, make one request; every other one is a 409 that names it (the database serialises the check)."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime, timedelta

import httpx
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from app.auth.models import Role
from app.core.db import session_factory
from app.extractions.models import ExtractionRequest
from tests.factories import account, give_consent, make_camera, make_owner, make_unit
from tests.hardening.live import live_service

FILINGS = 5


def test_five_identical_filings_at_once_make_one_request(client: TestClient) -> None:
    investigator = account(client, Role.investigator, unit_id=make_unit())
    owner = make_owner()
    give_consent(owner)
    camera = str(make_camera(owner))
    t0 = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=3)
    case = client.post(
        "/api/v1/cases",
        headers=investigator.headers,
        json={
            "number": f"RACE-{uuid.uuid4().hex[:8]}",
            "title": "Cướp giật",
            "offence": "robbery",
            "incident_lat": 10.7769,
            "incident_lon": 106.7009,
            "incident_start": t0.isoformat(),
            "incident_end": (t0 + timedelta(minutes=30)).isoformat(),
        },
    )
    assert case.status_code == 201, case.text
    case_id = case.json()["id"]
    body = {
        "camera_id": camera,
        "window_start": t0.isoformat(),
        "window_end": (t0 + timedelta(minutes=20)).isoformat(),
        "purpose": "Xác định người cướp giật",
        "legal_basis": "Điều 88 BLTTHS",
    }
    answers: list[httpx.Response] = []
    together = threading.Barrier(FILINGS)

    def file(base: str) -> None:
        with httpx.Client(base_url=base, timeout=60) as http:
            together.wait()
            answers.append(http.post(f"/api/v1/cases/{case_id}/requests", headers=investigator.headers, json=body))

    with live_service() as base:
        threads = [threading.Thread(target=file, args=(base,)) for _ in range(FILINGS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)

    assert sorted(a.status_code for a in answers) == [201] + [409] * (FILINGS - 1), [a.text for a in answers]
    filed = next(a.json()["id"] for a in answers if a.status_code == 201)
    for refused in (a for a in answers if a.status_code == 409):
        assert refused.json()["existing_request_id"] == filed
    with session_factory()() as session:
        count = session.scalar(
            select(func.count()).select_from(ExtractionRequest).where(ExtractionRequest.case_id == uuid.UUID(case_id))
        )
    assert count == 1
