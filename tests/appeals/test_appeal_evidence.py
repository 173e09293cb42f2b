"""Appeals' evidence in the whole-store checks: custody verification re-hashes submissions and their clips and
finds the log sound; the orphan sweep knows their objects (under appeals/) and still reports a stray one there."""

from __future__ import annotations

import hashlib
import time
from pathlib import Path

from fastapi.testclient import TestClient

from app.appeals import evidence
from app.appeals.models import Submission
from app.appeals.retention import release_closed, sweep_declined
from app.auth.models import Role
from app.core.config import get_settings, override_settings
from app.core.db import session_factory
from app.core.storage import get_storage
from app.footage.orphans import sweep_orphans
from tests.appeals.helpers import investigator_with_case, phone_video, photo_png, publish, send
from tests.factories import account

SECONDS = 3


def test_submissions_and_clips_verify_and_are_no_orphans(isolated_client: TestClient, tmp_path: Path) -> None:
    client = isolated_client
    investigator, case = investigator_with_case(client)
    appeal = publish(client, investigator, case)
    video = phone_video(tmp_path / "v.mp4").read_bytes()
    assert (
        send(client, appeal["slug"], video, "video/mp4", "v.mp4", X_Taken_At="2026-12-02T20:15:00").status_code == 202
    )
    assert send(client, appeal["slug"], photo_png(), "image/png", "p.png").status_code == 202
    items = client.get(f"/api/v1/appeals/{appeal['id']}/submissions", headers=investigator.headers).json()["items"]
    by_kind = {s["kind"]: s for s in items}
    video_id = by_kind["video"]["id"]
    client.post(f"/api/v1/submissions/{video_id}/accept", json={}, headers=investigator.headers)
    clip = client.post(
        f"/api/v1/submissions/{video_id}/clips",
        json={"window_start": "2026-12-02T13:15:00+00:00", "window_end": "2026-12-02T13:15:01+00:00"},
        headers=investigator.headers,
    ).json()
    client.post(
        f"/api/v1/submissions/{by_kind['photo']['id']}/decline",
        json={"category": "duplicate", "reason": "đã có ảnh này"},
        headers=investigator.headers,
    )

    auditor = account(client, Role.auditor)
    verified = client.post("/api/v1/custody/verify", headers=auditor.headers)
    assert verified.status_code == 200, verified.text
    assert verified.json()["ok"], verified.json()["problems"][:5]

    stray_key = f"appeals/{appeal['id']}/stray/left-behind.mp4"
    stray = get_storage().put_file(stray_key, tmp_path / "v.mp4")
    with session_factory()() as session, session.begin():
        report = sweep_orphans(session, remove=False, kinds=evidence.KINDS)
    found = {(o["object_key"], o["version_id"]) for o in report.objects_without_rows}
    assert (stray_key, stray.version_id) in found
    mine = [key for key, _ in found if key.startswith(f"appeals/{appeal['id']}/") and key != stray_key]
    assert not mine, mine
    assert (
        clip["sha256"]
        == hashlib.sha256(
            b"".join(
                get_storage().iter_version(
                    f"appeals/{appeal['id']}/{video_id}/clips/{clip['id']}.{clip['container']}", clip["version_id"]
                )
            )
        ).hexdigest()
    )


def test_a_declined_submission_leaves_storage_when_its_quarantine_lock_passes(isolated_client: TestClient) -> None:
    client = isolated_client
    before = get_settings().appeal_quarantine_days
    override_settings(appeal_quarantine_days=SECONDS / 86400)
    try:
        investigator, case = investigator_with_case(client)
        appeal = publish(client, investigator, case)
        for name in ("declined.png", "waiting.png"):
            assert send(client, appeal["slug"], photo_png(), "image/png", name).status_code == 202
    finally:
        override_settings(appeal_quarantine_days=before)
    items = client.get(f"/api/v1/appeals/{appeal['id']}/submissions", headers=investigator.headers).json()["items"]
    declined, waiting = sorted(items, key=lambda s: s["filename"])
    client.post(
        f"/api/v1/submissions/{declined['id']}/decline",
        json={"category": "abusive", "reason": "nội dung rác"},
        headers=investigator.headers,
    )
    with session_factory()() as session, session.begin():
        assert sweep_declined(session) == []  # still locked: nothing is even tried before its time
    time.sleep(SECONDS + 1)  # the real S3 server enforces the lock by its own clock
    with session_factory()() as session, session.begin():
        assert sweep_declined(session) == [declined["id"]]  # the quarantined one keeps its legal hold
    with session_factory()() as session:
        row = session.get(Submission, declined["id"])
        assert row is not None and row.deleted_at is not None
        assert get_storage().versions(row.object_key) == []
    auditor = account(client, Role.auditor)
    verified = client.post("/api/v1/custody/verify", headers=auditor.headers).json()
    assert verified["ok"], verified["problems"][:5]  # the deletion is on the record: not a missing object


def test_accepted_submissions_lose_their_hold_when_the_case_closes(isolated_client: TestClient, tmp_path: Path) -> None:
    client = isolated_client
    investigator, case = investigator_with_case(client)
    appeal = publish(client, investigator, case)
    video = phone_video(tmp_path / "v.mp4").read_bytes()
    assert (
        send(client, appeal["slug"], video, "video/mp4", "v.mp4", X_Taken_At="2026-12-02T20:15:00").status_code == 202
    )
    item = client.get(f"/api/v1/appeals/{appeal['id']}/submissions", headers=investigator.headers).json()["items"][0]
    client.post(f"/api/v1/submissions/{item['id']}/accept", json={}, headers=investigator.headers)
    clip = client.post(
        f"/api/v1/submissions/{item['id']}/clips",
        json={"window_start": "2026-12-02T13:15:00+00:00", "window_end": "2026-12-02T13:15:01+00:00"},
        headers=investigator.headers,
    ).json()
    with session_factory()() as session, session.begin():
        assert release_closed(session) == []  # the case is open: every hold stays
    closed = client.post(
        f"/api/v1/cases/{case['id']}/close",
        json={"outcome": "clarified", "footage_contributed": True},
        headers=investigator.headers,
    )
    assert closed.status_code == 200, closed.text
    with session_factory()() as session, session.begin():
        assert sorted(release_closed(session)) == sorted([item["id"], clip["id"]])
    with session_factory()() as session:
        row = session.get(Submission, item["id"])
        assert row is not None and not row.legal_hold
        assert not get_storage().stat(row.object_key, row.version_id).legal_hold
    auditor = account(client, Role.auditor)
    verified = client.post("/api/v1/custody/verify", headers=auditor.headers).json()
    assert verified["ok"], verified["problems"][:5]
