"""Which reading of the recorder's clock at the first frame an original is timed by.

Three sources, in this order of trust: the file's own frame stamps (a DHAV export carries the recorder's
date-time in every frame), the uploader's `X-Recording-Start`, and a time the recorder wrote into the file name.
When the file and the header disagree by more than `FILE_HEADER_TOLERANCE_S`, the file's time is kept and both,
with the difference, go into the custody record — a typed-in time is more often wrong than the recorder's own
stamp, and the difference itself is evidence of how the time was established.
"""

from __future__ import annotations

import enum
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from app.core import native_formats
from app.core.storage import get_storage
from app.footage.recorder_names import NamedRecording

log = logging.getLogger(__name__)

FILE_HEADER_TOLERANCE_S = 2.0


class RecordingStartSource(enum.StrEnum):
    file = "file"
    header = "header"
    filename = "filename"


@dataclass(frozen=True)
class RecordingStart:
    recorder: datetime  # the recorder's clock at the first frame, as an instant (UTC)
    source: RecordingStartSource
    details: dict[str, Any]  # every source seen, for the custody record


def local_to_utc(naive: datetime, tz_name: str) -> datetime:
    """A recorder's naive local reading, in the camera's time zone, as a UTC instant."""
    return naive.replace(tzinfo=ZoneInfo(tz_name)).astimezone(UTC)


def resolve(
    *,
    file_time: datetime | None,
    header: datetime | None,
    header_stated: str | None,
    named: NamedRecording | None,
    tz_name: str,
    parent: tuple[UUID, RecordingStart] | None = None,
) -> RecordingStart | None:
    """The recording start by precedence file > header > file name; None when no source gives one.

    `file_time` and `named` are naive recorder-local readings (read in the camera's time zone); `header` is the
    parsed header, already an instant. A converted copy (`parent` given) is not timed by its own name, which the
    converting tool chose: without stamps or a header it starts when the original it was converted from starts."""
    if parent is not None:
        named = None
    from_file = local_to_utc(file_time, tz_name) if file_time is not None else None
    from_name = local_to_utc(named.start, tz_name) if named is not None else None
    details: dict[str, Any] = {
        "recording_start_file": from_file.isoformat() if from_file else None,
        "recording_start_header": header_stated or None,
        "recording_start_filename": from_name.isoformat() if from_name else None,
    }
    if named is not None:
        details["filename_pattern"] = named.pattern
        if named.end is not None:
            details["recording_end_filename"] = local_to_utc(named.end, tz_name).isoformat()
    if from_file is not None and header is not None:
        difference = (header - from_file).total_seconds()
        details["header_minus_file_s"] = round(difference, 3)
        details["header_overruled"] = abs(difference) > FILE_HEADER_TOLERANCE_S
    if from_file is not None:
        chosen, source = from_file, RecordingStartSource.file
    elif header is not None:
        chosen, source = header, RecordingStartSource.header
    elif from_name is not None:
        chosen, source = from_name, RecordingStartSource.filename
    elif parent is not None:
        parent_id, inherited = parent
        details = {**inherited.details, **details, "inherited_from_original": str(parent_id)}
        chosen, source = inherited.recorder, inherited.source
    else:
        return None
    details["recording_start_source"] = source.value
    return RecordingStart(chosen, source, details)


def file_clock(key: str, version_id: str, size: int) -> native_formats.RecorderClock | None:
    """The recorder's clock at the first and last frame of a stored DHAV original, from two ranged reads (its
    head and its tail), however large the file."""

    def read(offset: int, length: int) -> bytes:
        return get_storage().read_range(key, version_id, offset, length)

    try:
        return native_formats.read_recorder_clock(read, size)
    except native_formats.NativeFormatError:
        log.warning("DHAV original %s carries no readable frame stamps", key)
        return None


def native_fields(native: str | None, clock: native_formats.RecorderClock | None) -> dict[str, Any]:
    """What the original's media record says of its recorder-native container and frame stamps."""
    fields: dict[str, Any] = {"native_format": native}
    if clock is not None:
        fields["recorder_clock"] = {
            "first_frame": clock.first.isoformat(),
            "last_frame": clock.last.isoformat(),
            "channel": clock.channel,
            "ends_on_frame": clock.ends_on_frame,
            "bytes_read": clock.bytes_read,
        }
    return fields
