"""Exports in several files: each file its own original, `complete` orders them on the true timeline (gaps and
overlaps reported) and one clip is cut across the files that cover the window, naming every parent."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from fastapi.testclient import TestClient

from app.core import clock, media
from app.core.config import get_settings
from app.core.db import session_factory
from app.footage import cutting
from app.footage.cutting import make_clip
from tests.factories import Account
from tests.footage.recorder_exports import segment_names
from tests.footage.test_footage import approved_request

GOP = timedelta(seconds=2)  # -g 50 at 25 fps
SLACK = timedelta(milliseconds=50)
MP4 = ["-an", "-c:v", "libx264", "-g", "50"]
TS = ["-c:v", "libx264", "-g", "50", "-c:a", "aac"]


def _video(path: Path, seconds: int, codec: list[str], size: str = "320x240") -> Path:
    audio = [] if "-an" in codec else ["-f", "lavfi", "-i", f"sine=frequency=440:duration={seconds}"]
    media.run_ffmpeg(
        ["-f", "lavfi", "-i", f"testsrc2=size={size}:rate=25:duration={seconds}", *audio, *codec, "-y", str(path)]
    )
    return path


def _post(
    client: TestClient, who: Account, request_id: str, path: Path, start: datetime | None = None, **headers: str
) -> httpx.Response:
    stated = {"X-Recording-Start": start.isoformat()} if start is not None else {}
    return client.post(
        f"/api/v1/requests/{request_id}/originals",
        content=path.read_bytes(),
        headers={**who.headers, "X-Filename": path.name, **stated, **headers},
    )


def _complete(client: TestClient, who: Account, request_id: str) -> httpx.Response:
    return client.post(f"/api/v1/requests/{request_id}/originals/complete", headers=who.headers)


def _detail(client: TestClient, who: Account, request_id: str) -> dict[str, Any]:
    response = client.get(f"/api/v1/requests/{request_id}", headers=who.headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _clip_read(client: TestClient, who: Account, clip_id: uuid.UUID) -> dict[str, Any]:
    response = client.get(f"/api/v1/clips/{clip_id}", headers=who.headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _window(request: dict[str, Any]) -> tuple[datetime, datetime]:
    return datetime.fromisoformat(request["window_start"]), datetime.fromisoformat(request["window_end"])


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _clip_duration(client: TestClient, who: Account, clip: dict[str, Any], tmp_path: Path) -> float:
    link = client.post(
        f"/api/v1/clips/{clip['id']}/download-link", headers=who.headers, json={"purpose": "xem đoạn trích"}
    )
    assert link.status_code == 200, link.text
    local = tmp_path / f"clip-{clip['id']}.{clip['container']}"
    # the link is the service's: the fetch is logged, then a redirect to the exact version in storage
    followed = client.get(link.json()["url"], follow_redirects=False)
    assert followed.status_code == 302, followed.text
    local.write_bytes(httpx.get(followed.headers["location"]).content)
    assert _sha(local) == clip["sha256"]
    first, last_end = media.packet_span(local)
    assert first == 0, "the clip starts at media time 0"
    return last_end - first


def _t0(client: TestClient) -> tuple[Account, Account, str, datetime]:
    investigator, owner, request_id, t0 = approved_request(client)
    return investigator, owner, request_id, t0


def test_two_segments_one_clip_across_the_boundary(client: TestClient, tmp_path: Path) -> None:
    investigator, owner, request_id, t0 = _t0(client)
    ws, we = _window(_detail(client, investigator, request_id))  # t0+5 .. t0+12
    # the first file ends 3 s into the 7 s window; the second carries on from there
    a = _video(tmp_path / "a.mp4", 8, MP4)
    b = _video(tmp_path / "b.mp4", 10, MP4)
    start_a = ws - timedelta(seconds=5)
    first = _post(client, owner, request_id, a, start_a)
    assert first.status_code == 201, first.text
    assert _detail(client, investigator, request_id)["status"] == "approved"  # still collecting
    second = _post(client, owner, request_id, b, start_a + timedelta(seconds=8))
    assert second.status_code == 201, second.text
    assert make_clip(session_factory(), uuid.UUID(request_id)) is None  # nothing is cut before `complete`

    done = _complete(client, owner, request_id)
    assert done.status_code == 200, done.text
    assert done.json()["status"] == "footage_received"
    export = done.json()["export"]
    assert [f["original_id"] for f in export["files"]] == [first.json()["id"], second.json()["id"]]
    assert export["gaps"] == [] and export["overlaps"] == []

    clip = make_clip(session_factory(), uuid.UUID(request_id))
    assert clip is not None
    read = _clip_read(client, investigator, clip.id)
    assert read["parents"] == [
        {"original_id": first.json()["id"], "sha256": _sha(a)},
        {"original_id": second.json()["id"], "sha256": _sha(b)},
    ]
    assert read["original_id"] == first.json()["id"] and read["parent_sha256"] == _sha(a)
    actual_start, actual_end = (datetime.fromisoformat(read[k]) for k in ("actual_start", "actual_end"))
    assert ws - GOP <= actual_start <= ws + SLACK
    assert we - SLACK <= actual_end <= we + GOP
    # one ffmpeg pass over both versions (the concat demuxer with in and out points), named without a signature,
    # which also moves the clip's first frame (the key frame before the in point) to media time 0
    ffmpeg_runs = [c for c in read["command"] if c.startswith("ffmpeg ")]
    assert len(ffmpeg_runs) == 1 and "-f concat" in ffmpeg_runs[0] and "-c copy" in ffmpeg_runs[0]
    assert "-output_ts_offset " in ffmpeg_runs[0] and "-avoid_negative_ts disabled" in ffmpeg_runs[0]
    listing = next(c for c in read["command"] if c.startswith("printf "))
    assert (
        listing.count("versionId=") == 2
        and "inpoint 5.000" in listing
        and "outpoint 8.000" in listing
        and "outpoint 4.000" in listing
    )
    assert "X-Amz-Signature" not in " ".join(read["command"])
    # the joined clip really holds both files' parts: its length is the window's, within a GOP
    duration = _clip_duration(client, investigator, read, tmp_path)
    assert (we - ws).total_seconds() - 0.1 <= duration <= (we - ws + GOP).total_seconds() + 0.1
    detail = _detail(client, investigator, request_id)
    # the filing unit's download above delivered the clip
    assert detail["status"] == "delivered" and detail["export"]["clip_mode"] == "concat"
    assert len(detail["clips"]) == 1 and len(detail["clips"][0]["parents"]) == 2
    events = client.get(f"/api/v1/custody?object_id={clip.id}", headers=investigator.headers).json()["items"]
    created = next(e for e in events if e["action"] == "clip.created")
    assert [p["sha256"] for p in created["details"]["parents"]] == [_sha(a), _sha(b)]
    # a retry finds the clip
    again = make_clip(session_factory(), uuid.UUID(request_id))
    assert again is not None and again.id == clip.id


def test_three_named_ts_segments_window_across_both_boundaries(client: TestClient, tmp_path: Path) -> None:
    """Recorder-named MPEG-TS files, uploaded out of order, with no X-Recording-Start: the names time them."""
    investigator, owner, request_id, t0 = _t0(client)
    ws, we = _window(_detail(client, investigator, request_id))  # 7 s long
    start = ws - timedelta(seconds=2)  # files of 4 s: 2 s of the window in the first, 4 in the second, 1 in the last
    local = start.astimezone(ZoneInfo("Asia/Ho_Chi_Minh")).replace(tzinfo=None)
    names = [n.replace(".dav", ".ts") for n in segment_names(1, local, 4, 3)]
    files = [_video(tmp_path / name, 4, TS) for name in names]
    ids = {}
    for path in (files[2], files[0], files[1]):
        response = _post(client, owner, request_id, path)
        assert response.status_code == 201, response.text
        assert response.json()["recording_start_source"] == "filename"
        ids[path.name] = response.json()["id"]
    done = _complete(client, owner, request_id)
    assert done.status_code == 200, done.text
    assert [f["original_id"] for f in done.json()["export"]["files"]] == [ids[p.name] for p in files]

    clip = make_clip(session_factory(), uuid.UUID(request_id))
    assert clip is not None
    read = _clip_read(client, investigator, clip.id)
    assert [p["original_id"] for p in read["parents"]] == [ids[p.name] for p in files]
    assert [p["sha256"] for p in read["parents"]] == [_sha(p) for p in files]
    actual_start, actual_end = (datetime.fromisoformat(read[k]) for k in ("actual_start", "actual_end"))
    assert ws - GOP <= actual_start <= ws + SLACK
    assert we - SLACK <= actual_end <= we + GOP
    assert read["shortfall"]["gaps_s"] < 0.6
    # TS seeks imprecisely: each file is remuxed by stream copy, then one concat pass cuts across all three and
    # moves the clip's first frame to media time 0
    ffmpeg_runs = [c for c in read["command"] if c.startswith("ffmpeg ")]
    assert len(ffmpeg_runs) == 4 and sum("-f concat" in c for c in ffmpeg_runs) == 1
    assert "-f concat" in ffmpeg_runs[-1] and "-output_ts_offset " in ffmpeg_runs[-1]
    # the clip holds the three parts: the window, the first file's key frame before it, and the frames B-frame
    # reordering carries past the last out point (the demuxer stops on decoding times)
    duration = _clip_duration(client, investigator, read, tmp_path)
    assert (we - ws).total_seconds() - 0.1 <= duration <= (we - ws + GOP).total_seconds() + 0.25


def test_a_gap_between_segments_is_reported_as_the_shortfall(client: TestClient, tmp_path: Path) -> None:
    investigator, owner, request_id, t0 = _t0(client)
    ws, we = _window(_detail(client, investigator, request_id))
    a = _video(tmp_path / "a.mp4", 8, MP4)  # ws-4 .. ws+4
    b = _video(tmp_path / "b.mp4", 8, MP4)  # ws+6 .. ws+14: 2 s of the window are on no file
    assert _post(client, owner, request_id, a, ws - timedelta(seconds=4)).status_code == 201
    assert _post(client, owner, request_id, b, ws + timedelta(seconds=6)).status_code == 201
    done = _complete(client, owner, request_id).json()
    (gap,) = done["export"]["gaps"]
    assert abs(gap["seconds"] - 2.0) < 0.1
    events = client.get(f"/api/v1/custody?object_id={request_id}", headers=investigator.headers).json()["items"]
    completed = [e for e in events if e["details"].get("to") == "footage_received"][-1]
    assert abs(completed["details"]["export"]["gaps"][0]["seconds"] - 2.0) < 0.1

    clip = make_clip(session_factory(), uuid.UUID(request_id))
    assert clip is not None
    read = _clip_read(client, investigator, clip.id)
    assert abs(read["shortfall"]["gaps_s"] - 2.0) < 0.1
    assert read["shortfall"]["start_s"] == 0 and read["shortfall"]["end_s"] == 0
    assert len(read["parents"]) == 2
    # the clip holds the 5 covered seconds (within a GOP), not 7
    duration = _clip_duration(client, investigator, read, tmp_path)
    assert 4.9 <= duration <= 5 + GOP.total_seconds() + 0.1


def test_overlapping_segments_are_reported_and_taken_once(client: TestClient, tmp_path: Path) -> None:
    investigator, owner, request_id, t0 = _t0(client)
    ws, we = _window(_detail(client, investigator, request_id))
    a = _video(tmp_path / "a.mp4", 8, MP4)  # ws-4 .. ws+4
    b = _video(tmp_path / "b.mp4", 10, MP4)  # ws+1 .. ws+11: 3 s on both files
    assert _post(client, owner, request_id, a, ws - timedelta(seconds=4)).status_code == 201
    assert _post(client, owner, request_id, b, ws + timedelta(seconds=1)).status_code == 201
    done = _complete(client, owner, request_id).json()
    (overlap,) = done["export"]["overlaps"]
    assert abs(overlap["seconds"] - 3.0) < 0.1 and done["export"]["gaps"] == []
    clip = make_clip(session_factory(), uuid.UUID(request_id))
    assert clip is not None
    read = _clip_read(client, investigator, clip.id)
    actual_start, actual_end = (datetime.fromisoformat(read[k]) for k in ("actual_start", "actual_end"))
    assert ws - GOP <= actual_start <= ws + SLACK and we - SLACK <= actual_end <= we + GOP
    # the shared seconds are in the clip once (a GOP's worth at most twice, where the second file starts)
    duration = _clip_duration(client, investigator, read, tmp_path)
    window_s = (we - ws).total_seconds()
    assert window_s - 0.1 <= duration <= window_s + 2 * GOP.total_seconds() + 0.1


def test_files_that_differ_in_codec_get_one_clip_each(client: TestClient, tmp_path: Path) -> None:
    investigator, owner, request_id, t0 = _t0(client)
    ws, we = _window(_detail(client, investigator, request_id))
    a = _video(tmp_path / "a.mp4", 8, MP4)
    b = _video(tmp_path / "b.mp4", 10, MP4, size="640x480")
    ra = _post(client, owner, request_id, a, ws - timedelta(seconds=4)).json()
    rb = _post(client, owner, request_id, b, ws + timedelta(seconds=4)).json()
    _complete(client, owner, request_id)
    first = make_clip(session_factory(), uuid.UUID(request_id))
    assert first is not None
    detail = _detail(client, investigator, request_id)
    assert detail["status"] == "clip_ready"
    assert [c["original_id"] for c in detail["clips"]] == [ra["id"], rb["id"]]
    assert [len(c["parents"]) for c in detail["clips"]] == [1, 1]
    assert detail["export"]["clip_mode"] == "per_file"
    assert "width" in detail["export"]["clip_note"] and "one clip per file" in detail["export"]["clip_note"]
    assert [c["shortfall"]["part"] for c in detail["clips"]] == [1, 2]


def test_complete_twice_and_a_late_segment(client: TestClient, tmp_path: Path) -> None:
    investigator, owner, request_id, t0 = _t0(client)
    ws, _ = _window(_detail(client, investigator, request_id))
    nothing = _complete(client, owner, request_id)
    assert nothing.status_code == 409 and "no file" in nothing.json()["detail"]
    a = _video(tmp_path / "a.mp4", 12, MP4)
    assert _post(client, owner, request_id, a, ws - timedelta(seconds=2)).status_code == 201
    once = _complete(client, owner, request_id)
    twice = _complete(client, owner, request_id)
    assert once.status_code == twice.status_code == 200
    assert once.json()["history"] == twice.json()["history"]
    assert [h["to"] for h in twice.json()["history"]].count("footage_received") == 1
    late = _post(client, owner, request_id, _video(tmp_path / "late.mp4", 4, MP4), ws + timedelta(seconds=10))
    assert late.status_code == 409
    assert late.json()["current_status"] == "footage_received" and "footage_received" in late.json()["detail"]
    assert len(_detail(client, investigator, request_id)["originals"]) == 1
    # the clip job also runs once whatever the number of completes
    assert make_clip(session_factory(), uuid.UUID(request_id)) is not None
    assert _complete(client, owner, request_id).json()["status"] == "clip_ready"


def test_segments_through_the_owner_link(client: TestClient, tmp_path: Path) -> None:
    investigator, owner, request_id, t0 = _t0(client)
    ws, we = _window(_detail(client, investigator, request_id))
    link = client.post(f"/api/v1/requests/{request_id}/links", headers=investigator.headers)
    assert link.status_code == 201, link.text
    token = link.json()["url"].rsplit("/", 1)[1]
    a = _video(tmp_path / "a.mp4", 8, MP4)
    b = _video(tmp_path / "b.mp4", 8, MP4)
    for path, start in ((a, ws - timedelta(seconds=4)), (b, ws + timedelta(seconds=4))):
        response = client.post(
            f"/api/v1/respond/{token}/originals",
            content=path.read_bytes(),
            headers={"X-Filename": path.name, "X-Recording-Start": start.isoformat()},
        )
        assert response.status_code == 201, response.text
    done = client.post(f"/api/v1/respond/{token}/originals/complete")
    assert done.status_code == 200, done.text
    assert done.json()["status"] == "footage_received" and len(done.json()["export"]["files"]) == 2
    # the owner's phone sends `complete` again (a retry after a dropped answer): the same answer, nothing moves
    again = client.post(f"/api/v1/respond/{token}/originals/complete")
    assert again.status_code == 200, again.text
    assert again.json()["history"] == done.json()["history"]
    # a file after `complete` through the same link is refused naming the request's state, and not kept
    late = client.post(
        f"/api/v1/respond/{token}/originals",
        content=a.read_bytes(),
        headers={"X-Filename": "late.mp4", "X-Recording-Start": (ws + timedelta(seconds=20)).isoformat()},
    )
    assert late.status_code == 409, late.text
    assert late.json()["current_status"] == "footage_received" and "footage_received" in late.json()["detail"]
    assert len(_detail(client, investigator, request_id)["originals"]) == 2
    clip = make_clip(session_factory(), uuid.UUID(request_id))
    assert clip is not None and len(_clip_read(client, investigator, clip.id)["parents"]) == 2
    # once the clip is made the link still answers `complete` with what became of the request
    assert client.post(f"/api/v1/respond/{token}/originals/complete").json()["status"] == "clip_ready"


def test_a_segment_is_no_ordinary_request_body(configured: str, tmp_path: Path) -> None:
    """Segments are evidence uploads: the body limit of ordinary requests does not apply to them."""
    from app.core.config import override_settings
    from app.main import create_app

    before = get_settings().max_request_body_bytes
    override_settings(max_request_body_bytes=64 * 1024)
    try:
        with TestClient(create_app()) as small_limit:
            investigator, owner, request_id, t0 = _t0(small_limit)
            ws, _ = _window(_detail(small_limit, investigator, request_id))
            a = _video(tmp_path / "a.mp4", 12, MP4)
            assert a.stat().st_size > 64 * 1024
            response = _post(small_limit, owner, request_id, a, ws - timedelta(seconds=2))
            assert response.status_code == 201, response.text
    finally:
        override_settings(max_request_body_bytes=before)


def test_the_single_file_put_still_completes_at_once(client: TestClient, tmp_path: Path) -> None:
    investigator, owner, request_id, t0 = _t0(client)
    ws, we = _window(_detail(client, investigator, request_id))
    a = _video(tmp_path / "a.mp4", 12, MP4)
    put = client.put(
        f"/api/v1/requests/{request_id}/original",
        content=a.read_bytes(),
        headers={**owner.headers, "X-Filename": a.name, "X-Recording-Start": (ws - timedelta(seconds=2)).isoformat()},
    )
    assert put.status_code == 201, put.text
    assert _detail(client, investigator, request_id)["status"] == "footage_received"
    clip = make_clip(session_factory(), uuid.UUID(request_id))
    assert clip is not None
    read = _clip_read(client, investigator, clip.id)
    assert read["parents"] == [{"original_id": put.json()["id"], "sha256": _sha(a)}]
    assert _detail(client, investigator, request_id)["export"]["clip_mode"] == "single"


# -- temporary copies of evidence ------------------------------------------------------------------------------
WORKER = """
import json, sys, time, uuid
from app.core.config import override_settings
override_settings(**json.loads(sys.stdin.readline()))
from app.core.db import session_factory
from app.footage import cutting

def held(*args, **kwargs):  # the working copy is on disk: stop here until killed
    print("cutting", flush=True)
    time.sleep(600)

cutting.cut = held
cutting.make_clip(session_factory(), uuid.UUID(sys.argv[1]))
"""


def _leftovers(root: Path) -> list[Path]:
    return sorted(root.glob(cutting.TEMP_PREFIX + "*"))


def test_a_killed_clip_job_leaves_copies_the_sweep_removes(client: TestClient, tmp_path: Path) -> None:
    investigator, owner, request_id, t0 = _t0(client)
    ws, _ = _window(_detail(client, investigator, request_id))
    ts = _video(tmp_path / "rec.ts", 12, TS)  # a TS is downloaded whole before it is remuxed
    assert _post(client, owner, request_id, ts, ws - timedelta(seconds=2)).status_code == 201
    assert _complete(client, owner, request_id).status_code == 200
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    settings = get_settings()
    carried = {
        k: str(v) if isinstance(v, Path) else v
        for k, v in settings.model_dump().items()
        if k in {"database_url", "s3_endpoint", "s3_access_key", "s3_secret_key", "s3_secure", "s3_bucket", "data_dir"}
    }
    worker = subprocess.Popen(
        [sys.executable, "-c", WORKER, request_id],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "TMPDIR": str(scratch)},
    )
    try:
        assert worker.stdin is not None and worker.stdout is not None
        worker.stdin.write(json.dumps(carried) + "\n")
        worker.stdin.flush()
        assert worker.stdout.readline().strip() == "cutting"
        (folder,) = _leftovers(scratch)
        copy = next(folder.rglob("original.ts"))
        assert _sha(copy) == _sha(ts)  # a full copy of the evidence
    finally:
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait(timeout=30)
    assert worker.returncode == -signal.SIGKILL
    assert _leftovers(scratch) == [folder]  # the kill left it
    assert folder.name.startswith(f"{cutting.TEMP_PREFIX}{worker.pid}-")  # named after the job that made it
    # a folder of a running job (this process) is kept within the grace period; the dead job's goes at once
    live = Path(tempfile.mkdtemp(prefix=cutting._workdir_prefix(), dir=scratch))
    assert cutting.sweep_temporary_copies(scratch) == [folder]
    assert _leftovers(scratch) == [live]
    frozen = clock.FrozenClock(datetime.now(UTC))
    clock.set_clock(frozen)
    try:
        frozen.advance(seconds=cutting.TEMP_GRACE.total_seconds() + 60)  # untouched past the grace: gone too
        assert cutting.sweep_temporary_copies(scratch) == [live]
    finally:
        clock.set_clock(None)
    assert _leftovers(scratch) == []
    # the next run of the job makes the one clip
    clip = make_clip(session_factory(), uuid.UUID(request_id))
    assert clip is not None and _detail(client, investigator, request_id)["status"] == "clip_ready"


def test_the_job_removes_its_copies_when_it_fails(
    client: TestClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    investigator, owner, request_id, t0 = _t0(client)
    ws, _ = _window(_detail(client, investigator, request_id))
    ts = _video(tmp_path / "rec.ts", 12, TS)
    assert _post(client, owner, request_id, ts, ws - timedelta(seconds=2)).status_code == 201
    assert _complete(client, owner, request_id).status_code == 200
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr("tempfile.tempdir", str(scratch))
    monkeypatch.setattr(get_settings(), "ffmpeg_path", "false")  # a media tool that fails on every call
    with pytest.raises(media.MediaError):
        make_clip(session_factory(), uuid.UUID(request_id))
    assert _leftovers(scratch) == []
    monkeypatch.setattr(get_settings(), "ffmpeg_path", None)
    assert make_clip(session_factory(), uuid.UUID(request_id)) is not None
    assert _leftovers(scratch) == []
