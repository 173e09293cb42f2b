"""Phone numbers as one spelling: E.164 (+84…), so a Zalo or SMS bridge can address the person and two spellings of
one number ("0903 123 456", "+84 903-123-456", "84903123456") are the same owner.

Numbers are read as Vietnamese unless they carry another country's code; what is not a possible phone number is
refused (`PhoneError`). For people the number is shown in its national form ("0903 123 456").
"""

from __future__ import annotations

from typing import Annotated

import phonenumbers
from pydantic import BeforeValidator
from pydantic_core import PydanticCustomError

REGION = "VN"
MAX_LENGTH = 40


class PhoneError(ValueError):
    """The text is not a phone number the bridge could reach."""


def normalise(raw: str) -> str:
    """The number in E.164 ("+84903123456"); raise PhoneError when it is not a valid phone number."""
    text = raw.strip()
    if not text or len(text) > MAX_LENGTH:
        raise PhoneError("not a phone number")
    digits = "".join(c for c in text if c.isdigit())
    # "84903123456": the country code written without its plus, as spreadsheets keep it.
    if not text.startswith(("+", "0")) and digits.startswith("84") and len(digits) in (11, 12):
        text = "+" + text
    try:
        number = phonenumbers.parse(text, REGION)
    except phonenumbers.NumberParseException as exc:
        raise PhoneError("not a phone number") from exc
    if not phonenumbers.is_valid_number(number):
        raise PhoneError("not a valid phone number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalise_optional(raw: str | None) -> str | None:
    """:func:`normalise`, with an empty or missing value kept empty (None)."""
    if raw is None or not raw.strip():
        return None
    return normalise(raw)


def display(e164: str | None) -> str | None:
    """A stored number as people write it: national form at home ("0903 123 456"), international abroad."""
    if not e164:
        return e164
    try:
        number = phonenumbers.parse(e164, REGION)
    except phonenumbers.NumberParseException:
        return e164
    if number.country_code == phonenumbers.country_code_for_region(REGION):
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def _field_value(value: object) -> object:
    # A schema field: blank is "no phone"; anything else must be a number the bridge can reach.
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if not isinstance(value, str):
        raise PydanticCustomError("phone_number", "must be a phone number, e.g. 0903 123 456 or +84 903 123 456")
    try:
        return normalise(value)
    except PhoneError:
        raise PydanticCustomError(
            "phone_number", "must be a phone number, e.g. 0903 123 456 or +84 903 123 456"
        ) from None


# A phone field of any schema (owners, units): stored in E.164, refused with the type `phone_number` otherwise.
PhoneField = Annotated[str | None, BeforeValidator(_field_value)]
