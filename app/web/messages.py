"""What a page says when a form is refused: every validation and domain error mapped to a message of the
catalogue, in the reader's language. The one place refusals are worded for people.

Validation errors are matched by their pydantic type and field (a latitude out of range reads "Latitude must be
between -90 and 90"); domain errors by their field and the start of their message, or their kind (slug).
Anything not matched is still worded from the catalogue (the field's name and a general refusal): a Vietnamese
page never shows the service's English.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from app.core.errors import DomainError
from app.web.i18n import DEFAULT_LOCALE, translations


def N_(message: str) -> str:  # noqa: N802 - the conventional name of the no-op gettext marker
    return message


def gettext(locale: str, message: str) -> str:
    return str(translations(locale).gettext(message))


# What a form field is called on the pages (API field name -> catalogue message).
FIELD_NAMES: Mapping[str, str] = {
    "lat": N_("Latitude"),
    "lon": N_("Longitude"),
    "incident_lat": N_("Incident latitude"),
    "incident_lon": N_("Incident longitude"),
    "incident_point": N_("Incident place"),
    "radius_m": N_("Radius (m)"),
    "number": N_("Case number"),
    "title": N_("Title"),
    "offence": N_("Offence"),
    "incident_start": N_("Incident start"),
    "incident_end": N_("Incident end"),
    "window_start": N_("From"),
    "window_end": N_("To"),
    "purpose": N_("Purpose"),
    "legal_basis": N_("Legal basis"),
    "camera_id": N_("Camera"),
    "reason": N_("Reason"),
    "result": N_("Result"),
    "email": N_("Email"),
    "password": N_("Password"),
    "full_name": N_("Full name"),
    "role": N_("Role"),
    "unit_id": N_("Unit"),
    "owner_id": N_("Owner"),
    "approved_start": N_("Approved from"),
    "approved_end": N_("Approved until"),
    "valid_from": N_("Valid from"),
    "valid_until": N_("Valid until"),
    "phone": N_("Phone"),
}
UNKNOWN_FIELD = N_("This field")
FORM_EXPIRED = N_("The form has expired or did not come from this site; reload the page and try again.")

LATITUDE_RANGE = N_("Latitude must be between -90 and 90.")
LONGITUDE_RANGE = N_("Longitude must be between -180 and 180.")
RANGE_TYPES = frozenset({"less_than_equal", "greater_than_equal", "less_than", "greater_than"})
LATITUDES = frozenset({"lat", "incident_lat"})
LONGITUDES = frozenset({"lon", "incident_lon"})

# pydantic error type -> message; %(field)s is the field's name, the rest come from the error's context.
BY_TYPE: Mapping[str, str] = {
    "missing": N_("%(field)s: please fill this in."),
    "phone_number": N_("%(field)s: write a phone number, e.g. 0903 123 456 or +84 903 123 456."),
    "string_too_short": N_("%(field)s: please write at least %(min_length)s characters."),
    "string_too_long": N_("%(field)s: at most %(max_length)s characters."),
    "float_parsing": N_("%(field)s: write a number, e.g. 10.7769 or 10,7769."),
    "float_type": N_("%(field)s: write a number, e.g. 10.7769 or 10,7769."),
    "int_parsing": N_("%(field)s: write a whole number."),
    "int_from_float": N_("%(field)s: write a whole number."),
    "finite_number": N_("%(field)s: write a number, e.g. 10.7769 or 10,7769."),
    "less_than_equal": N_("%(field)s: at most %(le)s."),
    "greater_than_equal": N_("%(field)s: at least %(ge)s."),
    "less_than": N_("%(field)s: less than %(lt)s."),
    "greater_than": N_("%(field)s: more than %(gt)s."),
    "uuid_parsing": N_("%(field)s: choose one from the list."),
    "uuid_type": N_("%(field)s: choose one from the list."),
    "datetime_parsing": N_("%(field)s: not a valid date and time."),
    "datetime_from_date_parsing": N_("%(field)s: not a valid date and time."),
    "timezone_aware": N_("%(field)s: not a valid date and time."),
    "literal_error": N_("%(field)s: choose one of the offered values."),
    "enum": N_("%(field)s: choose one of the offered values."),
    "extra_forbidden": N_("%(field)s: this field is not expected here."),
}
GENERAL_FIELD = N_("%(field)s: this value is not accepted.")
GENERAL = N_("This was not accepted. Check the form and try again.")

# Domain refusals: (field or "" for any, pattern over the service's message) -> message. First match wins.
BY_RULE: tuple[tuple[str, re.Pattern[str], str], ...] = (
    ("window_end", re.compile(r"must be after window_start"), N_("The end of the window must be after its start.")),
    (
        "window_end",
        re.compile(r"the window may last at most (?P<hours>\d+) hours"),
        N_("The window may last at most %(hours)s hours."),
    ),
    ("incident_end", re.compile(r"must be after incident_start"), N_("The incident must end after it starts.")),
    ("camera_id", re.compile(r"no valid consent"), N_("The camera's owner has not agreed to hand over footage.")),
    ("camera_id", re.compile(r"camera is decommissioned"), N_("This camera is no longer in service.")),
    ("camera_id", re.compile(r"does not exist"), N_("Choose a camera from the list.")),
    ("window_start", re.compile(r"footage already overwritten"), N_("The recorder has already overwritten this time.")),
    ("unit_id", re.compile(r"must belong to a unit"), N_("Investigators and supervisors must belong to a unit.")),
    (
        "unit_id",
        re.compile(r"only an investigator with a unit"),
        N_("Only an investigator with a unit may open a case."),
    ),
    ("unit_id", re.compile(r"does not exist"), N_("Choose a unit from the list.")),
    ("approved_start", re.compile(r"inside the requested window"), N_("The approved time must lie inside the window.")),
    ("approved_end", re.compile(r"inside the requested window"), N_("The approved time must lie inside the window.")),
    ("valid_until", re.compile(r"must be after valid_from"), N_("The end of the consent must be after its start.")),
    ("", re.compile(r"case number .* already exists"), N_("A case with this number already exists.")),
    (
        "",
        re.compile(r"already asks this camera"),
        N_("This camera is already asked for an overlapping time in this case."),
    ),
    (
        "",
        re.compile(r"another upload of this request's footage is in progress"),
        N_("Another upload of this footage is already running. Wait for it to finish, then check the request."),
    ),
    ("", re.compile(r"case .* is closed"), N_("The case is closed: no new requests can be filed.")),
    ("", re.compile(r"a user with email .* already exists"), N_("A user with this email already exists.")),
    ("", re.compile(r"a unit with code .* already exists"), N_("A unit with this code already exists.")),
    (
        "",
        re.compile(r"no longer in the owner's hands"),
        N_("The owner has already answered: a new link is not needed."),
    ),
    (
        "",
        re.compile(r"a (?P<status>\w+) request cannot become (?P<target>\w+)"),
        N_("Not possible now: the request is %(status)s."),
    ),
    (
        "",
        re.compile(r"try again in (?P<seconds>\d+) seconds"),
        N_("Too many attempts; try again in %(seconds)s seconds."),
    ),
    ("", re.compile(r"must be a time between the years"), N_("Check the date: the year is out of range.")),
    ("", re.compile(r"(Invalid isoformat|isoformat string|does not match format)"), N_("Not a valid date and time.")),
    # disclosure: grants to prosecutors and their packages
    ("grantee_email", re.compile(r"no active prosecutor account"), N_("No active prosecutor account has this email.")),
    (
        "expires_at",
        re.compile(r"must be in the future and at most a year"),
        N_("The last day of access must be after today and at most a year away."),
    ),
    ("expires_at", re.compile(r"choose the last day"), N_("Choose the last day of access.")),
    ("reason", re.compile(r"say why the prosecutor"), N_("Say why the prosecutor needs the case.")),
    (
        "clip_ids",
        re.compile(r"choose (clips of this case|at least one clip)"),
        N_("Choose at least one clip of the case."),
    ),
    ("name", re.compile(r"write the name of the person"), N_("Write the name of the person who received the package.")),
    (
        "redaction_ids",
        re.compile(r"choose finished redacted copies"),
        N_("Choose a finished redacted copy of a clip of this case."),
    ),
    (
        "redaction_ids",
        re.compile(r"choose the clip of each redacted copy"),
        N_("Tick the clip of each redacted copy you choose."),
    ),
    ("redaction_ids", re.compile(r"at most one redacted copy"), N_("Choose at most one redacted copy of each clip.")),
)
# The reasons the area request gives for skipping a camera, and whatever else the services word the same way.
SKIP_REASONS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"field of view does not cover the point"), N_("its view does not face the place")),
    (re.compile(r"camera is decommissioned"), N_("no longer in service")),
    (re.compile(r"footage already overwritten"), N_("the recorder has already overwritten this time")),
    (re.compile(r"no valid consent"), N_("the owner has not agreed to hand over footage")),
    (re.compile(r"already asks this camera"), N_("already asked for this time in this case")),
)
BY_SLUG: Mapping[str, str] = {
    "forbidden": N_("You are not allowed to do this."),
    "not-found": N_("Not found: it may have been removed, or is not yours to see."),
    "conflict": N_("Not possible in the current state; reload the page and check."),
    "too-many-requests": N_("Too many attempts; wait a minute and try again."),
    "unauthorized": N_("Email or password is not correct."),
    "totp-code-required": N_("Type the code your authenticator app shows."),
    "totp-code-wrong": N_("The code is wrong or too old: type the code the app shows now, or a recovery code."),
    "totp-enrolment-required": N_("Set up two-factor sign-in on the sign-in page first."),
}


class FormError(ValueError):
    """A form field a person must correct: a catalogue message, or one already in their language."""


def field_name(field: str, locale: str) -> str:
    key = field.rsplit(".", 1)[-1]
    return gettext(locale, FIELD_NAMES[key]) if key in FIELD_NAMES else gettext(locale, UNKNOWN_FIELD)


def _validation_message(error: Mapping[str, Any], locale: str) -> str:
    loc = [str(part) for part in error.get("loc", ()) if not isinstance(part, int)]
    field = loc[-1] if loc else ""
    kind = str(error.get("type", ""))
    if kind in RANGE_TYPES and field in LATITUDES:
        return gettext(locale, LATITUDE_RANGE)
    if kind in RANGE_TYPES and field in LONGITUDES:
        return gettext(locale, LONGITUDE_RANGE)
    values: dict[str, Any] = {"field": field_name(field, locale)}
    values.update({k: v for k, v in (error.get("ctx") or {}).items() if isinstance(v, int | float | str)})
    template = BY_TYPE.get(kind)
    if kind == "value_error":
        words = rule_message("", str(error.get("msg", "")), locale)
        return f"{values['field']}: {words}" if words else gettext(locale, GENERAL_FIELD) % values
    try:
        return gettext(locale, template or GENERAL_FIELD) % values
    except (KeyError, TypeError, ValueError):
        return gettext(locale, GENERAL_FIELD) % values


def rule_message(field: str, message: str, locale: str) -> str | None:
    """A domain rule's message in the reader's words, or None when the catalogue has no wording for it."""
    for rule_field, pattern, words in BY_RULE:
        if rule_field and rule_field != field:
            continue
        found = pattern.search(message)
        if found:
            return gettext(locale, words) % {k: gettext(locale, v) for k, v in found.groupdict().items()}
    return None


def skip_reason(reason: str, locale: str = DEFAULT_LOCALE) -> str:
    """Why an area request left a camera out, in the reader's words."""
    for pattern, words in SKIP_REASONS:
        if pattern.search(reason):
            return gettext(locale, words)
    return rule_message("", reason, locale) or gettext(locale, GENERAL)


def _domain_message(exc: DomainError, locale: str) -> str:
    if exc.errors:
        parts = []
        for error in exc.errors:
            words = rule_message(error["field"], error["message"], locale)
            parts.append(words or gettext(locale, GENERAL_FIELD) % {"field": field_name(error["field"], locale)})
        return " ".join(parts)
    words = rule_message("", exc.detail, locale)
    if words:
        return words
    return gettext(locale, BY_SLUG.get(exc.slug, GENERAL))


def refusal_text(exc: Exception, locale: str = DEFAULT_LOCALE) -> str:
    """One line a person can act on, in their language, from a domain, validation or form error."""
    if isinstance(exc, DomainError):
        return _domain_message(exc, locale)
    if isinstance(exc, ValidationError):
        seen: list[str] = []
        for error in exc.errors():
            words = _validation_message(error, locale)
            if words not in seen:
                seen.append(words)
        return " ".join(seen)
    if isinstance(exc, FormError):
        return gettext(locale, str(exc))  # a catalogue message, or one already in the reader's words
    text = str(exc)
    return rule_message("", text, locale) or gettext(locale, GENERAL)
