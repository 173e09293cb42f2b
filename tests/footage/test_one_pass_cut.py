"""A clip is one ffmpeg pass: the key frame a stream-copy cut starts at is read from the source's index before
cutting, and the cutting pass itself shifts it to media time 0. When the cut does not start where predicted, the
clip is still made from zero, by the two stream copies (the cut with the source's timestamps, then the shift), and
the commands recorded are those that made it. Real ffmpeg on generated video."""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import av
import pytest
from fastapi.testclient import TestClient

from app.core import media
from app.core.db import session_factory
from app.footage.cutting import DIRECT, Plan, cut, make_clip
from app.footage.models import Original
from tests.footage.test_footage import approved_request
from tests.web.evidence_scene import FIRST_FRAME, FPS, true_time_video

VN = ZoneInfo("Asia/Ho_Chi_Minh")


def _ffmpeg_runs(command: list[str]) -> list[str]:
    return [c for c in command if c.startswith("ffmpeg ")]


def _video_packets(path: Path) -> list[tuple[float, str]]:
    """Each video packet's time (from the clip's start) and the digest of its bytes: what the clip holds."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        assert stream.time_base is not None
        return [
            (round(float(p.pts * stream.time_base), 4), hashlib.sha256(bytes(p)).hexdigest())
            for p in container.demux(stream)
            if p.pts is not None
        ]


def test_a_clip_of_an_mp4_and_a_clip_across_two_files_are_each_one_ffmpeg_pass(
    client: TestClient, tmp_path: Path
) -> None:
    investigator, owner, request_id, t0 = approved_request(client)  # window t0+5 .. t0+12
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
    clip = make_clip(session_factory(), uuid.UUID(request_id))
    assert clip is not None
    runs = _ffmpeg_runs(clip.command)
    assert len(runs) == 1 == len(clip.command), clip.command  # the cut, shifted to zero in the same pass
    assert "-ss 5.000" in runs[0] and "-output_ts_offset -4.000000" in runs[0] and "+faststart" in runs[0]
    assert clip.actual_start == t0 + timedelta(seconds=4) and clip.first_pts_s == 0

    # across two files (the concat demuxer): the listing, then one ffmpeg
    investigator, owner, request_id, t0 = approved_request(client)
    a = true_time_video(tmp_path / "a.mp4", FIRST_FRAME, 8, gop=2 * FPS, audio=True)
    b = true_time_video(tmp_path / "b.mp4", FIRST_FRAME + 8 * FPS, 10, gop=2 * FPS, audio=True)
    for part, start in ((a, t0), (b, t0 + timedelta(seconds=8))):
        sent = client.post(
            f"/api/v1/requests/{request_id}/originals",
            content=part.read_bytes(),
            headers={**owner.headers, "X-Filename": part.name, "X-Recording-Start": start.isoformat()},
        )
        assert sent.status_code == 201, sent.text
    assert client.post(f"/api/v1/requests/{request_id}/originals/complete", headers=owner.headers).status_code == 200
    across = make_clip(session_factory(), uuid.UUID(request_id))
    assert across is not None and len(across.parents) == 2
    runs = _ffmpeg_runs(across.command)
    assert len(runs) == 1 and "-f concat" in runs[0], across.command
    # the demuxer gives the key frame at 4 s as 4 - 5 (its in point); the pass moves it by +1 to 0
    assert "inpoint 5.000" in " ".join(across.command) and "-output_ts_offset 1.000000" in runs[0]
    assert across.actual_start == t0 + timedelta(seconds=4) and across.first_pts_s == 0


@pytest.mark.parametrize("wrong_key_s", [2.0, 6.0])
def test_a_cut_that_does_not_start_at_the_predicted_key_frame_is_shifted_in_a_second_pass(
    tmp_path: Path, wrong_key_s: float
) -> None:
    path = true_time_video(tmp_path / "rec.mp4", FIRST_FRAME, 20, gop=2 * FPS, audio=True)
    info = media.probe(path)
    original = Original(filename=path.name, media=info.as_dict())
    assert info.container in DIRECT
    t0 = datetime(2026, 12, 3, 8, 0, tzinfo=UTC)
    plan = Plan(
        offset_start_s=5.0,
        offset_end_s=12.0,
        covered_start=t0,
        covered_end=t0 + timedelta(seconds=20),
        cut_start=t0 + timedelta(seconds=5),
        cut_end=t0 + timedelta(seconds=12),
        shortfall={"start_s": 0.0, "end_s": 0.0},
    )
    predicted_dir, wrong_dir = tmp_path / "predicted", tmp_path / "wrong"
    predicted_dir.mkdir()
    wrong_dir.mkdir()
    predicted = cut(path, original, plan, predicted_dir, source_label="s3://evidence/rec.mp4")
    assert len(predicted.commands) == 1  # the key frame at 4 s, read from the index
    wrong = cut(path, original, plan, wrong_dir, source_label="s3://evidence/rec.mp4", key_s=wrong_key_s)

    # two stream copies, both recorded: the cut with the source's times, then the shift by its measured first frame
    assert len(wrong.commands) == 2 and all(c[0] == "ffmpeg" for c in wrong.commands), wrong.commands
    cut_args, shift_args = (" ".join(c) for c in wrong.commands)
    assert "-ss 5.000 -i s3://evidence/rec.mp4" in cut_args and "-output_ts_offset" not in cut_args
    assert "-output_ts_offset -4.000000" in shift_args and str(path) not in " ".join([cut_args, shift_args])
    assert media.packet_span(wrong.path)[0] == 0.0 and wrong.start_pts_s == 0.0
    # the same clip either way: the same frames at the same media times, the same times on the source
    assert (wrong.first_s, wrong.last_end_s) == pytest.approx((predicted.first_s, predicted.last_end_s), abs=1e-3)
    assert wrong.first_s == pytest.approx(4.0, abs=1e-3)
    assert _video_packets(wrong.path) == _video_packets(predicted.path)
    assert not list(predicted_dir.glob("cut.*"))  # one pass writes no working copy of the window
