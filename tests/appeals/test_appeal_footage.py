"""An accepted submission's original and its clips are footage of the case like any other, against the real
PostgreSQL, SeaweedFS and ffmpeg: their records and links answer the case's unit (another unit gets 404, each read a
custody event), their clip gets its poster and strip, a manual hold on the case keeps them (and the submission
sharing the original's object) past their retention, and once the closed case's hold is lifted the retention sweep
deletes the clip's previews, the clip and the original, the submission following, each a custody event; the log
still verifies."""

from __future__ import annotations

import time
import uuid
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from app.appeals.models import Submission
from app.auth.models import Role
from app.core.config import get_settings, override_settings
from app.core.db import session_factory
from app.core.storage import StorageError, get_storage
from app.custody.models import CustodyEvent
from app.footage.models import Clip, Original
from app.footage.preview_models import Preview
from app.footage.previews import make_previews
from app.footage.retention import sweep_retention
from tests.appeals.helpers import investigator_with_case, phone_video, publish, send
from tests.factories import Account, account, make_unit

SECONDS = 4


def _short_category(client: TestClient) -> str:
    admin = account(client, Role.admin)
    code = f"short_{uuid.uuid4().hex[:6]}"
    created = client.post(
        "/api/v1/retention-categories",
        headers=admin.headers,
        json={"code": code, "name": "Thử nghiệm", "retention_days": SECONDS / 86400, "mode": "GOVERNANCE"},
    )
    assert created.status_code == 201, created.text
    return code


def _accepted_with_clip(
    client: TestClient, tmp_path: Path, *, category: str | None = None
) -> tuple[Account, dict[str, Any], dict[str, Any], Original, dict[str, Any]]:
    """A case with an appeal whose video was accepted and cut into a clip: (investigator, case, submission,
    the original it became, the clip)."""
    investigator, case = investigator_with_case(client)
    if category is not None:
        patched = client.patch(
            f"/api/v1/cases/{case['id']}", headers=investigator.headers, json={"retention_category": category}
        )
        assert patched.status_code == 200, patched.text
    appeal = publish(client, investigator, case)
    before = get_settings().appeal_quarantine_days
    if category is not None:
        override_settings(appeal_quarantine_days=SECONDS / 86400)  # the quarantine lock as short as the category's
    try:
        video = phone_video(tmp_path / "v.mp4", seconds=3).read_bytes()
        sent = send(client, appeal["slug"], video, "video/mp4", "v.mp4", X_Taken_At="2026-12-02T20:15:00")
        assert sent.status_code == 202, sent.text
    finally:
        override_settings(appeal_quarantine_days=before)
    submission = client.get(f"/api/v1/appeals/{appeal['id']}/submissions", headers=investigator.headers).json()[
        "items"
    ][0]
    accepted = client.post(f"/api/v1/submissions/{submission['id']}/accept", json={}, headers=investigator.headers)
    assert accepted.status_code == 200, accepted.text
    clip = client.post(
        f"/api/v1/submissions/{submission['id']}/clips",
        json={"window_start": "2026-12-02T13:15:00+00:00", "window_end": "2026-12-02T13:15:02+00:00"},
        headers=investigator.headers,
    )
    assert clip.status_code == 201, clip.text
    with session_factory()() as session:
        original = session.scalars(select(Original).where(Original.appeal_submission_id == submission["id"])).one()
        session.expunge(original)
    return investigator, case, submission, original, clip.json()


def _actions(object_ids: list[uuid.UUID]) -> list[tuple[str, uuid.UUID | None]]:
    with session_factory()() as session:
        return [
            (e.action, e.object_id)
            for e in session.scalars(
                select(CustodyEvent).where(CustodyEvent.object_id.in_(object_ids)).order_by(CustodyEvent.seq)
            )
        ]


def _verified(client: TestClient) -> None:
    auditor = account(client, Role.auditor)
    verified = client.post("/api/v1/custody/verify", headers=auditor.headers).json()
    assert verified["ok"], verified["problems"][:5]


def test_the_records_links_and_previews_of_an_appeals_footage_answer_the_cases_unit(
    isolated_client: TestClient, tmp_path: Path
) -> None:
    client = isolated_client
    investigator, case, submission, original, clip = _accepted_with_clip(client, tmp_path)
    stranger = account(client, Role.investigator, unit_id=make_unit())

    record = client.get(f"/api/v1/originals/{original.id}", headers=investigator.headers)
    assert record.status_code == 200, record.text
    assert record.json()["request_id"] is None and record.json()["case_id"] == case["id"]
    assert record.json()["appeal_submission_id"] == submission["id"]
    assert record.json()["sha256"] == submission["sha256"]
    read = client.get(f"/api/v1/clips/{clip['id']}", headers=investigator.headers)
    assert read.status_code == 200 and read.json()["case_id"] == case["id"] and read.json()["request_id"] is None
    assert client.get(f"/api/v1/originals/{original.id}", headers=stranger.headers).status_code == 404
    assert client.get(f"/api/v1/clips/{clip['id']}", headers=stranger.headers).status_code == 404

    body = {"purpose": "Xem lại đoạn trích người dân gửi"}
    link = client.post(f"/api/v1/clips/{clip['id']}/download-link", json=body, headers=investigator.headers)
    assert link.status_code == 200, link.text
    assert client.post(
        f"/api/v1/clips/{clip['id']}/download-link", json=body, headers=stranger.headers
    ).status_code == (404)
    fetched = client.get(f"/api/v1/links/{link.json()['url'].rsplit('/', 1)[1]}", follow_redirects=False)
    assert fetched.status_code in (302, 307), fetched.text
    assert (
        client.post(f"/api/v1/originals/{original.id}/download-link", json=body, headers=stranger.headers).status_code
        == 404
    )

    actions = [a for a, _ in _actions([original.id, uuid.UUID(clip["id"])])]
    assert "original.record_read" in actions and "clip.record_read" in actions
    assert "clip.download_link_issued" in actions and "clip.link_fetched" in actions

    made = make_previews(session_factory(), uuid.UUID(clip["id"]))
    assert [p.kind for p in made][:1] == ["poster"] and len(made) >= 2
    assert all(p.parent_sha256 == clip["sha256"] for p in made)
    with session_factory()() as session:
        events = session.scalars(
            select(CustodyEvent).where(
                CustodyEvent.action == "preview.created", CustodyEvent.object_id.in_([p.id for p in made])
            )
        ).all()
    assert len(events) == len(made) and {str(e.case_id) for e in events} == {case["id"]}
    _verified(client)


def test_a_case_hold_keeps_an_appeals_footage_and_retention_deletes_it_with_the_closed_case(
    isolated_client: TestClient, tmp_path: Path
) -> None:
    client = isolated_client
    category = _short_category(client)
    investigator, case, submission, original, clip = _accepted_with_clip(client, tmp_path, category=category)
    clip_id = uuid.UUID(clip["id"])
    with session_factory()() as session:
        row = session.get(Clip, clip_id)
        assert row is not None
        clip["object_key"] = row.object_key
    previews = make_previews(session_factory(), clip_id)
    assert previews
    supervisor = account(client, Role.supervisor, unit_id=investigator.unit_id)
    hold = f"/api/v1/cases/{case['id']}/legal-hold"
    placed = client.post(hold, headers=supervisor.headers, json={"reason": "Kháng cáo: giữ chứng cứ"})
    assert placed.status_code == 200, placed.text
    assert {o["id"] for o in placed.json()["objects"]} == {str(original.id), clip["id"]}
    closed = client.post(
        f"/api/v1/cases/{case['id']}/close",
        headers=investigator.headers,
        json={"outcome": "clarified", "footage_contributed": True},
    )
    assert closed.status_code == 200, closed.text

    time.sleep(SECONDS + 1)  # past every lock by the S3 server's own clock
    report = sweep_retention(session_factory())
    mine = {str(original.id), clip["id"], *(str(p.id) for p in previews)}
    assert not mine & (set(report.released) | set(report.deleted)), report
    store = get_storage()
    for key, version in ((original.object_key, original.version_id), (clip["object_key"], clip["version_id"])):
        assert store.stat(key, version).legal_hold
        try:
            store.remove_version(key, version)
        except StorageError:
            pass
        else:
            raise AssertionError("a held version was deleted")
    _verified(client)

    lifted = client.post(f"{hold}/release", headers=supervisor.headers, json={"reason": "Bản án có hiệu lực"})
    assert lifted.status_code == 200, lifted.text
    assert not store.stat(original.object_key, original.version_id).legal_hold
    with session_factory()() as session:
        row = session.get(Submission, submission["id"])
        assert row is not None and not row.legal_hold  # the submission shares the object: it follows
    _verified(client)

    report = sweep_retention(session_factory())
    assert mine <= set(report.deleted), report
    assert store.versions(original.object_key) == [] and store.versions(clip["object_key"]) == []
    assert all(store.versions(p.object_key) == [] for p in previews)
    with session_factory()() as session:
        assert session.get(Original, original.id).deleted_at is not None  # type: ignore[union-attr]
        assert session.get(Clip, clip_id).deleted_at is not None  # type: ignore[union-attr]
        assert all(p.deleted_at is not None for p in session.scalars(select(Preview).where(Preview.clip_id == clip_id)))
        row = session.get(Submission, submission["id"])
        assert row is not None and row.deleted_at is not None
    events = _actions([original.id, clip_id, uuid.UUID(submission["id"]), *(p.id for p in previews)])
    deleted = [i for a, i in events if a == "retention.deleted"]
    assert deleted.index(clip_id) < deleted.index(original.id)  # the clip first, its previews before it
    assert all(deleted.index(p.id) < deleted.index(clip_id) for p in previews)
    assert uuid.UUID(submission["id"]) in deleted
    assert ("legal_hold.placed", original.id) in events and ("legal_hold.released", clip_id) in events
    assert ("legal_hold.released", uuid.UUID(submission["id"])) in events
    _verified(client)
