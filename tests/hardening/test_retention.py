"""Retention against the real SeaweedFS: a case's category sets the lock period; nothing of an open case is
released or deleted, even past its retention; closing the case lets the sweep release the holds and then delete
the versions past retention — clip before original — each step a custody event."""

from __future__ import annotations

import time
import uuid
from datetime import datetime
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import select

from app.core.db import session_factory
from app.core.storage import StorageError, get_storage
from app.custody.models import CustodyEvent
from app.footage.cutting import make_clip
from app.footage.models import Clip, Original
from app.footage.retention import sweep_retention
from tests.factories import Account, account
from tests.footage.test_footage import FORMATS, _upload, _video, approved  # noqa: F401  (approved: a fixture)

SECONDS = 4


def _rows(request_id: str) -> tuple[Original, Clip]:
    with session_factory()() as session:
        original = session.scalars(select(Original).where(Original.request_id == uuid.UUID(request_id))).one()
        clip = session.scalars(select(Clip).where(Clip.request_id == uuid.UUID(request_id))).one()
        session.expunge_all()
    return original, clip


def test_the_category_sets_the_lock_and_only_closed_cases_evidence_is_released_then_deleted(
    client: TestClient,
    approved: tuple[Account, Account, str, datetime],  # noqa: F811
    tmp_path: Path,
) -> None:
    investigator, owner, request_id, t0 = approved
    from app.auth.models import Role

    admin = account(client, Role.admin)
    code = f"short_{uuid.uuid4().hex[:6]}"
    created = client.post(
        "/api/v1/retention-categories",
        headers=admin.headers,
        json={"code": code, "name": "Thử nghiệm", "retention_days": SECONDS / 86400, "mode": "GOVERNANCE"},
    )
    assert created.status_code == 201, created.text
    assert code in {c["code"] for c in client.get("/api/v1/retention-categories", headers=admin.headers).json()}
    case_id = client.get(f"/api/v1/requests/{request_id}", headers=investigator.headers).json()["case_id"]
    unknown = client.patch(f"/api/v1/cases/{case_id}", headers=investigator.headers, json={"retention_category": "x"})
    assert unknown.status_code == 422 and unknown.json()["errors"][0]["field"] == "retention_category"
    patched = client.patch(f"/api/v1/cases/{case_id}", headers=investigator.headers, json={"retention_category": code})
    assert patched.status_code == 200 and patched.json()["retention_category"] == code

    video = _video(tmp_path, "rec.mp4", FORMATS["mp4-h264"][1], seconds=15)
    assert _upload(client, owner, request_id, video, t0.isoformat()).status_code == 201
    assert make_clip(session_factory(), uuid.UUID(request_id)) is not None
    original, clip = _rows(request_id)
    store = get_storage()
    for row, stored_at in ((original, original.received_at), (clip, clip.created_at)):
        stat = store.stat(row.object_key, row.version_id)
        assert stat.retention_mode == "GOVERNANCE" and stat.legal_hold
        assert stat.retain_until is not None and 0 < (stat.retain_until - stored_at).total_seconds() < SECONDS + 5

    time.sleep(SECONDS + 1)  # the real S3 server enforces retention by its own clock
    report = sweep_retention(session_factory())
    mine = {str(original.id), str(clip.id)}
    assert not mine & set(report.released) and not mine & set(report.deleted)  # the case is open
    for row in (original, clip):
        assert store.stat(row.object_key, row.version_id).legal_hold
        try:
            store.remove_version(row.object_key, row.version_id)
        except StorageError:
            pass
        else:
            raise AssertionError("a held version was deleted")

    closed = client.post(
        f"/api/v1/cases/{case_id}/close",
        headers=investigator.headers,
        json={"outcome": "clarified", "footage_contributed": True},
    )
    assert closed.status_code == 200, closed.text
    report = sweep_retention(session_factory())
    assert mine <= set(report.released) and mine <= set(report.deleted)
    assert store.versions(original.object_key) == [] and store.versions(clip.object_key) == []
    original, clip = _rows(request_id)
    assert original.deleted_at is not None and clip.deleted_at is not None
    assert not original.legal_hold and not clip.legal_hold
    with session_factory()() as session:
        events = [
            (e.action, e.object_id)
            for e in session.scalars(
                select(CustodyEvent)
                .where(CustodyEvent.object_id.in_([original.id, clip.id]))
                .order_by(CustodyEvent.seq)
            )
            if e.action.startswith("retention.")
        ]
    assert events == [
        ("retention.hold_released", clip.id),
        ("retention.deleted", clip.id),
        ("retention.hold_released", original.id),
        ("retention.deleted", original.id),
    ]
    # custody verification expects the deleted versions gone instead of reporting them missing
    from app.custody.verify import verify_log

    with session_factory()() as session:
        result = verify_log(session, include_objects=True, workers=1)
    about_mine = [p for p in result.problems if p.object_id in mine or (p.detail and original.object_key in p.detail)]
    assert about_mine == []
