"""The extraction request state machine, as data.

`TRANSITIONS` is the whole machine: a state maps to the states it may move to. :func:`check_transition` is
the one place a move is judged; the requests service applies it, records the history row and the custody
event in the same transaction.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping

from app.core.errors import Conflict


class RequestStatus(enum.StrEnum):
    draft = "draft"
    submitted = "submitted"
    approved = "approved"
    partially_approved = "partially_approved"
    denied = "denied"
    expired = "expired"
    cancelled = "cancelled"
    footage_received = "footage_received"
    footage_mismatch = "footage_mismatch"
    needs_conversion = "needs_conversion"
    clip_ready = "clip_ready"
    delivered = "delivered"
    closed = "closed"


S = RequestStatus

TRANSITIONS: Mapping[RequestStatus, frozenset[RequestStatus]] = {
    S.draft: frozenset({S.submitted, S.cancelled}),
    # Owner answers (approve / partly / deny), the deadline passes unanswered, or the investigator withdraws.
    S.submitted: frozenset({S.approved, S.partially_approved, S.denied, S.expired, S.cancelled}),
    # A file no reader here decodes, kept because the uploader named its vendor format, waits for conversion.
    S.approved: frozenset({S.footage_received, S.needs_conversion, S.cancelled}),
    S.partially_approved: frozenset({S.footage_received, S.needs_conversion, S.cancelled}),
    # The footage either covers the approved window (a clip can be cut) or it does not.
    S.footage_received: frozenset({S.clip_ready, S.footage_mismatch}),
    # After a mismatch the owner may upload again; otherwise the investigator closes the request.
    S.footage_mismatch: frozenset({S.footage_received, S.needs_conversion, S.cancelled, S.closed}),
    # An investigator uploads the converted file (a derivative of the kept original) and clipping proceeds from it;
    # or gives up on the file.
    S.needs_conversion: frozenset({S.footage_received, S.cancelled, S.closed}),
    # The investigator may close a request once its clip is cut, whether or not it was downloaded yet.
    S.clip_ready: frozenset({S.delivered, S.closed}),
    S.delivered: frozenset({S.closed}),
    S.denied: frozenset(),
    S.expired: frozenset(),
    S.cancelled: frozenset(),
    S.closed: frozenset(),
}

TERMINAL: frozenset[RequestStatus] = frozenset(state for state, nexts in TRANSITIONS.items() if not nexts)

# The owner still has something to do: answer, or hand the footage over. Owner links work only here.
IN_OWNERS_HANDS: frozenset[RequestStatus] = frozenset(
    {S.submitted, S.approved, S.partially_approved, S.footage_mismatch}
)

# A request that still blocks a second request for the same camera and an overlapping window of the same case:
# every state but the final ones (a delivered clip already answers the need).
ACTIVE: frozenset[RequestStatus] = frozenset(set(S) - TERMINAL)

# The investigator may close the request from here (the footage came, or it will not be usable).
CLOSABLE: frozenset[RequestStatus] = frozenset(state for state, nexts in TRANSITIONS.items() if S.closed in nexts)

# The owner has answered (for response-time statistics and reminders).
ANSWERED: frozenset[RequestStatus] = frozenset({S.approved, S.partially_approved, S.denied})


def allowed_next(current: RequestStatus | str) -> list[str]:
    """The states `current` may move to, sorted, as strings (for problem bodies and UIs)."""
    return sorted(TRANSITIONS[RequestStatus(current)])


def check_transition(current: RequestStatus | str, target: RequestStatus | str) -> RequestStatus:
    """Return `target` as a status if `current → target` is allowed; else raise a 409 naming the allowed ones."""
    try:
        source = RequestStatus(current)
    except ValueError as exc:
        raise Conflict(f"unknown request status {current!r}", extra={"allowed": []}) from exc
    try:
        goal = RequestStatus(target)
    except ValueError as exc:
        raise Conflict(
            f"unknown request status {target!r}", extra={"status": source.value, "allowed": allowed_next(source)}
        ) from exc
    if goal not in TRANSITIONS[source]:
        allowed = allowed_next(source)
        where_to = ", ".join(allowed) if allowed else "nothing (it is final)"
        raise Conflict(
            f"a {source.value} request cannot become {goal.value}; it may become: {where_to}",
            extra={"status": source.value, "requested": goal.value, "allowed": allowed},
        )
    return goal
