"""Recorder-native containers told by their bytes, and the recorder's clock read from a DHAV file's frames.

Pure byte reading (no ffmpeg): the first bytes say DHAV (Dahua and its OEMs) or IMKH (Hikvision / Ezviz) whatever
the file is called; a DHAV file's first and last frames, found in its head and tail, carry the recorder's local
date-time. `app.core.media` opens these containers with ffmpeg.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta


class NativeFormatError(Exception):
    """The bytes are not the recorder format they were taken for."""


# Recorder-native containers, told by their first bytes whatever the file is called.
DHAV = "dhav"  # Dahua and its OEMs: DHAV frames, each stamped with the recorder's local date-time
IMKH = "imkh"  # Hikvision / Ezviz: a 40-byte IMKH header before an MPEG program stream
IMKH_HEADER_SIZE = 40
DHAV_FRAME_TYPES = frozenset({0xF0, 0xF1, 0xFC, 0xFD})  # audio, auxiliary, video, video key frame


def sniff(head: bytes) -> str | None:
    """DHAV or IMKH by the magic at the start of the file; None for everything else."""
    if head[:4] == b"IMKH":
        return IMKH
    if head[:5] == b"DAHUA" or (head[:4] == b"DHAV" and len(head) > 4 and head[4] in DHAV_FRAME_TYPES):
        return DHAV
    return None


RangeReader = Callable[[int, int], bytes]
"""read(offset, length) -> at most `length` bytes of the file from `offset` (a ranged GET on the stored object)."""

DHAV_HEAD_BYTES = 64 * 1024
DHAV_TAIL_BYTES = 256 * 1024
_DHAV_HEADER = struct.Struct("<4sBBBBIIIHBB")  # magic, type, subtype, channel, sub-number, seq, length, date, ms


@dataclass(frozen=True)
class DhavFrame:
    offset: int
    kind: int
    channel: int
    sequence: int
    length: int
    recorder_time: datetime  # naive: the recorder's local clock, to the second
    millis: int  # the recorder's free-running millisecond counter (16 bits, wraps)


@dataclass(frozen=True)
class RecorderClock:
    """What a DHAV file says of its own time: the recorder's clock at its first and last frame."""

    first: datetime  # naive recorder-local
    last: datetime  # naive recorder-local, to the millisecond when the counters allow
    channel: int
    ends_on_frame: bool  # the file ends with a whole frame (its trailer), i.e. it was not cut short
    bytes_read: int

    @property
    def span_s(self) -> float:
        return (self.last - self.first).total_seconds()


def unpack_dhav_date(value: int) -> datetime:
    return datetime(
        2000 + (value >> 26 & 0x3F),
        value >> 22 & 0x0F,
        value >> 17 & 0x1F,
        value >> 12 & 0x1F,
        value >> 6 & 0x3F,
        value & 0x3F,
    )


def _dhav_frame_at(buffer: bytes, index: int, base: int) -> DhavFrame | None:
    if index < 0 or index + _DHAV_HEADER.size > len(buffer):
        return None
    magic, kind, _sub, channel, _subnum, seq, length, date, millis, _ext, _sum = _DHAV_HEADER.unpack_from(buffer, index)
    if magic != b"DHAV" or kind not in DHAV_FRAME_TYPES or length < 32:
        return None
    try:
        moment = unpack_dhav_date(date)
    except ValueError:
        return None  # not a date: bytes that only look like a header
    return DhavFrame(base + index, kind, channel, seq, length, moment, millis)


def _first_dhav_frame(head: bytes) -> DhavFrame | None:
    index = head.find(b"DHAV")
    while index >= 0:
        frame = _dhav_frame_at(head, index, 0)
        if frame is not None and frame.kind != 0xF1:
            return frame
        index = head.find(b"DHAV", index + 1)
    return None


def _last_dhav_frame(tail: bytes, base: int, size: int) -> tuple[DhavFrame | None, bool]:
    """The last whole frame in `tail` (the file's bytes from `base`), found through the `dhav` trailers that
    repeat each frame's length; and whether the file ends exactly on a trailer."""
    end = len(tail)
    index = tail.rfind(b"dhav", 0, end - 4)
    while index >= 0:
        (length,) = struct.unpack_from("<I", tail, index + 4)
        frame = _dhav_frame_at(tail, index + 8 - length, base)
        if frame is not None and frame.length == length and frame.kind != 0xF1:
            return frame, base + index + 8 == size
        index = tail.rfind(b"dhav", 0, index)
    return None, False


def read_recorder_clock(read: RangeReader, size: int) -> RecorderClock:
    """The recorder's clock at the first and last frame of a DHAV file, from its head and its tail only.

    The frames carry the date-time to the second and a millisecond counter; the span between first and last frame
    is the counter difference (modulo its 16-bit wrap) that agrees with the dates. A 2 GB export costs two ranged
    reads of a few hundred kilobytes."""
    head = read(0, min(size, DHAV_HEAD_BYTES))
    first = _first_dhav_frame(head)
    if first is None:
        raise NativeFormatError("no DHAV frame header in the first bytes of the file")
    if size <= len(head):
        tail_start, tail = 0, head
    else:
        tail_start = max(0, size - DHAV_TAIL_BYTES)
        tail = read(tail_start, size - tail_start)
    last, whole = _last_dhav_frame(tail, tail_start, size)
    if last is None:
        last, whole = first, size == first.offset + first.length
    by_date_ms = (last.recorder_time - first.recorder_time).total_seconds() * 1000
    by_counter_ms = (last.millis - first.millis) % 0x10000
    # the counter difference is known modulo 65.536 s: take the candidate within the dates' one-second uncertainty
    turns = round((by_date_ms - by_counter_ms) / 0x10000)
    elapsed_ms = by_counter_ms + turns * 0x10000
    if abs(elapsed_ms - by_date_ms) > 1000:
        elapsed_ms = int(by_date_ms)
    return RecorderClock(
        first=first.recorder_time,
        last=first.recorder_time + timedelta(milliseconds=elapsed_ms),
        channel=first.channel,
        ends_on_frame=whole,
        bytes_read=len(head) + (0 if tail is head else len(tail)),
    )
