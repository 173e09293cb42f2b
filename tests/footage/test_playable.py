"""Playback copies: a DHAV (.dav) original and a Hikvision IMKH program-stream original get an MP4 copy by stream
copy, whose record names the original's hash and version, the tool, its version and the exact command, whose
stored bytes hash to the recorded SHA-256, locked as long as the original, with custody events; the copy's frames
sit at the original's frame times; the original is unchanged. An original whose codec a browser cannot decode
(HEVC) or whose container it plays (MP4) gets none. The orphan sweep knows the copies; the retention sweep deletes
a copy before its original. Real PostgreSQL, S3 and ffmpeg."""

from __future__ import annotations

import hashlib
import time
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from app.core import clock, media
from app.core.db import session_factory
from app.core.native_formats import DHAV, IMKH
from app.core.storage import get_storage
from app.custody.models import CustodyEvent
from app.footage import playable
from app.footage.models import Original
from app.footage.orphans import sweep_orphans
from app.footage.playable_models import PlaybackCopy
from tests.factories import Account
from tests.footage.recorder_exports import hikvision_name, write_dav, write_imkh
from tests.footage.test_footage import FORMATS, _video, approved_request

VN = ZoneInfo("Asia/Ho_Chi_Minh")


def _stored_sha(key: str, version: str) -> str:
    digest = hashlib.sha256()
    for chunk in get_storage().iter_version(key, version):
        digest.update(chunk)
    return digest.hexdigest()


def _events(object_id: uuid.UUID) -> dict[str, CustodyEvent]:
    with session_factory()() as session:
        rows = session.scalars(select(CustodyEvent).where(CustodyEvent.object_id == object_id))
        return {e.action: e for e in rows}


def _send(client: TestClient, owner: Account, request_id: str, path: Path, recorder: datetime) -> uuid.UUID:
    response = client.put(
        f"/api/v1/requests/{request_id}/original",
        content=path.read_bytes(),
        headers={**owner.headers, "X-Filename": path.name, "X-Recording-Start": recorder.isoformat()},
    )
    assert response.status_code == 201, response.text
    return uuid.UUID(response.json()["id"])


def _dav(directory: Path, recorder: datetime) -> Path:
    return write_dav(directory / "NVR_ch1_main.dav", recorder, seconds=12)


def _imkh(directory: Path, recorder: datetime) -> Path:
    return write_imkh(directory / hikvision_name(1, recorder, recorder + timedelta(seconds=12)), seconds=12)


@pytest.mark.parametrize(("native", "write"), [(DHAV, _dav), (IMKH, _imkh)])
def test_a_recorder_export_gets_a_stream_copy_with_the_same_frame_times(
    client: TestClient, tmp_path: Path, native: str, write: object
) -> None:
    investigator, owner, request_id, t0 = approved_request(client)
    recorder = t0.astimezone(VN).replace(tzinfo=None)
    path = write(tmp_path, recorder)  # type: ignore[operator]
    sent_sha = hashlib.sha256(path.read_bytes()).hexdigest()
    original_id = _send(client, owner, request_id, path, recorder)
    with session_factory()() as session:
        original = session.get(Original, original_id)
        assert original is not None and original.media["native_format"] == native
        assert playable.wants_copy(original)
        assert original_id in playable.originals_without_copies(session, limit=10_000)

    started = clock.now()
    copy = playable.make_copy(session_factory(), original_id)
    assert copy is not None

    # the record: parent hash and version, tool and version, the exact command (stream copy, index first)
    assert copy.parent_sha256 == original.sha256 == sent_sha
    assert copy.parent_version_id == original.version_id
    assert copy.tool == "ffmpeg" and copy.tool_version == media.ffmpeg_version()
    command = " ".join(copy.command)
    assert copy.command[0] == "ffmpeg" and "-c copy" in command and "+faststart" in command
    assert "-map 0:v:0" in command and "libx264" not in command and "-vf" not in command
    assert f"s3://{get_storage().bucket}/{original.object_key}?versionId={original.version_id}" in copy.command
    assert copy.command[-1] == "playback.mp4" and not any("footage-playable-" in a for a in copy.command)
    assert copy.object_key == f"playable/{original_id}/playback.mp4"
    assert copy.retention_mode == original.retention_mode and copy.retain_until == original.retain_until
    assert started <= copy.created_at <= clock.now()

    # the stored bytes are what the record says, locked as long as the original; the original is unchanged
    assert _stored_sha(copy.object_key, copy.version_id) == copy.sha256 != original.sha256
    assert _stored_sha(original.object_key, original.version_id) == sent_sha
    stat = get_storage().stat(copy.object_key, copy.version_id)
    assert stat.retain_until is not None and abs(stat.retain_until - original.retain_until) < timedelta(seconds=1)
    assert stat.size == copy.size

    # the same frames at the same times: read back here from the stored copy and the file as sent
    local = tmp_path / "copy.mp4"
    get_storage().download(copy.object_key, copy.version_id, local)
    info = media.probe(local)
    assert info.video_codec == "h264" and "mp4" in info.container
    fmt, options = media.open_options(path.name, 25, native)
    sent_times = playable.frame_times(path, format=fmt, options=options)
    copy_times = playable.frame_times(local)
    assert len(sent_times) == len(copy_times) == 12 * 25 and None not in copy_times
    pairs = [(a, b) for a, b in zip(sent_times, copy_times, strict=True) if a is not None]
    assert len(pairs) > 200, "the original stamps most of its frames"
    (a0, b0) = pairs[0]
    assert max(abs((a - a0) - (b - b0)) for a, b in pairs if b is not None) <= 0.002
    assert copy.media["frames"] == 300 and copy.media["max_frame_time_difference_s"] <= 0.002
    assert copy.media["frames_timed_in_original"] == len(pairs)
    with local.open("rb") as fh:  # +faststart: the index (moov) comes before the media data (mdat)
        head = fh.read(4096)
    assert head.find(b"moov") != -1 and (head.find(b"mdat") == -1 or head.find(b"moov") < head.find(b"mdat"))

    # custody: the original read and the copy made, in one transaction with the row
    read = _events(original_id)["original.read_for_playback_copy"]
    made = _events(copy.id)["playback_copy.created"]
    assert read.sha256 == original.sha256 and read.details["playback_copy_id"] == str(copy.id)
    assert made.sha256 == copy.sha256 and made.version_id == copy.version_id
    assert made.details["parent_sha256"] == original.sha256 and made.details["command"] == copy.command
    assert made.details["tool_version"] == copy.tool_version and made.details["object_key"] == copy.object_key

    # idempotent; no longer waiting; the API's record of the original names it
    assert playable.make_copy(session_factory(), original_id).id == copy.id  # type: ignore[union-attr]
    with session_factory()() as session:
        assert original_id not in playable.originals_without_copies(session, limit=10_000)
        assert session.scalar(select(Original.sha256).where(Original.id == original_id)) == sent_sha
    body = client.get(f"/api/v1/originals/{original_id}", headers=investigator.headers).json()
    assert body["sha256"] == sent_sha
    assert body["playback_copy"]["sha256"] == copy.sha256
    assert body["playback_copy"]["parent_sha256"] == sent_sha and body["playback_copy"]["command"] == copy.command

    # the orphan sweep counts the copy as a row; a stray object under playable/ is still found
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"not a copy")
    stray = get_storage().put_file(f"playable/{uuid.uuid4()}/playback.mp4", junk)
    with session_factory()() as session, session.begin():
        report = sweep_orphans(session, remove=False)
    found = {(f["object_key"], f["version_id"]) for f in report.objects_without_rows}
    assert (copy.object_key, copy.version_id) not in found
    assert (stray.key, stray.version_id) in found
    get_storage().remove_version(stray.key, stray.version_id)


@pytest.mark.parametrize("kind", ["mkv-h265", "mp4-h264", "avi-mjpeg"])
def test_no_copy_where_the_codec_cannot_play_or_the_container_can(
    client: TestClient, tmp_path: Path, kind: str
) -> None:
    _, owner, request_id, t0 = approved_request(client)
    name, codec = FORMATS[kind]
    if kind == "mkv-h265":  # an HEVC recording in a container browsers do not open
        name = "rec.ts"
    path = _video(tmp_path, name, codec, seconds=4)
    original_id = _send(client, owner, request_id, path, t0.astimezone(VN).replace(tzinfo=None))
    with session_factory()() as session:
        original = session.get(Original, original_id)
        assert original is not None and not playable.wants_copy(original)
        assert original_id not in playable.originals_without_copies(session, limit=10_000)
    assert playable.make_copy(session_factory(), original_id) is None
    with session_factory()() as session:
        assert session.scalar(select(PlaybackCopy).where(PlaybackCopy.original_id == original_id)) is None


def test_a_copy_whose_frames_drift_is_refused() -> None:
    times: list[float | None] = [i / 25 for i in range(50)]
    shifted: list[float | None] = [i / 25 + 7 for i in range(50)]
    assert playable.compare_times(times, shifted)["max_frame_time_difference_s"] == 0
    sparse = [t if i % 3 == 0 else None for i, t in enumerate(times)]  # a program stream stamps some frames
    assert playable.compare_times(sparse, shifted)["frames_timed_in_original"] == 17
    assert playable.compare_times([None] * 50, shifted)["frames_timed_in_original"] == 0
    with pytest.raises(media.MediaError, match="without a time"):
        playable.compare_times(times, [None, *shifted[1:]])
    with pytest.raises(media.MediaError, match="drift"):
        playable.compare_times(times, [i / 25 * 1.01 for i in range(50)])
    with pytest.raises(media.MediaError, match="frames"):
        playable.compare_times(times, times[:-1])


def test_the_retention_sweep_deletes_the_copy_just_before_its_original(client: TestClient, tmp_path: Path) -> None:
    from app.auth.models import Role
    from app.custody.verify import verify_log
    from app.footage.retention import sweep_retention
    from tests.factories import account

    investigator, owner, request_id, t0 = approved_request(client)
    admin = account(client, Role.admin)
    code = f"short_{uuid.uuid4().hex[:6]}"
    seconds = 4
    created = client.post(
        "/api/v1/retention-categories",
        headers=admin.headers,
        json={"code": code, "name": "Thử nghiệm", "retention_days": seconds / 86400, "mode": "GOVERNANCE"},
    )
    assert created.status_code == 201, created.text
    case_id = client.get(f"/api/v1/requests/{request_id}", headers=investigator.headers).json()["case_id"]
    patched = client.patch(f"/api/v1/cases/{case_id}", headers=investigator.headers, json={"retention_category": code})
    assert patched.status_code == 200, patched.text
    recorder = t0.astimezone(VN).replace(tzinfo=None)
    original_id = _send(client, owner, request_id, _dav(tmp_path, recorder), recorder)
    copy = playable.make_copy(session_factory(), original_id)
    assert copy is not None and copy.retention_mode == "GOVERNANCE"
    with session_factory()() as session:
        original = session.get(Original, original_id)
        assert original is not None and copy.retain_until == original.retain_until
        object_key, version_id = original.object_key, original.version_id

    time.sleep(seconds + 1)  # the real S3 server enforces retention by its own clock
    report = sweep_retention(session_factory())
    assert copy.id not in {uuid.UUID(x) for x in report.deleted}, "nothing of an open case is deleted"
    assert _stored_sha(copy.object_key, copy.version_id) == copy.sha256
    closed = client.post(
        f"/api/v1/cases/{case_id}/close",
        headers=investigator.headers,
        json={"outcome": "clarified", "footage_contributed": True},
    )
    assert closed.status_code == 200, closed.text
    report = sweep_retention(session_factory())
    assert {str(copy.id), str(original_id)} <= set(report.deleted)
    store = get_storage()
    assert store.versions(copy.object_key) == [] and store.versions(object_key) == []
    with session_factory()() as session:
        row = session.get(PlaybackCopy, copy.id)
        assert row is not None and row.deleted_at is not None
        deletions = [
            e.object_id
            for e in session.scalars(
                select(CustodyEvent)
                .where(CustodyEvent.object_id.in_([copy.id, original_id]), CustodyEvent.action == "retention.deleted")
                .order_by(CustodyEvent.seq)
            )
        ]
        assert deletions == [copy.id, original_id]
        result = verify_log(session, include_objects=True, workers=1)
    keys = (copy.object_key, object_key, version_id)
    mine = {str(copy.id), str(original_id)}
    about = [p for p in result.problems if str(p.object_id) in mine or (p.detail and any(k in p.detail for k in keys))]
    assert about == []
