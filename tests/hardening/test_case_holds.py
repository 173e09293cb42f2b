"""Holds and retention that follow the case, against the real SeaweedFS: a manual legal hold placed and released
with a reason by a supervisor of the case's unit (never lifting the hold an open case keeps, respected by the
retention sweep), and a new retention category extending the locks of the case's stored objects, never
shortening them; each step a custody event per object."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import select, text

from app.auth.models import Role
from app.core.db import session_factory
from app.core.storage import get_storage
from app.custody.models import CustodyEvent
from app.footage.cutting import make_clip
from app.footage.models import Clip, Original
from app.footage.retention import follow_case_retention, sweep_retention
from tests.factories import Account, account, make_unit
from tests.footage.test_footage import FORMATS, _upload, _video, approved  # noqa: F401  (approved: a fixture)


def _evidence(
    client: TestClient, made: tuple[Account, Account, str, datetime], tmp_path: Path
) -> tuple[Account, str, list[Original | Clip]]:
    investigator, owner, request_id, t0 = made
    video = _video(tmp_path, "rec.mp4", FORMATS["mp4-h264"][1], seconds=15)
    assert _upload(client, owner, request_id, video, t0.isoformat()).status_code == 201
    assert make_clip(session_factory(), uuid.UUID(request_id)) is not None
    case_id = client.get(f"/api/v1/requests/{request_id}", headers=investigator.headers).json()["case_id"]
    return investigator, case_id, _rows(request_id)


def _rows(request_id: str) -> list[Original | Clip]:
    with session_factory()() as session:
        rows: list[Original | Clip] = [
            *session.scalars(select(Original).where(Original.request_id == uuid.UUID(request_id))),
            *session.scalars(select(Clip).where(Clip.request_id == uuid.UUID(request_id))),
        ]
        session.expunge_all()
    assert len(rows) == 2
    return rows


def _held_in_s3(rows: list[Original | Clip]) -> list[bool]:
    return [get_storage().stat(r.object_key, r.version_id).legal_hold for r in rows]


def _actions(rows: list[Original | Clip], prefix: str) -> list[tuple[str, uuid.UUID | None]]:
    with session_factory()() as session:
        return [
            (e.action, e.object_id)
            for e in session.scalars(
                select(CustodyEvent)
                .where(CustodyEvent.object_id.in_([r.id for r in rows]), CustodyEvent.action.startswith(prefix))
                .order_by(CustodyEvent.seq)
            )
        ]


def _no_problems_about(rows: list[Original | Clip], case_id: str) -> None:
    from app.custody.verify import verify_log

    mine = {str(r.id) for r in rows} | {case_id}
    with session_factory()() as session:
        result = verify_log(session, include_objects=True, workers=1)
    assert [p for p in result.problems if p.object_id in mine] == []


def test_a_manual_hold_outlasts_the_case_and_its_release_keeps_an_open_cases_hold(
    client: TestClient,
    approved: tuple[Account, Account, str, datetime],  # noqa: F811
    tmp_path: Path,
) -> None:
    investigator, case_id, rows = _evidence(client, approved, tmp_path)
    supervisor = account(client, Role.supervisor, unit_id=investigator.unit_id)
    stranger = account(client, Role.supervisor, unit_id=make_unit())
    hold = f"/api/v1/cases/{case_id}/legal-hold"
    body = {"reason": "Kháng cáo: giữ chứng cứ đến khi xét xử phúc thẩm"}

    assert client.post(hold, headers=investigator.headers, json=body).status_code == 403
    assert client.post(hold, headers=stranger.headers, json=body).status_code == 404
    assert client.post(hold, headers=supervisor.headers, json={"reason": " "}).status_code == 422
    placed = client.post(hold, headers=supervisor.headers, json=body)
    assert placed.status_code == 200, placed.text
    assert placed.json()["manual_hold"] and all(o["legal_hold"] for o in placed.json()["objects"])
    assert client.post(hold, headers=supervisor.headers, json=body).status_code == 409

    # released while the case is open: the case's own hold stays on every object
    released = client.post(f"{hold}/release", headers=supervisor.headers, json={"reason": "Nhầm vụ án"})
    assert released.status_code == 200, released.text
    assert _held_in_s3(rows) == [True, True]
    assert client.post(f"{hold}/release", headers=supervisor.headers, json=body).status_code == 409

    admin = account(client, Role.admin)
    assert client.post(hold, headers=admin.headers, json=body).status_code == 200
    closed = client.post(
        f"/api/v1/cases/{case_id}/close",
        headers=investigator.headers,
        json={"outcome": "clarified", "footage_contributed": True},
    )
    assert closed.status_code == 200, closed.text
    report = sweep_retention(session_factory())  # the case is closed, but under a manual hold
    assert not {str(r.id) for r in rows} & set(report.released)
    assert _held_in_s3(rows) == [True, True]

    lifted = client.post(f"{hold}/release", headers=supervisor.headers, json={"reason": "Bản án có hiệu lực"})
    assert lifted.status_code == 200, lifted.text
    assert not any(o["legal_hold"] for o in lifted.json()["objects"])
    assert _held_in_s3(rows) == [False, False]
    assert [r.legal_hold for r in _rows(approved[2])] == [False, False]
    ids = [r.id for r in rows]
    assert _actions(rows, "legal_hold.") == [
        *[("legal_hold.placed", i) for i in ids],
        *[("legal_hold.manual_released", i) for i in ids],
        *[("legal_hold.placed", i) for i in ids],
        *[("legal_hold.released", i) for i in ids],
    ]
    _no_problems_about(rows, case_id)


def test_a_new_retention_category_extends_the_locks_and_never_shortens_them(
    client: TestClient,
    approved: tuple[Account, Account, str, datetime],  # noqa: F811
    tmp_path: Path,
) -> None:
    investigator, case_id, rows = _evidence(client, approved, tmp_path)
    admin = account(client, Role.admin)
    store = get_storage()
    before = [store.stat(r.object_key, r.version_id) for r in rows]

    def category(days: float) -> str:
        code = f"c{uuid.uuid4().hex[:8]}"
        created = client.post(
            "/api/v1/retention-categories",
            headers=admin.headers,
            json={"code": code, "name": f"{days} ngày", "retention_days": days, "mode": "GOVERNANCE"},
        )
        assert created.status_code == 201, created.text
        return code

    longer = category(4000)
    patched = client.patch(
        f"/api/v1/cases/{case_id}", headers=investigator.headers, json={"retention_category": longer}
    )
    assert patched.status_code == 200, patched.text
    with session_factory()() as session:  # the change asked for the follow-up job
        queued = session.scalar(
            text(
                "SELECT count(*) FROM procrastinate.procrastinate_jobs "
                "WHERE task_name = 'retention.follow_case' AND args->>'case_id' = :id"
            ),
            {"id": case_id},
        )
    assert queued == 1
    sweep_retention(session_factory())  # the sweep does what the job does (a lost job only delays it)
    for row, old in zip(rows, before, strict=True):
        now = store.stat(row.object_key, row.version_id)
        stored_at = row.received_at if isinstance(row, Original) else row.created_at
        assert now.retain_until is not None and old.retain_until is not None
        assert abs((now.retain_until - (stored_at + timedelta(days=4000))).total_seconds()) < 2
        assert now.retain_until > old.retain_until and now.retention_mode == old.retention_mode
    assert follow_case_retention(session_factory(), uuid.UUID(case_id)) == []  # done once
    assert _actions(rows, "retention.extended") == [("retention.extended", r.id) for r in rows]

    extended = [store.stat(r.object_key, r.version_id).retain_until for r in rows]
    shorter = category(10)
    patched = client.patch(
        f"/api/v1/cases/{case_id}", headers=investigator.headers, json={"retention_category": shorter}
    )
    assert patched.status_code == 200, patched.text
    assert follow_case_retention(session_factory(), uuid.UUID(case_id)) == []
    assert [store.stat(r.object_key, r.version_id).retain_until for r in rows] == extended
    _no_problems_about(rows, case_id)
