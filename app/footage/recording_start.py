"""Which reading of the recorder's clock at the first frame an original is timed by.

Three sources, in this order of trust: the file's own frame stamps (a DHAV export carries the recorder's
date-time in every frame), the uploader's `X-Recording-Start`, and a time the recorder wrote into the file name.
When the file and the header disagree by more than `FILE_HEADER_TOLERANCE_S`, the file's time is kept and both,
with the difference, go into the custody record — a typed-in time is more often wrong than the recorder's own
stamp, and the difference itself is evidence of how the time was established.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from app.footage.recorder_names import NamedRecording

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
) -> RecordingStart | None:
    """The recording start by precedence file > header > file name; None when no source gives one.

    `file_time` and `named` are naive recorder-local readings (read in the camera's time zone); `header` is the
    parsed header, already an instant."""
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
    else:
        return None
    details["recording_start_source"] = source.value
    return RecordingStart(chosen, source, details)
