"""Turning form fields into service inputs: local times in a named zone, errors shown beside the form."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from pydantic import ValidationError

from app.core.errors import DomainError
from app.core.params import within_years

DEFAULT_TZ = "Asia/Ho_Chi_Minh"


def local_to_utc(value: str, tz_name: str = DEFAULT_TZ) -> datetime:
    """A datetime-local field (no offset) read as wall-clock time in `tz_name`."""
    parsed = within_years(datetime.fromisoformat(value))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=ZoneInfo(tz_name))
    return parsed


class FormError(ValueError):
    """A form field a person must correct, in their language."""


MIN_REASON_CHARS = 3


def stated_reason(reason: str, refusal: str) -> str:
    """The reason a person gave (denial, withdrawal), trimmed; `refusal` is what they are told when it is
    missing or too short to mean anything."""
    reason = reason.strip()
    if len(reason) < MIN_REASON_CHARS:
        raise FormError(refusal)
    return reason


def error_text(exc: Exception) -> str:
    """One line a person can act on, from a domain or validation error."""
    if isinstance(exc, DomainError):
        if exc.errors:
            return "; ".join(f"{e['field']}: {e['message']}" for e in exc.errors)
        return exc.detail
    if isinstance(exc, ValidationError):
        return "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
    return str(exc)
