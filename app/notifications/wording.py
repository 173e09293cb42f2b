"""Times as owners read them, in messages and on their pages: the camera's wall clock to the second, the day once,
and the zone in words with its UTC offset — "21:00:05 → 21:00:35, 23/11/2026 (giờ Việt Nam, UTC+7)".

The zone's name in words is the caller's (a page passes it through its catalogue; a message takes it from
:data:`ZONE_WORDS` for the message's locale)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

HOME_ZONE = "Asia/Ho_Chi_Minh"
# The zone as a shopkeeper names it, per message locale; other zones are named by their tz name.
ZONE_WORDS = {"vi": {HOME_ZONE: "giờ Việt Nam"}, "en": {HOME_ZONE: "Vietnam time"}}


def zone_words(zone: str, locale: str) -> str:
    return ZONE_WORDS.get(locale, {}).get(zone, zone)


def utc_offset(moment: datetime, zone: str) -> str:
    """ "UTC+7", "UTC+5:30", "UTC-3"."""
    offset = moment.astimezone(ZoneInfo(zone)).utcoffset()
    minutes = int(offset.total_seconds() // 60) if offset is not None else 0
    hours, rest = divmod(abs(minutes), 60)
    return f"UTC{'+' if minutes >= 0 else '-'}{hours}" + (f":{rest:02d}" if rest else "")


def _zone_note(moment: datetime, zone: str, named: str) -> str:
    return f"({named}, {utc_offset(moment, zone)})"


def moment_text(value: datetime | None, zone: str, named: str) -> str:
    """ "21:00:05, 23/11/2026 (giờ Việt Nam, UTC+7)"."""
    if value is None:
        return "—"
    local = value.astimezone(ZoneInfo(zone))
    return f"{local:%H:%M:%S}, {local:%d/%m/%Y} {_zone_note(value, zone, named)}"


def window_text(start: datetime | None, end: datetime | None, zone: str, named: str) -> str:
    """ "21:00:05 → 21:00:35, 23/11/2026 (giờ Việt Nam, UTC+7)"; both dates when the window spans midnight."""
    if start is None or end is None:
        return "—"
    first, last = start.astimezone(ZoneInfo(zone)), end.astimezone(ZoneInfo(zone))
    note = _zone_note(start, zone, named)
    if first.date() == last.date():
        return f"{first:%H:%M:%S} → {last:%H:%M:%S}, {first:%d/%m/%Y} {note}"
    return f"{first:%H:%M:%S} {first:%d/%m/%Y} → {last:%H:%M:%S} {last:%d/%m/%Y} {note}"
