"""Recorder-native exports (Dahua DHAV, Hikvision IMKH) read by the real ffmpeg/PyAV, and the recorder's clock
read from a DHAV file's head and tail only."""

from __future__ import annotations

import os
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from app.core import media
from app.core import native_formats as native
from tests.footage.recorder_exports import (
    IMKH_HEADER_SIZE,
    pack_dhav_date,
    write_dav,
    write_imkh,
    write_vendor_blob,
)

RECORDER_START = datetime(2026, 11, 23, 20, 12, 0)


@pytest.fixture(scope="module")
def dav(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_dav(tmp_path_factory.mktemp("dav") / "export.dav", RECORDER_START, seconds=12, channel=3)


@pytest.fixture(scope="module")
def imkh(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_imkh(tmp_path_factory.mktemp("imkh") / "ch01_20261123201200.mp4", seconds=12)


class CountingReader:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.reads: list[tuple[int, int]] = []

    def __call__(self, offset: int, length: int) -> bytes:
        self.reads.append((offset, length))
        with self.path.open("rb") as fh:
            fh.seek(offset)
            return fh.read(length)


def test_dhav_date_packing_round_trips() -> None:
    moment = datetime(2031, 2, 28, 23, 59, 58)
    assert native.unpack_dhav_date(pack_dhav_date(moment)) == moment


def test_sniff_by_magic_whatever_the_name(dav: Path, imkh: Path, tmp_path: Path) -> None:
    assert native.sniff(dav.read_bytes()[:64]) == native.DHAV
    assert native.sniff(imkh.read_bytes()[:64]) == native.IMKH
    assert native.sniff(write_vendor_blob(tmp_path / "x.dav").read_bytes()[:64]) is None
    assert native.sniff(b"\x00\x00\x00\x18ftypisom") is None


def test_ffmpeg_reads_the_dav_fixture(dav: Path) -> None:
    info = media.inspect(dav, format="dhav")
    assert info.container == "dhav" and info.video_codec == "h264"
    assert (info.width, info.height, info.frame_rate) == (320, 240, 25.0)
    # the demuxer times the frames by the recorder's clock (seconds since 1970 of the naive local time)
    assert info.start_time_s == (RECORDER_START - datetime(1970, 1, 1)).total_seconds()
    first, last_end = media.packet_span(dav, format="dhav")
    assert last_end - first == pytest.approx(11.961, abs=0.01)


def test_ffmpeg_reads_the_imkh_fixture_behind_its_header(imkh: Path) -> None:
    assert imkh.read_bytes()[:4] == b"IMKH" and imkh.read_bytes()[IMKH_HEADER_SIZE:][:4] == b"\x00\x00\x01\xba"
    fmt, options = media.open_options(imkh.name, None, native.IMKH)
    info = media.inspect(imkh, format=fmt, options=options)
    assert info.container == "mpeg" and info.video_codec == "h264"
    assert info.duration_s == pytest.approx(12, abs=0.1)


def test_recorder_clock_from_head_and_tail_only(dav: Path) -> None:
    reader = CountingReader(dav)
    size = dav.stat().st_size
    clock = native.read_recorder_clock(reader, size)
    assert clock.first == RECORDER_START
    assert clock.last == RECORDER_START + timedelta(seconds=11.96)  # 300 frames at 25 fps
    assert clock.channel == 3 and clock.ends_on_frame
    assert size > native.DHAV_HEAD_BYTES + native.DHAV_TAIL_BYTES
    assert reader.reads == [(0, native.DHAV_HEAD_BYTES), (size - native.DHAV_TAIL_BYTES, native.DHAV_TAIL_BYTES)]


def test_recorder_clock_past_the_millisecond_counter_wrap(tmp_path: Path) -> None:
    """Over 65.536 s the 16-bit millisecond counter wraps; the dates say how many times."""
    path = write_dav(tmp_path / "long.dav", RECORDER_START, seconds=70, fps=5, gop=10)
    clock = native.read_recorder_clock(CountingReader(path), path.stat().st_size)
    assert clock.last - clock.first == timedelta(seconds=69.8)


def test_a_dav_cut_short_is_told_and_a_non_dav_refused(dav: Path, tmp_path: Path) -> None:
    cut = tmp_path / "cut.dav"
    cut.write_bytes(dav.read_bytes()[: dav.stat().st_size - 1000])
    clock = native.read_recorder_clock(CountingReader(cut), cut.stat().st_size)
    assert not clock.ends_on_frame and clock.first == RECORDER_START
    assert clock.last < RECORDER_START + timedelta(seconds=11.96)
    noise = tmp_path / "noise.dav"
    noise.write_bytes(os.urandom(100_000))
    with pytest.raises(native.NativeFormatError):
        native.read_recorder_clock(CountingReader(noise), 100_000)


def test_nothing_decodes_the_vendor_blob(tmp_path: Path) -> None:
    with pytest.raises(media.MediaError):
        media.inspect(write_vendor_blob(tmp_path / "NVR_ch1.dav"))


def test_dav_and_imkh_remux_to_mp4_by_stream_copy(dav: Path, imkh: Path, tmp_path: Path) -> None:
    for source, kind in ((dav, native.DHAV), (imkh, native.IMKH)):
        fmt, options = media.open_options(source.name, None, kind)
        out = tmp_path / f"{kind}.mp4"
        media.run_ffmpeg(
            ["-fflags", "+genpts", *media.input_args(fmt, options), "-i", str(source)]
            + ["-map", "0", "-c", "copy", "-y", str(out)]
        )
        info = media.probe(out)
        assert info.video_codec == "h264" and info.start_time_s == 0.0
        assert info.duration_s == pytest.approx(12, abs=0.1)
