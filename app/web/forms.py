"""Turning form fields into service inputs: local times in a named zone, errors shown beside the form, and the
one way a form's action runs (refusals shown again on the form, 422)."""

from __future__ import annotations

import re
from collections.abc import Callable, Collection
from datetime import datetime
from typing import TypeVar
from zoneinfo import ZoneInfo

from fastapi.responses import Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from app.core.errors import DomainError
from app.core.params import within_years
from app.web.i18n import DEFAULT_LOCALE
from app.web.messages import N_, FormError, refusal_text

__all__ = ["FormError", "decimal", "error_text", "form_action", "lat_lon", "local_to_utc", "stated_reason"]

DEFAULT_TZ = "Asia/Ho_Chi_Minh"


def local_to_utc(value: str, tz_name: str = DEFAULT_TZ) -> datetime:
    """A datetime-local field (no offset) read as wall-clock time in `tz_name`."""
    parsed = within_years(datetime.fromisoformat(value))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=ZoneInfo(tz_name))
    return parsed


def decimal(value: str) -> str:
    """A number as typed on a Vietnamese keyboard: "10,7769" is 10.7769 (no thousands separators in these
    fields: coordinates and radii). Left as text: the schema parses it and names the field when it cannot."""
    return value.strip().replace(",", ".")


# Two numbers, each with a decimal point or comma, separated by a comma, semicolon or space: "10.7769, 106.7009",
# "10,7769; 106,7009", "10,7769, 106,7009" (as copied from map applications).
_POINT = re.compile(r"^\s*\(?\s*(-?\d+(?:[.,]\d+)?)\s*(?:[,;]\s*|\s+)(-?\d+(?:[.,]\d+)?)\s*\)?\s*$")
POINT_REFUSED = N_("Paste the place as “latitude, longitude”, e.g. 10.7769, 106.7009.")


def lat_lon(point: str) -> tuple[str, str]:
    """ "lat, lon" pasted into one field, as the two numbers' text."""
    found = _POINT.match(point)
    if found is None:
        raise FormError(POINT_REFUSED)
    return decimal(found.group(1)), decimal(found.group(2))


MIN_REASON_CHARS = 3


def stated_reason(reason: str, refusal: str) -> str:
    """The reason a person gave (denial, withdrawal), trimmed; `refusal` is what they are told when it is
    missing or too short to mean anything."""
    reason = reason.strip()
    if len(reason) < MIN_REASON_CHARS:
        raise FormError(refusal)
    return reason


def error_text(exc: Exception, locale: str = DEFAULT_LOCALE) -> str:
    """One line a person can act on, in their language, from a domain or validation error (app/web/messages.py
    words them from the catalogue)."""
    return refusal_text(exc, locale)


T = TypeVar("T")
REFUSALS = (DomainError, ValidationError, ValueError)


def form_action(
    session: Session,
    action: Callable[[], T],
    *,
    done: Callable[[T], Response],
    again: Callable[[str], Response],
    raised: Collection[int] = (),
    locale: str = DEFAULT_LOCALE,
) -> Response:
    """Run a form's action in the request's transaction and answer with `done(result)`. A refusal — a rule of the
    domain, a field that does not parse — rolls the transaction back and shows the form again: `again(reason)`,
    answered 422, the reason worded in `locale`. Domain errors whose status is in `raised` (e.g. 404: no form to
    show) are raised as they are."""
    try:
        result = action()
    except REFUSALS as exc:
        session.rollback()
        if isinstance(exc, DomainError) and exc.status in raised:
            raise
        shown = again(error_text(exc, locale))
        shown.status_code = 422
        return shown
    return done(result)
