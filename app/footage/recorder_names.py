"""The recording start (and end) written in a recorder export's file name.

Recorders name export files after the recorder's own clock at the first (and last) frame, as naive local times:

- Hikvision / HiLook / Ezviz: ``ch01_20261123201200.mp4``, ``ch01_20261123201200_20261123204200.mp4`` (sometimes
  with milliseconds, ``..._20261123201200123_...``, or a part number after the end);
- Dahua and its OEMs: ``NVR_ch1_main_2026-11-23.20.12.00-2026-11-23.20.42.00[M][0@0][0].dav``;
- Reolink-style: ``RecM01_20261123_201200_204200_6D28808_8E4A.mp4`` (the end is a time of the same day, or of
  the next when it is earlier);
- generic: the first ``YYYYMMDDhhmmss`` (or ``YYYYMMDD_hhmmss``) in the name, and a second one as the end.

The name is the weakest source of the recording start (a file may be renamed); the file's own stamps and the
uploader's statement come first. Times outside 2000-2099, impossible dates and ends not after the start are
not taken.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

# A recording longer than this is not one export file: the "end" is something else (a serial, another stamp).
MAX_SPAN = timedelta(hours=48)


@dataclass(frozen=True)
class NamedRecording:
    start: datetime  # naive, the recorder's local clock
    end: datetime | None
    pattern: str  # hikvision | dahua | reolink | generic
    channel: int | None = None


_HIKVISION = re.compile(
    r"^ch(?P<ch>\d{1,3})_(?P<start>\d{14})(?:\d{3})?(?:_(?P<end>\d{14})(?:\d{3})?)?(?:_\d{1,4})?\.\w+$",
    re.IGNORECASE,
)
_DAHUA_STAMP = r"\d{4}-\d{2}-\d{2}\.\d{2}\.\d{2}\.\d{2}"
_DAHUA = re.compile(rf"(?P<start>{_DAHUA_STAMP})-(?P<end>{_DAHUA_STAMP})")
_REOLINK = re.compile(r"^Rec\w\d{2}_(?P<date>\d{8})_(?P<start>\d{6})_(?P<end>\d{6})_", re.IGNORECASE)
_GENERIC = re.compile(r"(?<![0-9])(?P<date>20\d{6})[_-]?(?P<time>\d{6})(?:\d{3})?(?![0-9])")
_CHANNEL = re.compile(r"(?:^|[_\-. ])ch(?:an(?:nel)?)?[_-]?(?P<ch>\d{1,3})(?![0-9])", re.IGNORECASE)


def _stamp(digits: str) -> datetime | None:
    try:
        moment = datetime.strptime(digits, "%Y%m%d%H%M%S")
    except ValueError:
        return None
    return moment if 2000 <= moment.year <= 2099 else None


def _end_after(start: datetime, end: datetime | None) -> datetime | None:
    return end if end is not None and start < end <= start + MAX_SPAN else None


def _channel(name: str) -> int | None:
    found = _CHANNEL.search(name)
    return int(found.group("ch")) if found else None


def parse(filename: str) -> NamedRecording | None:
    """The recording start and end a recorder wrote into `filename`, or None when it carries none."""
    name = filename.replace("\\", "/").rsplit("/", 1)[-1]
    if found := _HIKVISION.match(name):
        start = _stamp(found.group("start"))
        if start is not None:
            end = _stamp(found.group("end")) if found.group("end") else None
            return NamedRecording(start, _end_after(start, end), "hikvision", int(found.group("ch")))
    if found := _DAHUA.search(name):
        start = _stamp(re.sub(r"\D", "", found.group("start")))
        if start is not None:
            end = _stamp(re.sub(r"\D", "", found.group("end")))
            return NamedRecording(start, _end_after(start, end), "dahua", _channel(name[: found.start()]))
    if found := _REOLINK.match(name):
        start = _stamp(found.group("date") + found.group("start"))
        end = _stamp(found.group("date") + found.group("end"))
        if start is not None:
            if end is not None and end <= start:
                end += timedelta(days=1)  # the recording ran past midnight
            return NamedRecording(start, _end_after(start, end), "reolink", _channel(name))
    stamps = [s for m in _GENERIC.finditer(name) if (s := _stamp(m.group("date") + m.group("time"))) is not None]
    if stamps:
        return NamedRecording(
            stamps[0], _end_after(stamps[0], stamps[1] if len(stamps) > 1 else None), "generic", _channel(name)
        )
    return None
