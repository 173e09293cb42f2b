"""The request detail and list as the read pool answers them: the same bytes the ORM rendering gave, the same
scope (another unit's request 404 with a logged denial, an owner only their own, an auditor everything)."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from fastapi.testclient import TestClient
from pydantic import BaseModel
from sqlalchemy import func, select, update

from app.auth.models import Role, SecurityEvent, User
from app.auth.permissions import Actor
from app.auth.schemas import Page
from app.core import clock
from app.core.config import get_settings
from app.core.db import session_factory
from app.extractions.models import ExtractionRequest
from app.extractions.schemas import RequestRead
from app.footage import segments
from app.footage import service as footage
from app.footage.cutting import make_clip
from app.footage.models import Clip, Original
from app.footage.schemas import RequestDetail
from tests.factories import Account, account, case_with_request, make_owner
from tests.footage.test_footage import FORMATS, _upload, _video, approved_request


def _as_fastapi_rendered(model: BaseModel) -> bytes:
    """What the routes answered when FastAPI validated and rendered the ORM objects (its JSONResponse)."""
    content = model.model_dump(mode="json", by_alias=True)
    return json.dumps(content, ensure_ascii=False, allow_nan=False, indent=None, separators=(",", ":")).encode()


def _detail_from_orm(request_id: str) -> RequestDetail:
    """The detail as it was built before the read pool: the ORM request, its history relationship, and the
    originals and clips each in their own query."""
    with session_factory()() as session:
        request = session.get(ExtractionRequest, UUID(request_id))
        assert request is not None
        originals = session.scalars(
            select(Original).where(Original.request_id == request.id).order_by(Original.received_at)
        ).all()
        clips = session.scalars(select(Clip).where(Clip.request_id == request.id).order_by(Clip.created_at)).all()
        # the export as the clip job sees it, through the ORM (one file and one clip here)
        timeline = segments.export_timeline(session, request.id)
        export = None
        if originals:
            modes = {0: None, 1: "concat" if clips and len(clips[0].parents) > 1 else "single"}
            mode = modes.get(len(clips), "per_file")
            note = next((h.reason for h in reversed(request.history) if h.to_status == "clip_ready"), None)
            export = {**timeline.as_dict(), "clip_mode": mode, "clip_note": note if mode else None}
        return RequestDetail.model_validate(
            {
                **{name: getattr(request, name) for name in RequestDetail.model_fields if hasattr(request, name)},
                "history": request.history,
                "originals": originals,
                "clips": clips,
                "export": export,
            }
        )


def _denials(user_id: UUID, object_id: str) -> int:
    with session_factory()() as session:
        return (
            session.scalar(
                select(func.count())
                .select_from(SecurityEvent)
                .where(
                    SecurityEvent.kind == "permission_denied",
                    SecurityEvent.user_id == user_id,
                    SecurityEvent.details["object_id"].astext == object_id,
                )
            )
            or 0
        )


def test_a_request_with_history_original_and_clip_renders_as_before(client: TestClient, tmp_path: Path) -> None:
    investigator, owner, request_id, t0 = approved_request(client)
    video = _video(tmp_path, "detail.mp4", FORMATS["mp4-h264"][1], seconds=15)
    # a recorder clock in local time and a fractional offset: recording_start_true is derived, not stored
    recorder_clock = (t0 + timedelta(seconds=30.25)).astimezone(ZoneInfo("Asia/Ho_Chi_Minh")).replace(tzinfo=None)
    uploaded = _upload(
        client, owner, request_id, video, recorder_clock.isoformat(), **{"X-Clock-Offset-Seconds": "30.25"}
    )
    assert uploaded.status_code == 201, uploaded.text
    assert make_clip(session_factory(), uuid.UUID(request_id)) is not None

    expected = _detail_from_orm(request_id)
    assert len(expected.history) >= 4 and len(expected.originals) == 1 and len(expected.clips) == 1
    response = client.get(f"/api/v1/requests/{request_id}", headers=investigator.headers)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.content == _as_fastapi_rendered(expected)
    body = response.json()
    assert list(body["history"][0]) == ["actor", "at", "from", "to", "reason"]
    original = body["originals"][0]
    assert datetime.fromisoformat(original["recording_start_true"]) == datetime.fromisoformat(
        original["recording_start_recorder"]
    ) - timedelta(seconds=30.25)
    # the owner who handed the footage over, an auditor and an admin see the same detail
    for who in (owner, account(client, Role.auditor), account(client, Role.admin)):
        assert client.get(f"/api/v1/requests/{request_id}", headers=who.headers).content == response.content
    # the pages read the same statement through their Session
    with session_factory()() as session:
        page_detail = footage.request_detail(session, _actor(investigator), UUID(request_id))
    assert page_detail == expected.model_dump(by_alias=True)


def _actor(who: Account) -> Actor:
    return Actor(
        kind="user", role=who.role, user_id=who.id, email=who.email, unit_id=who.unit_id, owner_id=who.owner_id
    )


def test_out_of_scope_and_missing_requests_answer_404_and_the_denial_is_logged(client: TestClient) -> None:
    investigator, owner, request_id, _ = approved_request(client)
    other_unit = account(client, Role.investigator)
    other_owner = account(client, Role.owner, owner_id=make_owner("Chủ khác"))
    for who in (other_unit, other_owner):
        response = client.get(f"/api/v1/requests/{request_id}", headers=who.headers)
        assert response.status_code == 404
        assert response.headers["content-type"] == "application/problem+json"
        assert _denials(who.id, request_id) == 1
    missing = str(uuid.uuid4())
    assert client.get(f"/api/v1/requests/{missing}", headers=investigator.headers).status_code == 404
    assert _denials(investigator.id, missing) == 1
    # the supervisor of the filing unit sees it
    supervisor = account(client, Role.supervisor, unit_id=investigator.unit_id)
    assert client.get(f"/api/v1/requests/{request_id}", headers=supervisor.headers).status_code == 200


def test_the_owner_link_view_renders_the_same_detail(client: TestClient) -> None:
    investigator, case_id = case_with_request(client)
    request_id = client.get(f"/api/v1/requests?case_id={case_id}", headers=investigator.headers).json()["items"][0][
        "id"
    ]
    link = client.post(f"/api/v1/requests/{request_id}/links", headers=investigator.headers)
    assert link.status_code == 201, link.text
    token = link.json()["url"].rsplit("/", 1)[1]
    response = client.get(f"/api/v1/respond/{token}")
    assert response.status_code == 200, response.text
    assert response.content == _as_fastapi_rendered(_detail_from_orm(request_id))


def _list_from_orm(who: Account, **conditions: Any) -> bytes:
    """The list as the ORM rendered it, for an investigator's unit or everything (auditor)."""
    where = [getattr(ExtractionRequest, name) == value for name, value in conditions.items()]
    if who.role == Role.investigator:
        where.append(ExtractionRequest.unit_id == who.unit_id)
    with session_factory()() as session:
        total = session.scalar(select(func.count()).select_from(ExtractionRequest).where(*where))
        rows = session.scalars(
            select(ExtractionRequest)
            .where(*where)
            .order_by(ExtractionRequest.overwrite_deadline, ExtractionRequest.id)
            .limit(50)
        ).all()
        return _as_fastapi_rendered(Page[RequestRead].model_validate({"items": list(rows), "total": total}))


def test_the_list_keeps_scope_filters_order_and_total(client: TestClient) -> None:
    first, first_case = case_with_request(client)
    second, second_case = case_with_request(client, "Trộm xe máy")
    auditor = account(client, Role.auditor)
    mine = client.get("/api/v1/requests", headers=first.headers)
    assert mine.status_code == 200 and mine.headers["content-type"] == "application/json"
    assert mine.content == _list_from_orm(first)
    assert {r["case_id"] for r in mine.json()["items"]} == {first_case}
    everything = client.get("/api/v1/requests", headers=auditor.headers).json()
    assert {first_case, second_case} <= {r["case_id"] for r in everything["items"]} or everything["total"] > 50
    assert client.get("/api/v1/requests", headers=auditor.headers).content == _list_from_orm(auditor)
    deadlines = [datetime.fromisoformat(r["overwrite_deadline"]) for r in everything["items"]]
    assert deadlines == sorted(deadlines)

    # filters: each narrows, and a filter on another unit's case finds nothing for this investigator
    by_case = client.get(f"/api/v1/requests?case_id={second_case}", headers=auditor.headers)
    assert by_case.content == _list_from_orm(auditor, case_id=UUID(second_case))
    assert by_case.json()["total"] == 1
    request = by_case.json()["items"][0]
    by_camera = client.get(f"/api/v1/requests?camera_id={request['camera_id']}&status=submitted", headers=first.headers)
    assert by_camera.json() == {"items": [], "total": 0}
    by_status = client.get("/api/v1/requests?status=submitted", headers=second.headers).json()
    assert by_status["total"] == 1 and by_status["items"][0]["id"] == request["id"]
    assert client.get("/api/v1/requests?status=approved", headers=second.headers).json() == {"items": [], "total": 0}

    # an owner sees only the requests addressed to them
    with session_factory()() as session:
        owner_id = session.scalar(select(ExtractionRequest.owner_id).where(ExtractionRequest.id == UUID(request["id"])))
    owner = account(client, Role.owner, owner_id=owner_id)
    theirs = client.get("/api/v1/requests", headers=owner.headers).json()
    assert [r["id"] for r in theirs["items"]] == [request["id"]] and theirs["total"] == 1
    stranger = account(client, Role.owner, owner_id=make_owner("Người khác"))
    assert client.get("/api/v1/requests", headers=stranger.headers).json() == {"items": [], "total": 0}

    # an offset past the end: no items, and still the total
    past = client.get("/api/v1/requests?offset=10", headers=first.headers).json()
    assert past == {"items": [], "total": 1}


def test_the_detail_checks_the_token_in_its_own_statement_as_every_call_does(
    client: TestClient, frozen_clock: clock.FrozenClock
) -> None:
    """The detail reads the caller's user row together with the request: absent, forged, expired, revoked
    tokens and deactivated users still answer 401, before anything about the request is said."""
    investigator, case_id = case_with_request(client)
    request_id = client.get(f"/api/v1/requests?case_id={case_id}", headers=investigator.headers).json()["items"][0][
        "id"
    ]
    paths = (f"/api/v1/requests/{request_id}", f"/api/v1/requests/{uuid.uuid4()}")
    for path in paths:
        assert client.get(path).status_code == 401
        assert client.get(path, headers={"Authorization": "Bearer not-a-token"}).status_code == 401
        assert client.get(path, headers={"Authorization": f"Bearer {investigator.token}x"}).status_code == 401
    assert client.get(paths[0], headers=investigator.headers).status_code == 200

    # expiry is compared on every use, also for a token already seen
    frozen_clock.advance(minutes=get_settings().token_ttl_minutes, seconds=1)
    expired = client.get(paths[0], headers=investigator.headers)
    assert expired.status_code == 401 and expired.headers["content-type"] == "application/problem+json"
    frozen_clock.advance(minutes=-get_settings().token_ttl_minutes)

    # revoked by logout: the user row's token version has moved on
    fresh = account(client, Role.investigator, unit_id=investigator.unit_id)
    assert client.get(paths[0], headers=fresh.headers).status_code == 200
    assert client.post("/api/v1/auth/logout", headers=fresh.headers).status_code == 204
    assert client.get(paths[0], headers=fresh.headers).status_code == 401

    # a deactivated user
    other = account(client, Role.auditor)
    assert client.get(paths[0], headers=other.headers).status_code == 200
    with session_factory()() as session, session.begin():
        session.execute(update(User).where(User.id == other.id).values(is_active=False))
    for path in paths:
        assert client.get(path, headers=other.headers).status_code == 401
