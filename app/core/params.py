"""Value types shared by every schema, query and header: finite numbers and times within a plausible range.

Checked once here, at the edge, so a NaN clock offset or a year-9999 incident can never be stored and then break
every later read (local-time conversion overflows, comparisons with NaN are always false)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Any, TypeVar

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    TypeAdapter,
    field_validator,
)
from pydantic import ValidationError as PydanticValidationError

from app.core.errors import RuleViolation

_ISO_8601 = re.compile(r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?(Z|[+-]\d{2}:?\d{2})?$", re.IGNORECASE)

# Recorders reset to 2000-01-01 and some to 1970; nothing real lies past 2199. The margin of a year on each side
# keeps every conversion to or from a local time zone inside what datetime can hold.
EARLIEST_YEAR = 1970
LATEST_YEAR = 2199


def _iso_8601_only(value: Any) -> Any:
    # Pydantic would also read "0.5" or "1700000000" as seconds since 1970; the API promises ISO 8601.
    if isinstance(value, str) and not _ISO_8601.match(value.strip()):
        raise ValueError("must be an ISO 8601 time, e.g. 2026-11-24T21:15:00+07:00")
    return value


def within_years(value: datetime) -> datetime:
    """Refuse a time outside EARLIEST_YEAR..LATEST_YEAR (naive or aware), before anything converts it."""
    if not EARLIEST_YEAR <= value.year <= LATEST_YEAR:
        raise ValueError(f"must be a time between the years {EARLIEST_YEAR} and {LATEST_YEAR}")
    return value


BoundedDatetime = Annotated[AwareDatetime, AfterValidator(within_years)]
UtcDatetime = Annotated[BoundedDatetime, AfterValidator(lambda value: value.astimezone(UTC))]
IsoDateTime = Annotated[datetime, BeforeValidator(_iso_8601_only), AfterValidator(within_years)]
FiniteFloat = Annotated[float, Field(allow_inf_nan=False)]


# Bidirectional overrides and isolates make "gpj.exe" read as "exe.jpg" and a name read backwards on every page
# and report; other control characters have no place in a typed field either (tab and line breaks excepted).
_HIDDEN_CONTROLS = re.compile("[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]")


def visible_text(value: str) -> str:
    """Refuse text carrying control or bidirectional-override characters."""
    if _HIDDEN_CONTROLS.search(value):
        raise ValueError("must not contain control or text-direction characters")
    return value


class Schema(BaseModel):
    """Base of every request and response schema: NaN and infinities are refused in every float field, and
    control or text-direction characters in every text field of an input."""

    model_config = ConfigDict(allow_inf_nan=False)

    @field_validator("*", mode="after")
    @classmethod
    def _visible_text(cls, value: Any) -> Any:
        # Only what people send is checked; a read schema (built from rows) shows what is stored.
        if isinstance(value, str) and not cls.model_config.get("from_attributes"):
            return visible_text(value)
        return value


T = TypeVar("T")


def header_value(adapter: TypeAdapter[T], header: str, raw: str, hint: str) -> T:
    """Parse one header through a shared type; a refusal names the header and says what is allowed."""
    try:
        return adapter.validate_python(raw.strip())
    except PydanticValidationError as exc:
        raise RuleViolation(header, hint) from exc


FINITE_FLOAT: TypeAdapter[float] = TypeAdapter(FiniteFloat)
