"""Recorder exports as they come out of field recorders, written for the tests from generated video.

- ``write_dav``: a Dahua-family ``.dav`` file. Each video frame is one DHAV frame: a 24-byte header
  (``DHAV``, frame type ``0xfd`` key / ``0xfc`` other, sub-type, channel, sub-number, sequence number, frame
  length, the recorder's packed local date-time, a millisecond counter, extension length, checksum), extension
  blocks (picture size in 8-pixel units; codec and frame rate), the H.264 access unit (Annex B), and an 8-byte
  ``dhav`` trailer repeating the frame length (so a reader can walk the file backwards from its end).
- ``write_imkh``: a Hikvision/Ezviz export: a 40-byte ``IMKH`` header before an MPEG program stream.
- ``write_vendor_blob``: a file nothing here decodes (a vendor's proprietary container): a header, then noise.
- ``segment_names``: the names a recorder gives the files of one export split in several.
"""

from __future__ import annotations

import os
import struct
import tempfile
from datetime import datetime, timedelta
from pathlib import Path

import av

from app.core import media

DHAV_VIDEO_KEY = 0xFD
DHAV_VIDEO = 0xFC
DHAV_CODEC_H264 = 0x02


def pack_dhav_date(moment: datetime) -> int:
    """The recorder's local date-time as DHAV packs it: seconds, minutes, hours, day, month, year - 2000."""
    return (
        moment.second
        | moment.minute << 6
        | moment.hour << 12
        | moment.day << 17
        | moment.month << 22
        | (moment.year - 2000) << 26
    )


def _generated_h264(seconds: float, fps: int, gop: int, size: tuple[int, int]) -> list[tuple[bytes, bool]]:
    """Access units (Annex B bytes, key frame?) of a generated test picture, without B-frames (recorders send
    frames in presentation order, and DHAV carries no decoding time)."""
    with tempfile.TemporaryDirectory(prefix="dav-source-") as tmp:
        raw = Path(tmp) / "source.h264"
        media.run_ffmpeg(
            [
                "-f",
                "lavfi",
                "-i",
                f"testsrc2=size={size[0]}x{size[1]}:rate={fps}:duration={seconds}",
                "-c:v",
                "libx264",
                "-g",
                str(gop),
                "-bf",
                "0",
                "-x264-params",
                "repeat-headers=1:log-level=error",
                "-f",
                "h264",
                "-y",
                str(raw),
            ]
        )
        with av.open(str(raw), format="h264") as container:
            return [(bytes(p), bool(p.is_keyframe)) for p in container.demux(container.streams.video[0]) if p.size]


def dhav_frame(
    payload: bytes,
    *,
    key: bool,
    sequence: int,
    recorder_time: datetime,
    millis: int,
    channel: int = 0,
    size: tuple[int, int] = (320, 240),
    fps: int = 25,
) -> bytes:
    """One DHAV frame around one access unit."""
    extension = b""
    if key:
        extension = bytes([0x80, 0x00, size[0] // 8, size[1] // 8, 0x81, 0x00, DHAV_CODEC_H264, fps])
    length = 24 + len(extension) + len(payload) + 8
    head = b"DHAV" + struct.pack(
        "<BBBBIIIHB",
        DHAV_VIDEO_KEY if key else DHAV_VIDEO,
        0,
        channel,
        0,
        sequence,
        length,
        pack_dhav_date(recorder_time),
        millis & 0xFFFF,
        len(extension),
    )
    head += bytes([sum(head) & 0xFF])
    return head + extension + payload + b"dhav" + struct.pack("<I", length)


def write_dav(
    path: Path,
    recorder_start: datetime,
    *,
    seconds: int = 20,
    fps: int = 25,
    gop: int = 50,
    channel: int = 0,
    size: tuple[int, int] = (320, 240),
    first_millis: int = 0,
    first_sequence: int = 1,
    units: list[tuple[bytes, bool]] | None = None,
) -> Path:
    """A ``.dav`` export whose first frame the recorder stamped `recorder_start` (naive recorder-local time,
    whole seconds) and whose frames follow at `fps`. `first_millis` and `first_sequence` continue the recorder's
    millisecond counter and frame numbering (for a file's tail written apart from its head). `units` are the
    access units to wrap (Annex B bytes, key frame?), else a generated test picture."""
    assert recorder_start.microsecond == 0
    units = units if units is not None else _generated_h264(seconds, fps, gop, size)
    with path.open("wb") as out:
        for n, (payload, key) in enumerate(units):
            offset_ms = n * 1000 // fps
            out.write(
                dhav_frame(
                    payload,
                    key=key,
                    sequence=first_sequence + n,
                    recorder_time=recorder_start + timedelta(milliseconds=offset_ms),
                    millis=first_millis + offset_ms,
                    channel=channel,
                    size=size,
                    fps=fps,
                )
            )
    return path


IMKH_HEADER_SIZE = 40


def imkh_header() -> bytes:
    """A plausible 40-byte IMKH header: magic, format version, system format (program stream), codec tags."""
    fields = b"IMKH" + struct.pack("<HHHHHHHI", 0x0101, 0, 0x0002, 0x0001, 0x0100, 0x7110, 0x0001, 8000)
    return fields.ljust(IMKH_HEADER_SIZE, b"\x00")


def write_imkh(path: Path, *, seconds: int = 20, fps: int = 25, gop: int = 50) -> Path:
    """A Hikvision-style export: IMKH header + MPEG program stream of H.264 (often named ``.mp4``)."""
    with tempfile.TemporaryDirectory(prefix="imkh-source-") as tmp:
        ps = Path(tmp) / "stream.mpg"
        media.run_ffmpeg(
            [
                "-f",
                "lavfi",
                "-i",
                f"testsrc2=size=320x240:rate={fps}:duration={seconds}",
                "-c:v",
                "libx264",
                "-g",
                str(gop),
                "-bf",
                "0",
                "-x264-params",
                "log-level=error",
                "-f",
                "mpeg",
                "-y",
                str(ps),
            ]
        )
        path.write_bytes(imkh_header() + ps.read_bytes())
    return path


def write_vendor_blob(path: Path, size: int = 256 * 1024) -> Path:
    """A proprietary/encrypted export no demuxer here knows: a vendor header, then random bytes."""
    path.write_bytes(b"XVRPLAYERv3\x00ENC\x01" + os.urandom(size))
    return path


def hikvision_name(channel: int, start: datetime, end: datetime | None = None) -> str:
    stamp = start.strftime("%Y%m%d%H%M%S")
    return f"ch{channel:02d}_{stamp}" + (f"_{end.strftime('%Y%m%d%H%M%S')}" if end else "") + ".mp4"


def dahua_name(channel: int, start: datetime, end: datetime, *, serial: str = "NVR4108HS") -> str:
    fmt = "%Y-%m-%d.%H.%M.%S"
    return f"{serial}_ch{channel}_main_{start.strftime(fmt)}-{end.strftime(fmt)}[M][0@0][0].dav"


def segment_names(channel: int, start: datetime, segment_s: int, count: int) -> list[str]:
    """Names of a Dahua export split into `count` files of `segment_s` seconds each."""
    return [
        dahua_name(
            channel,
            start + timedelta(seconds=i * segment_s),
            start + timedelta(seconds=(i + 1) * segment_s),
        )
        for i in range(count)
    ]


def write_dav_segments(
    directory: Path, recorder_start: datetime, *, segment_s: int, count: int, channel: int = 1
) -> list[Path]:
    """A Dahua export in `count` files of `segment_s` seconds, named as the recorder names them."""
    paths = []
    for i, name in enumerate(segment_names(channel, recorder_start, segment_s, count)):
        start = recorder_start + timedelta(seconds=i * segment_s)
        paths.append(write_dav(directory / name, start, seconds=segment_s, channel=channel))
    return paths
