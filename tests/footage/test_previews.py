"""Clip previews: the poster frame and the keyframe strip made by ffmpeg from the clip's exact version, stored
and locked under previews/, recorded as derivatives (parent hash and version, tool, version, command) with a
custody event each; the clip is untouched, the orphan sweep counts the previews as rows (and still finds a stray
object there), and the custody log verifies. Real PostgreSQL, S3 and ffmpeg."""

from __future__ import annotations

import hashlib
import io
import uuid
from pathlib import Path
from zoneinfo import ZoneInfo

from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy import select

from app.core import clock, media
from app.core.db import session_factory
from app.core.storage import get_storage
from app.custody.models import CustodyEvent
from app.custody.verify import verify_log
from app.footage import previews
from app.footage.cutting import make_clip
from app.footage.models import Clip
from app.footage.orphans import sweep_orphans
from app.footage.preview_models import Preview
from tests.footage.test_footage import _upload, approved_request

GOP = 12  # a keyframe every 0.48 s: a 7 s clip has more keyframes than the strip keeps


def _recording(directory: Path) -> Path:
    path = directory / "rec.mp4"
    media.run_ffmpeg(
        ["-f", "lavfi", "-i", "testsrc2=size=640x360:rate=25:duration=20", "-c:v", "libx264"]
        + ["-g", str(GOP), "-keyint_min", str(GOP), "-sc_threshold", "0", "-pix_fmt", "yuv420p", "-y", str(path)]
    )
    return path


def _stored_sha(key: str, version: str) -> str:
    digest = hashlib.sha256()
    for chunk in get_storage().iter_version(key, version):
        digest.update(chunk)
    return digest.hexdigest()


def _events(action: str, object_ids: set[uuid.UUID]) -> list[CustodyEvent]:
    with session_factory()() as session:
        return list(
            session.scalars(
                select(CustodyEvent).where(CustodyEvent.action == action, CustodyEvent.object_id.in_(object_ids))
            )
        )


def _clip(client: TestClient, tmp_path: Path) -> Clip:
    investigator, owner, request_id, t0 = approved_request(client)
    recorder_clock = t0.astimezone(ZoneInfo("Asia/Ho_Chi_Minh")).replace(tzinfo=None)
    sent = _upload(client, owner, request_id, _recording(tmp_path), recorder_clock.isoformat())
    assert sent.status_code == 201, sent.text
    clip = make_clip(session_factory(), uuid.UUID(request_id))
    assert clip is not None
    return clip


def test_poster_and_strip_are_locked_recorded_derivatives_of_the_clip(client: TestClient, tmp_path: Path) -> None:
    clip = _clip(client, tmp_path)
    with session_factory()() as session:
        assert clip.id in previews.clips_without_previews(session, limit=10_000)

    made = previews.make_previews(session_factory(), clip.id)
    poster = [p for p in made if p.kind == "poster"]
    strip = [p for p in made if p.kind == "thumb"]
    assert len(poster) == 1 and poster[0].at_s == 0
    assert len(strip) == previews.STRIP_MAX, "more keyframes than the strip keeps: spread over the clip"
    times = [p.at_s for p in strip]
    assert times[0] == 0 and times == sorted(times) and len(set(times)) == len(times)
    gop_s = GOP / 25
    assert all(abs(t / gop_s - round(t / gop_s)) < 0.01 for t in times), f"each at a keyframe: {times}"
    clip_seconds = (clip.actual_end - clip.actual_start).total_seconds()
    assert times[-1] > clip_seconds * 0.6, "the strip reaches the end of the clip"

    store = get_storage()
    label = f"s3://{store.bucket}/{clip.object_key}?versionId={clip.version_id}"
    for row in made:
        assert row.object_key.startswith(f"previews/{clip.id}/")
        assert row.parent_sha256 == clip.sha256 and row.parent_version_id == clip.version_id
        assert row.tool == "ffmpeg" and row.tool_version == media.ffmpeg_version()
        assert row.command[0] == "ffmpeg" and label in row.command and "nokey" in row.command
        assert not any("/tmp" in part or tmp_path.name in part for part in row.command), "no local path recorded"
        assert _stored_sha(row.object_key, row.version_id) == row.sha256
        image = Image.open(io.BytesIO(b"".join(store.iter_version(row.object_key, row.version_id))))
        assert image.format == "JPEG" and image.size == (row.width, row.height)
        assert row.width == (640 if row.kind == "poster" else previews.THUMB_WIDTH)
        info = store.stat(row.object_key, row.version_id)
        assert info.retain_until is not None and info.retain_until > clock.now(), "locked like its clip"
    assert _stored_sha(clip.object_key, clip.version_id) == clip.sha256, "the clip is untouched"

    ids = {row.id for row in made}
    created = _events("preview.created", ids)
    assert {e.object_id for e in created} == ids and len(created) == len(ids)
    for event in created:
        row = next(r for r in made if r.id == event.object_id)
        assert event.sha256 == row.sha256 and event.version_id == row.version_id
        assert event.details["parent_sha256"] == clip.sha256 and event.details["command"] == row.command
    assert len(_events("clip.read_for_previews", {clip.id})) == 1

    # a second run (a retried job, the sweep) finds them made: nothing new stored or logged
    again = previews.make_previews(session_factory(), clip.id)
    assert {r.id for r in again} == ids
    assert len(_events("clip.read_for_previews", {clip.id})) == 1
    with session_factory()() as session:
        assert clip.id not in previews.clips_without_previews(session, limit=10_000)
        assert {p.id for p in previews.strips_of(session, [clip.id])[str(clip.id)]} == {p.id for p in strip}

    # the orphan sweep knows the previews; an object under previews/ without a row is still found
    stray = store.put_file(f"previews/{clip.id}/stray.jpg", _write(tmp_path), content_type="image/jpeg")
    with session_factory()() as session, session.begin():
        report = sweep_orphans(session, remove=False)
    found = {(f["object_key"], f["version_id"]) for f in report.objects_without_rows}
    assert not any((r.object_key, r.version_id) in found for r in made), "no false orphans"
    assert (f"previews/{clip.id}/stray.jpg", stray.version_id) in found
    assert not any(f["object_type"] == "preview" for f in report.rows_without_objects)
    store.remove_version(f"previews/{clip.id}/stray.jpg", stray.version_id)

    with session_factory()() as session:
        result = verify_log(session, include_objects=True, workers=1)
    mine = {str(i) for i in ids} | {str(clip.id)}
    assert [p for p in result.problems if p.object_id in mine] == []


def _write(directory: Path) -> Path:
    path = directory / "stray.jpg"
    Image.new("RGB", (16, 16)).save(path, format="JPEG")
    return path


def test_the_sweep_makes_previews_of_clips_without_them(client: TestClient, tmp_path: Path) -> None:
    clip = _clip(client, tmp_path)
    previews.sweep(session_factory())
    with session_factory()() as session:
        rows = session.scalars(select(Preview).where(Preview.clip_id == clip.id)).all()
        assert {r.kind for r in rows} == {"poster", "thumb"}
        assert clip.id not in previews.clips_without_previews(session, limit=10_000)
