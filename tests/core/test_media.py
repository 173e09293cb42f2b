from __future__ import annotations

from pathlib import Path

import pytest

from app.core import media


def _generate(path: Path, *codec: str, seconds: int = 3) -> Path:
    media.run_ffmpeg(
        [
            "-f",
            "lavfi",
            "-i",
            f"testsrc2=size=320x240:rate=25:duration={seconds}",
            "-f",
            "lavfi",
            "-i",
            f"sine=frequency=440:duration={seconds}",
            *codec,
            "-y",
            str(path),
        ]
    )
    return path


def test_ffmpeg_version_is_reported() -> None:
    assert media.check_ready() is None
    assert media.ffmpeg_version()[0].isalnum()


@pytest.mark.parametrize(
    ("name", "codec", "container", "video_codec"),
    [
        ("a.mp4", ["-c:v", "libx264", "-c:a", "aac"], "mov,mp4,m4a,3gp,3g2,mj2", "h264"),
        ("a.mkv", ["-c:v", "libx265", "-c:a", "aac"], "matroska,webm", "hevc"),
        ("a.ts", ["-c:v", "libx264", "-c:a", "aac"], "mpegts", "h264"),
        ("a.avi", ["-c:v", "mjpeg", "-c:a", "pcm_s16le"], "avi", "mjpeg"),
    ],
)
def test_probe_reads_container_codec_and_duration(
    tmp_path: Path, name: str, codec: list[str], container: str, video_codec: str
) -> None:
    info = media.probe(_generate(tmp_path / name, *codec))
    assert info.container == container
    assert info.video_codec == video_codec
    assert (info.width, info.height) == (320, 240)
    assert info.duration_s is not None and 2.8 <= info.duration_s <= 3.3
    assert info.frame_rate == pytest.approx(25, rel=0.01)
    assert info.size == (tmp_path / name).stat().st_size


def test_probe_refuses_a_text_file(tmp_path: Path) -> None:
    text = tmp_path / "notes.mp4"
    text.write_text("this is not a video\n" * 100)
    with pytest.raises(media.MediaError):
        media.probe(text)
