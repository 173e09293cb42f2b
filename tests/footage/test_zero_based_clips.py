"""Clips start at media time zero, whatever the window's offset in the recording: the clip's first video packet has
presentation time 0 (as ffprobe reads it: libavformat through PyAV), for a clip cut from one MP4 (B-frames, sound
that starts before the key frame), from a Dahua .dav (remuxed first) and across two files (the concat demuxer).
The true time still follows: the frame at media time t shows the true frame number of `actual_start + t`, read back
from the frame itself."""

from __future__ import annotations

import hashlib
import io
import uuid
from datetime import datetime, timedelta
from fractions import Fraction
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import av
import httpx
from fastapi.testclient import TestClient

from app.core import media
from app.core.db import session_factory
from app.footage.cutting import make_clip
from tests.factories import Account
from tests.footage.recorder_exports import write_dav
from tests.footage.test_footage import approved_request
from tests.web.evidence_scene import FIRST_FRAME, FPS, frame_number, true_time_video

VN = ZoneInfo("Asia/Ho_Chi_Minh")
GOP = timedelta(seconds=2.1)
SLACK = timedelta(milliseconds=50)


def _first_packets(path: Path) -> tuple[float, float, str]:
    """(pts of the first video packet in the file, the least video pts, the container's format name)."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        tb = stream.time_base
        assert tb is not None
        times = [Fraction(p.pts) * tb for p in container.demux(stream) if p.pts is not None]
        return float(times[0]), float(min(times)), container.format.name


def _frames(path: Path) -> list[tuple[float, int]]:
    """Every decoded video frame: (its media time, the true frame number it shows)."""
    shown: list[tuple[float, int]] = []
    with av.open(str(path)) as container:
        for frame in container.decode(video=0):
            png = io.BytesIO()
            frame.to_image().save(png, format="PNG")
            assert frame.time is not None
            shown.append((float(frame.time), frame_number(png.getvalue())))
    return shown


def _clip_file(client: TestClient, who: Account, request_id: str, tmp_path: Path) -> tuple[dict[str, Any], Path]:
    clip = make_clip(session_factory(), uuid.UUID(request_id))
    assert clip is not None
    read: dict[str, Any] = client.get(f"/api/v1/clips/{clip.id}", headers=who.headers).json()
    link = client.post(f"/api/v1/clips/{clip.id}/download-link", headers=who.headers, json={"purpose": "xem"})
    assert link.status_code == 200, link.text
    followed = client.get(link.json()["url"], follow_redirects=False)
    local = tmp_path / f"clip.{read['container']}"
    local.write_bytes(httpx.get(followed.headers["location"]).content)
    assert hashlib.sha256(local.read_bytes()).hexdigest() == read["sha256"]
    return read, local


def _within_a_gop(read: dict[str, Any], t0: datetime) -> tuple[datetime, datetime]:
    actual_start, actual_end = (datetime.fromisoformat(read[k]) for k in ("actual_start", "actual_end"))
    ws, we = t0 + timedelta(seconds=5), t0 + timedelta(seconds=12)
    assert ws - GOP <= actual_start <= ws + SLACK
    assert we - SLACK <= actual_end <= we + GOP
    return actual_start, actual_end


def _true_time_follows(local: Path, actual_start: datetime, base: datetime) -> None:
    """The frame at media time t shows the frame number of the true instant actual_start + t (frame n is at
    base + n / FPS)."""
    frames = _frames(local)
    assert len(frames) > 5 * FPS
    for at, number in frames:
        expected = (actual_start + timedelta(seconds=at) - base).total_seconds() * FPS
        assert abs(number - expected) < 0.5, (at, number, expected)


def test_an_mp4_clip_from_a_window_seconds_into_the_recording_starts_at_zero(
    client: TestClient, tmp_path: Path
) -> None:
    investigator, owner, request_id, t0 = approved_request(client)  # window t0+5 .. t0+12
    # a key frame every 2 s, B-frames, and sound: the cut starts at the key frame 4 s into the recording
    path = true_time_video(tmp_path / "rec.mp4", FIRST_FRAME, 20, gop=2 * FPS, audio=True)
    sent = client.put(
        f"/api/v1/requests/{request_id}/original",
        content=path.read_bytes(),
        headers={
            **owner.headers,
            "X-Filename": path.name,
            "X-Recording-Start": t0.astimezone(VN).replace(tzinfo=None).isoformat(),
            "X-Clock-Offset-Seconds": "0",
        },
    )
    assert sent.status_code == 201, sent.text
    read, local = _clip_file(client, investigator, request_id, tmp_path)
    assert read["container"] == "mp4" and read["first_pts_s"] == 0
    first, least, fmt = _first_packets(local)
    assert (first, least) == (0.0, 0.0) and "mp4" in fmt
    actual_start, actual_end = _within_a_gop(read, t0)
    assert actual_start == t0 + timedelta(seconds=4)  # the key frame before the window
    _true_time_follows(local, actual_start, t0 - timedelta(seconds=FIRST_FRAME / FPS))
    assert "-output_ts_offset -4.000000" in read["command"][-1] and "-c copy" in read["command"][-1]


def test_a_clip_from_a_dav_export_starts_at_zero(client: TestClient, tmp_path: Path) -> None:
    investigator, owner, request_id, t0 = approved_request(client)
    stamped = t0.astimezone(VN).replace(tzinfo=None)
    path = write_dav(tmp_path / "export.dav", stamped, seconds=20)
    sent = client.put(
        f"/api/v1/requests/{request_id}/original",
        content=path.read_bytes(),
        headers={**owner.headers, "X-Filename": path.name, "X-Clock-Offset-Seconds": "0"},
    )
    assert sent.status_code == 201, sent.text
    assert sent.json()["media"]["container"] == "dhav"
    read, local = _clip_file(client, investigator, request_id, tmp_path)
    assert read["first_pts_s"] == 0
    first, least, _ = _first_packets(local)
    assert (first, least) == (0.0, 0.0)
    actual_start, _ = _within_a_gop(read, t0)
    assert actual_start == t0 + timedelta(seconds=4)  # a key frame every 50 frames


def test_a_clip_across_two_files_starts_at_zero(client: TestClient, tmp_path: Path) -> None:
    investigator, owner, request_id, t0 = approved_request(client)
    base = t0 - timedelta(seconds=FIRST_FRAME / FPS)
    # the first file ends 8 s after t0, in the window; the second carries on (its frames numbered on)
    a = true_time_video(tmp_path / "a.mp4", FIRST_FRAME, 8, gop=2 * FPS, audio=True)
    b = true_time_video(tmp_path / "b.mp4", FIRST_FRAME + 8 * FPS, 10, gop=2 * FPS, audio=True)
    for path, start in ((a, t0), (b, t0 + timedelta(seconds=8))):
        sent = client.post(
            f"/api/v1/requests/{request_id}/originals",
            content=path.read_bytes(),
            headers={**owner.headers, "X-Filename": path.name, "X-Recording-Start": start.isoformat()},
        )
        assert sent.status_code == 201, sent.text
    done = client.post(f"/api/v1/requests/{request_id}/originals/complete", headers=owner.headers)
    assert done.status_code == 200, done.text
    read, local = _clip_file(client, investigator, request_id, tmp_path)
    assert len(read["parents"]) == 2 and read["container"] == "mp4" and read["first_pts_s"] == 0
    first, least, _ = _first_packets(local)
    assert (first, least) == (0.0, 0.0)
    actual_start, _ = _within_a_gop(read, t0)
    assert actual_start == t0 + timedelta(seconds=4)
    _true_time_follows(local, actual_start, base)


def test_an_hevc_clip_with_open_gops_starts_at_its_key_frame(client: TestClient, tmp_path: Path) -> None:
    """HEVC with open GOPs (x265's default): the pictures shown just before each key frame (RASL) reference the
    GOP before it, so after a cut they cannot be decoded and are dropped. The clip's time 0 is its key frame, the
    first frame anyone sees, and the true time of every frame still follows."""
    investigator, owner, request_id, t0 = approved_request(client)
    numbered = true_time_video(tmp_path / "numbered.mp4", FIRST_FRAME, 20)
    path = tmp_path / "export.ts"
    media.run_ffmpeg(
        [
            "-i",
            str(numbered),
            "-c:v",
            "libx265",
            "-x265-params",
            f"keyint={2 * FPS}:open-gop=1:bframes=3:b-adapt=0:scenecut=0:log-level=error",
        ]
        + ["-f", "mpegts", "-y", str(path)]
    )
    sent = client.put(
        f"/api/v1/requests/{request_id}/original",
        content=path.read_bytes(),
        headers={
            **owner.headers,
            "X-Filename": path.name,
            "X-Recording-Start": t0.astimezone(VN).replace(tzinfo=None).isoformat(),
            "X-Clock-Offset-Seconds": "0",
        },
    )
    assert sent.status_code == 201, sent.text
    assert sent.json()["media"]["video_codec"] == "hevc"
    read, local = _clip_file(client, investigator, request_id, tmp_path)
    assert read["first_pts_s"] == 0
    with av.open(str(local)) as container:
        first_shown = next(container.decode(video=0))
        assert first_shown.time == 0.0 and first_shown.key_frame
    actual_start, _ = _within_a_gop(read, t0)
    _true_time_follows(local, actual_start, t0 - timedelta(seconds=FIRST_FRAME / FPS))
