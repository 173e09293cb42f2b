"""Problem details are read by owners and officers: the test client's response hook (tests/conftest.py) fails any
test whose problem `detail` or `errors[].message` carries a URL, a file-system path or an exception name. Here the
hook itself is shown to catch each kind, and an owner's refused upload is shown to be worded plainly."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from fastapi.testclient import TestClient

from app.auth import links
from app.auth.models import Role
from app.core.db import session_factory
from tests.conftest import problem_leaks, refuse_leaking_problems
from tests.factories import account, give_consent, make_camera, make_owner, make_unit


def _problem(detail: str, message: str = "fine") -> httpx.Response:
    body = {"type": "https://footage-tracker.example/problems/x", "title": "t", "status": 422, "detail": detail}
    body["errors"] = [{"field": "body", "message": message}]
    request = httpx.Request("PUT", "http://testserver/api/v1/x")
    return httpx.Response(
        422, headers={"content-type": "application/problem+json"}, content=json.dumps(body).encode(), request=request
    )


@pytest.mark.parametrize(
    "words",
    [
        "not a playable video: 'http://127.0.0.1:8333/evidence/originals/a.mp4?X-Amz-Signature=ab'",
        "cannot open https://example.org/x",
        "cannot read /tmp/footage-clip-1/a.mp4",
        "failed in /work/app/footage/cutting.py",
        "in app/footage/cutting.py line 3",
        "ValueError: bad value",
        "KeyError: 'x'",
        "an Exception was raised",
        "Traceback (most recent call last)",
    ],
)
def test_the_hook_fails_a_problem_that_leaks(words: str) -> None:
    assert problem_leaks(_problem(words)) == [words]
    assert problem_leaks(_problem("fine", words)) == [words]
    with pytest.raises(AssertionError, match="problem words leak"):
        refuse_leaking_problems(_problem(words))


def test_the_hook_lets_plain_words_and_other_answers_through() -> None:
    plain = "window_end: must be after window_start, e.g. 2026-11-24T21:15:00+07:00"
    assert problem_leaks(_problem(plain, "the file exceeds the upload limit of 1024 bytes")) == []
    ok = httpx.Response(200, json={"detail": "http://x"}, request=httpx.Request("GET", "http://testserver/"))
    assert problem_leaks(ok) == []


def test_an_owner_s_unplayable_upload_is_refused_in_plain_words(client: TestClient) -> None:
    investigator = account(client, Role.investigator, unit_id=make_unit())
    owner = make_owner("Cửa hàng Thanh Tâm", "business")
    give_consent(owner)
    camera = make_camera(owner, label="Cửa trước")
    start = datetime.now(UTC) - timedelta(hours=2)
    case = client.post(
        "/api/v1/cases",
        headers=investigator.headers,
        json={
            "number": f"VV-{uuid.uuid4().hex[:8]}",
            "title": "Trộm",
            "offence": "theft",
            "incident_lat": 10.7769,
            "incident_lon": 106.7009,
            "incident_start": start.isoformat(),
            "incident_end": (start + timedelta(minutes=5)).isoformat(),
        },
    ).json()
    filed = client.post(
        f"/api/v1/cases/{case['id']}/requests",
        headers=investigator.headers,
        json={
            "camera_id": str(camera),
            "window_start": start.isoformat(),
            "window_end": (start + timedelta(seconds=30)).isoformat(),
            "purpose": "Xác định đối tượng",
            "legal_basis": "Điều 88 BLTTHS",
        },
    ).json()
    with session_factory()() as session, session.begin():
        _, token = links.issue(session, uuid.UUID(filed["id"]), None)
    assert client.post(f"/api/v1/respond/{token}/approve", json={}).status_code == 200
    headers = {"X-Filename": "export.mp4", "X-Recording-Start": start.isoformat()}
    body = b"not a video at all\n" * 400
    # an API client: the API's own words, plain, naming what to do
    refused = client.put(f"/api/v1/respond/{token}/original", content=body, headers=headers)
    assert refused.status_code == 422
    assert "does not play as a video" in refused.json()["detail"] and "whole export" in refused.json()["detail"]
    # the owner's browser (Vietnamese): the same refusal in Vietnamese, without the field's name
    worded = client.put(
        f"/api/v1/respond/{token}/original", content=body, headers={**headers, "Accept-Language": "vi-VN,vi"}
    )
    assert worded.status_code == 422
    assert worded.json()["detail"].startswith("Tệp này không phát được như một video.")
    assert worded.json()["errors"][0] == {"field": "body", "message": worded.json()["detail"]}
