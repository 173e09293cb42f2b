"""Footage end to end against the real S3 server and the real ffmpeg: ingest, lock, clip, download."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from app.auth.models import Role
from app.core import media
from app.core.db import session_factory
from app.core.storage import StorageError, get_storage
from app.footage.cutting import make_clip
from app.footage.models import Original
from tests.factories import Account, account, give_consent, make_camera, make_owner, make_unit

SECONDS = 20
FORMATS = {
    "mp4-h264": ("rec.mp4", ["-c:v", "libx264", "-g", "50", "-c:a", "aac"]),
    "mkv-h265": ("rec.mkv", ["-c:v", "libx265", "-x265-params", "keyint=50:log-level=error", "-c:a", "aac"]),
    "mpegts": ("rec.ts", ["-c:v", "libx264", "-g", "50", "-c:a", "aac"]),
    "avi-mjpeg": ("rec.avi", ["-c:v", "mjpeg", "-c:a", "pcm_s16le"]),
    "raw-h264": ("rec.h264", ["-an", "-c:v", "libx264", "-g", "50", "-f", "h264"]),
}


def _video(directory: Path, name: str, codec: list[str], seconds: int = SECONDS) -> Path:
    path = directory / name
    audio = [] if "-an" in codec else ["-f", "lavfi", "-i", f"sine=frequency=440:duration={seconds}"]
    media.run_ffmpeg(
        ["-f", "lavfi", "-i", f"testsrc2=size=320x240:rate=25:duration={seconds}", *audio, *codec, "-y", str(path)]
    )
    return path


@pytest.fixture()
def approved(client: TestClient) -> tuple[Account, Account, str, datetime]:
    """An approved request (auto-approve consent) whose window is 5 s..12 s into a recording that starts at t0."""
    return approved_request(client)


def approved_request(client: TestClient) -> tuple[Account, Account, str, datetime]:
    unit = make_unit()
    investigator = account(client, Role.investigator, unit_id=unit)
    owner = make_owner()
    give_consent(owner, scope="auto_approve")
    owner_account = account(client, Role.owner, owner_id=owner)
    t0 = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=5)
    case = client.post(
        "/api/v1/cases",
        headers=investigator.headers,
        json={
            "number": f"VV-{uuid.uuid4().hex[:8]}",
            "title": "Cướp giật",
            "offence": "robbery",
            "incident_lat": 10.77,
            "incident_lon": 106.70,
            "incident_start": t0.isoformat(),
            "incident_end": (t0 + timedelta(minutes=1)).isoformat(),
        },
    ).json()
    request = client.post(
        f"/api/v1/cases/{case['id']}/requests",
        headers=investigator.headers,
        json={
            "camera_id": str(make_camera(owner)),
            "window_start": (t0 + timedelta(seconds=5)).isoformat(),
            "window_end": (t0 + timedelta(seconds=12)).isoformat(),
            "purpose": "Xác định đối tượng",
            "legal_basis": "Điều 88 BLTTHS",
        },
    ).json()
    assert request["status"] == "approved"
    return investigator, owner_account, request["id"], t0


def _upload(
    client: TestClient, who: Account, request_id: str, path: Path, recording_start: str, **headers: str
) -> httpx.Response:
    return client.put(
        f"/api/v1/requests/{request_id}/original",
        content=path.read_bytes(),
        headers={**who.headers, "X-Filename": path.name, "X-Recording-Start": recording_start, **headers},
    )


def _no_evidence_left(request_id: str) -> None:
    with session_factory()() as session:
        assert (
            session.scalar(
                select(func.count()).select_from(Original).where(Original.request_id == uuid.UUID(request_id))
            )
            == 0
        )
    store = get_storage()
    leftovers = [
        o
        for o in store.client.list_objects(
            store.bucket, prefix=f"originals/{request_id}/", recursive=True, include_version=True
        )
        if not o.is_delete_marker
    ]
    assert leftovers == []


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_each_format_ingests_and_clips(
    fmt: str, client: TestClient, approved: tuple[Account, Account, str, datetime], tmp_path: Path
) -> None:
    investigator, owner, request_id, t0 = approved
    name, codec = FORMATS[fmt]
    path = _video(tmp_path, name, codec)
    # The recorder runs on Vietnam local time and is 90 s fast; the uploader states its clock, no offset given.
    recorder_clock = (t0 + timedelta(seconds=90)).astimezone(ZoneInfo("Asia/Ho_Chi_Minh")).replace(tzinfo=None)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    response = _upload(
        client,
        owner,
        request_id,
        path,
        recorder_clock.isoformat(),
        **{"X-Clock-Offset-Seconds": "90", "X-Content-SHA256": digest},
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["sha256"] == digest and body["size"] == path.stat().st_size and body["version_id"]
    assert 19 <= body["media"]["duration_s"] <= 21
    assert body["frame_rate_assumed"] is (fmt == "raw-h264")

    clip = make_clip(session_factory(), uuid.UUID(request_id))
    assert clip is not None
    again = make_clip(session_factory(), uuid.UUID(request_id))
    assert again is None or again.id == clip.id  # idempotent
    detail = client.get(f"/api/v1/requests/{request_id}", headers=investigator.headers).json()
    assert detail["status"] == "clip_ready" and len(detail["clips"]) == 1
    read = client.get(f"/api/v1/clips/{clip.id}", headers=investigator.headers).json()
    requested_start, requested_end = t0 + timedelta(seconds=5), t0 + timedelta(seconds=12)
    actual_start, actual_end = (datetime.fromisoformat(read[k]) for k in ("actual_start", "actual_end"))
    gop = timedelta(seconds=2.1)
    assert requested_start - gop <= actual_start <= requested_start + timedelta(milliseconds=50)
    assert requested_end - timedelta(milliseconds=50) <= actual_end <= requested_end + gop
    assert read["parent_sha256"] == digest and read["tool"] == "ffmpeg" and "-c copy" in read["command"][-1]

    link = client.post(
        f"/api/v1/clips/{clip.id}/download-link", json={"purpose": "Trình viện kiểm sát"}, headers=investigator.headers
    )
    assert link.status_code == 200
    # the link is the service's: the fetch is logged, then a redirect to the exact version in storage
    followed = client.get(link.json()["url"], follow_redirects=False)
    assert followed.status_code == 302
    downloaded = httpx.get(followed.headers["location"])
    assert downloaded.status_code == 200
    assert hashlib.sha256(downloaded.content).hexdigest() == read["sha256"]
    # stream copy: the clip's video codec is the original's
    clip_file = tmp_path / f"clip.{read['container']}"
    clip_file.write_bytes(downloaded.content)
    assert (
        media.probe(clip_file).video_codec
        == media.probe(
            path, **dict(zip(("format", "options"), media.open_options(path.name, None), strict=True))
        ).video_codec
    )
    with pytest.raises(StorageError):
        get_storage().remove_version(clip.object_key, clip.version_id)


def test_bad_uploads_leave_nothing(
    client: TestClient, approved: tuple[Account, Account, str, datetime], tmp_path: Path
) -> None:
    _, owner, request_id, t0 = approved
    video = _video(tmp_path, "ok.mp4", FORMATS["mp4-h264"][1], seconds=6)
    mismatch = _upload(client, owner, request_id, video, t0.isoformat(), **{"X-Content-SHA256": "0" * 64})
    assert mismatch.status_code == 422 and mismatch.json()["errors"][0]["field"] == "X-Content-SHA256"
    text = tmp_path / "notes.mp4"
    text.write_text("không phải video\n" * 500, encoding="utf-8")
    assert _upload(client, owner, request_id, text, t0.isoformat()).status_code == 422
    truncated = tmp_path / "cut.mp4"
    truncated.write_bytes(video.read_bytes()[: video.stat().st_size // 2])
    refused = _upload(client, owner, request_id, truncated, t0.isoformat())
    assert refused.status_code == 422 and "does not play as a video" in refused.json()["detail"]
    no_start = client.put(
        f"/api/v1/requests/{request_id}/original", content=b"x", headers={**owner.headers, "X-Filename": "a.mp4"}
    )
    assert no_start.status_code == 422 and no_start.json()["errors"][0]["field"] == "X-Recording-Start"
    _no_evidence_left(request_id)


def test_no_overlap_marks_footage_mismatch(
    client: TestClient, approved: tuple[Account, Account, str, datetime], tmp_path: Path
) -> None:
    investigator, owner, request_id, t0 = approved
    video = _video(tmp_path, "early.mp4", FORMATS["mp4-h264"][1], seconds=4)
    assert _upload(client, owner, request_id, video, (t0 - timedelta(hours=1)).isoformat()).status_code == 201
    assert make_clip(session_factory(), uuid.UUID(request_id)) is None
    detail = client.get(f"/api/v1/requests/{request_id}", headers=investigator.headers).json()
    assert detail["status"] == "footage_mismatch" and detail["history"][-1]["to"] == "footage_mismatch"


def test_the_worker_cuts_the_clip_after_an_upload(
    client: TestClient, approved: tuple[Account, Account, str, datetime], tmp_path: Path
) -> None:
    from app.core import queue
    from app.jobs import tasks  # noqa: F401 - the task table the worker runs

    investigator, owner, request_id, t0 = approved
    video = _video(tmp_path, "w.mp4", FORMATS["mp4-h264"][1], seconds=15)
    assert _upload(client, owner, request_id, video, t0.isoformat()).status_code == 201
    assert client.get(f"/api/v1/requests/{request_id}", headers=investigator.headers).json()["status"] == (
        "footage_received"
    )
    queue.run_worker(wait=False)  # drains the deferred clip job, then returns
    detail = client.get(f"/api/v1/requests/{request_id}", headers=investigator.headers).json()
    assert detail["status"] == "clip_ready" and len(detail["clips"]) == 1


def test_owner_b_and_another_unit_cannot_reach_the_footage(
    client: TestClient, approved: tuple[Account, Account, str, datetime], tmp_path: Path
) -> None:
    investigator, owner, request_id, t0 = approved
    video = _video(tmp_path, "a.mp4", FORMATS["mp4-h264"][1], seconds=15)
    original_id = _upload(client, owner, request_id, video, t0.isoformat()).json()["id"]
    clip = make_clip(session_factory(), uuid.UUID(request_id))
    assert clip is not None
    stranger = account(client, Role.owner, owner_id=make_owner("Chủ khác"))
    other_unit = account(client, Role.investigator)
    for who in (stranger, other_unit):
        assert client.get(f"/api/v1/originals/{original_id}", headers=who.headers).status_code == 404
        assert client.get(f"/api/v1/clips/{clip.id}", headers=who.headers).status_code == 404
        assert client.get(f"/api/v1/requests/{request_id}", headers=who.headers).status_code == 404
        link = client.post(f"/api/v1/clips/{clip.id}/download-link", json={"purpose": "tò mò"}, headers=who.headers)
        assert link.status_code == 404
    # the owner who handed it over sees the original and who touched it
    assert client.get(f"/api/v1/originals/{original_id}", headers=owner.headers).status_code == 200
    client.post(f"/api/v1/clips/{clip.id}/download-link", json={"purpose": "Hồ sơ vụ án"}, headers=investigator.headers)
    answer = client.get("/api/v1/me/ledger", headers=owner.headers)
    ledger = answer.json()
    actions = [e["action"] for e in ledger["items"]]
    assert "original.received" in actions and "clip.created" in actions and "clip.download_link_issued" in actions
    # officers as role · unit: no user id, no owner-link id, no client address in what the owner reads
    issued = next(e for e in ledger["items"] if e["action"] == "clip.download_link_issued")
    assert issued["who"].startswith("điều tra viên · ")
    assert str(investigator.id) not in answer.text and "user:" not in answer.text and "owner-link:" not in answer.text
    assert "testclient" not in answer.text and all("where" not in e and "details" not in e for e in ledger["items"])
    auditor = account(client, Role.auditor)
    assert (
        client.post(
            f"/api/v1/requests/{request_id}/cancel", json={"reason": "xóa"}, headers=auditor.headers
        ).status_code
        == 403
    )


def test_a_worker_killed_mid_clip_ends_with_exactly_one_clip(
    client: TestClient, approved: tuple[Account, Account, str, datetime], tmp_path: Path
) -> None:
    import os
    import signal
    import subprocess
    import sys
    import time

    from app.core.config import get_settings
    from app.footage.models import Clip

    _, owner, request_id, t0 = approved
    video = _video(tmp_path, "k.mp4", FORMATS["mp4-h264"][1], seconds=15)
    assert _upload(client, owner, request_id, video, t0.isoformat()).status_code == 201
    settings = get_settings()
    env = {
        **os.environ,
        "DATABASE_URL": str(settings.database_url),
        "S3_ENDPOINT": str(settings.s3_endpoint),
        "S3_ACCESS_KEY": str(settings.s3_access_key),
        "S3_SECRET_KEY": str(settings.s3_secret_key),
        "S3_BUCKET": settings.s3_bucket,
        "DATA_DIR": str(settings.data_dir),
    }
    script = (
        "import uuid,sys; from app.core.db import session_factory; from app.footage.cutting import make_clip; "
        f"make_clip(session_factory(), uuid.UUID('{request_id}'))"
    )
    for delay in (0.3, 0.8):  # kill it at two different moments of its work
        worker = subprocess.Popen([sys.executable, "-c", script], env=env)
        time.sleep(delay)
        worker.send_signal(signal.SIGKILL)
        worker.wait()
    # and the worst moment, deterministically: the clip's bytes stored, the process dead before recording them
    import tempfile

    from app.footage import cutting

    with session_factory()() as session:
        original = session.scalars(select(Original).where(Original.request_id == uuid.UUID(request_id))).one()
        request = session.get(cutting.ExtractionRequest, uuid.UUID(request_id))
        assert request is not None
        start, end = request.approved_start or request.window_start, request.approved_end or request.window_end
        session.expunge(original)
    plan = cutting.plan_cut(original, start, end)
    assert plan is not None
    with tempfile.TemporaryDirectory() as tmp:
        local = Path(tmp) / "o.mp4"
        get_storage().download(original.object_key, original.version_id, local)
        result = cutting.cut(local, original, plan, Path(tmp))
        key = f"clips/{request_id}/{original.id}-{int(start.timestamp())}-{int(end.timestamp())}.{result.container}"
        cutting._store_once(key, result.path, cutting._sha256(result.path))
    clip = make_clip(session_factory(), uuid.UUID(request_id))  # the retry
    make_clip(session_factory(), uuid.UUID(request_id))
    assert clip is not None
    with session_factory()() as session:
        clips = list(session.scalars(select(Clip).where(Clip.request_id == uuid.UUID(request_id))))
    assert len(clips) == 1
    store = get_storage()
    versions = [
        o
        for o in store.client.list_objects(
            store.bucket, prefix=f"clips/{request_id}/", recursive=True, include_version=True
        )
        if not o.is_delete_marker
    ]
    assert [(o.object_name, o.version_id) for o in versions] == [(clips[0].object_key, clips[0].version_id)]


def test_a_body_past_the_upload_limit_is_refused_while_streaming_and_nothing_is_kept(
    client: TestClient, approved: tuple[Account, Account, str, datetime]
) -> None:
    """Without a Content-Length the limit is found by counting: the upload stops there with 413."""
    from app.core.config import get_settings, override_settings

    _, owner, request_id, t0 = approved
    previous = get_settings().max_upload_bytes
    override_settings(max_upload_bytes=7 * 1024 * 1024)
    try:

        def body() -> Iterator[bytes]:
            for _ in range(12):
                yield b"\0" * (1024 * 1024)

        response = client.put(
            f"/api/v1/requests/{request_id}/original",
            content=body(),
            headers={**owner.headers, "X-Filename": "big.mp4", "X-Recording-Start": t0.isoformat()},
        )
    finally:
        override_settings(max_upload_bytes=previous)
    assert response.status_code == 413, response.text
    assert str(7 * 1024 * 1024) in response.json()["detail"]
    _no_evidence_left(request_id)
