"""The consent rule: what state an owner's consent history puts a camera in at a given time.

One definition, used wherever the state is shown or checked: on ORM rows (the registry's service, request
filing) and on plain rows read for the coverage search.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Literal, Protocol, TypeVar

State = Literal["valid", "none", "withdrawn", "expired"]


class ConsentPeriod(Protocol):
    """What the rule reads of a consent: when it started, when it ends, when it was withdrawn."""

    @property
    def valid_from(self) -> datetime: ...

    @property
    def valid_until(self) -> datetime | None: ...

    @property
    def withdrawn_at(self) -> datetime | None: ...


C = TypeVar("C", bound=ConsentPeriod)


def state_at(consents: Sequence[C], at: datetime) -> tuple[State, C | None]:
    """The state at `at` of the consents that apply to one camera (camera-specific and owner-wide), and the
    consent that makes it valid (the first in the given order), or None.

    Valid: one has started, is not withdrawn by then and has not expired. Otherwise withdrawn if one started
    and was withdrawn by then, expired if one started, none if none had started.
    """
    started = [c for c in consents if c.valid_from <= at]
    for consent in started:
        if (consent.withdrawn_at is None or consent.withdrawn_at > at) and (
            consent.valid_until is None or consent.valid_until > at
        ):
            return "valid", consent
    if any(c.withdrawn_at is not None and c.withdrawn_at <= at for c in started):
        return "withdrawn", None
    if started:
        return "expired", None
    return "none", None
