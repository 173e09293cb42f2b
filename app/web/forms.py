"""Turning form fields into service inputs: local times in a named zone, errors shown beside the form, and the
one way a form's action runs (refusals shown again on the form, 422)."""

from __future__ import annotations

from collections.abc import Callable, Collection
from datetime import datetime
from typing import TypeVar
from zoneinfo import ZoneInfo

from fastapi.responses import Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

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


T = TypeVar("T")
REFUSALS = (DomainError, ValidationError, ValueError)


def form_action(
    session: Session,
    action: Callable[[], T],
    *,
    done: Callable[[T], Response],
    again: Callable[[str], Response],
    raised: Collection[int] = (),
) -> Response:
    """Run a form's action in the request's transaction and answer with `done(result)`. A refusal — a rule of the
    domain, a field that does not parse — rolls the transaction back and shows the form again: `again(reason)`,
    answered 422. Domain errors whose status is in `raised` (e.g. 404: no form to show) are raised as they are."""
    try:
        result = action()
    except REFUSALS as exc:
        session.rollback()
        if isinstance(exc, DomainError) and exc.status in raised:
            raise
        shown = again(error_text(exc))
        shown.status_code = 422
        return shown
    return done(result)
