"""Vietnamese (default) and English through Babel catalogues in app/web/i18n/<locale>/LC_MESSAGES/messages.po.

Catalogues are compiled in memory at first use, so running the service needs no build step; `make i18n`
re-extracts the strings into messages.pot and updates both catalogues.
"""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from io import BytesIO
from pathlib import Path
from zoneinfo import ZoneInfo

from babel.dates import format_datetime
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

LOCALES = ("vi", "en")
DEFAULT_LOCALE = "vi"
CATALOGUES = Path(__file__).parent / "i18n"


@lru_cache(maxsize=len(LOCALES))
def translations(locale: str) -> Translations:
    po_path = CATALOGUES / locale / "LC_MESSAGES" / "messages.po"
    if not po_path.exists():
        return Translations()
    with po_path.open("rb") as fh:
        catalog = read_po(fh, locale=locale)
    buffer = BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return Translations(fp=buffer)


def pick_locale(chosen: str | None, saved: str | None = None) -> str:
    """The pages' language: what the signed-in user saved, else what this browser chose (the language switch's
    cookie), else Vietnamese. The browser's own language settings are not consulted: a police station's
    computer set to English still shows Vietnamese until its user picks English."""
    for code in (saved, chosen):
        if code in LOCALES:
            return str(code)
    return DEFAULT_LOCALE


def format_local(value: datetime | None, tz_name: str, locale: str) -> str:
    """A time in the given zone, labelled with it (e.g. "14:05:00 25/11/2026 (Asia/Ho_Chi_Minh)")."""
    if value is None:
        return "—"
    local = value.astimezone(ZoneInfo(tz_name))
    pattern = "HH:mm:ss dd/MM/yyyy" if locale == "vi" else "yyyy-MM-dd HH:mm:ss"
    return f"{format_datetime(local, pattern, locale=locale)} ({tz_name})"
