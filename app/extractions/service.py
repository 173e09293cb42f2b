"""Moving extraction requests through their states: the owner's answer, cancelling, owner links, expiry.
Every move is a history row and a custody event, in the same transaction as the change. Filing, which
creates requests, is app.extractions.filing."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from app.auth import links
from app.auth.models import OwnerLink
from app.auth.permissions import Actor, ensure_may, ensure_visible
from app.core import clock
from app.core.errors import Conflict, NotFound, RuleViolation
from app.custody.rows import row_state
from app.custody.service import append_event
from app.extractions import alerts
from app.extractions.models import ExtractionRequest, RequestTransition
from app.extractions.schemas import ApproveIn
from app.extractions.states import IN_OWNERS_HANDS, RequestStatus, check_transition

S = RequestStatus
EXPIRE_TASK = "requests.expire_unanswered"  # the periodic expiry, by the name it is queued under


# -- scope: who may see and act on a request is ruled in app.auth.permissions (`can_see_request`, `ensure_may`)


def get_request(session: Session, actor: Actor, request_id: UUID, *, for_update: bool = False) -> ExtractionRequest:
    query = select(ExtractionRequest).where(ExtractionRequest.id == request_id)
    if for_update:
        query = query.with_for_update()
    request = session.scalar(query)
    if request is None:
        ensure_visible(False, actor, "request", request_id)
    assert request is not None
    ensure_may(actor, "requests.read", request)
    return request


# -- moves -----------------------------------------------------------------------------------
def move(
    session: Session,
    request: ExtractionRequest,
    target: RequestStatus,
    actor: Actor,
    reason: str | None,
    *,
    action: str | None = None,
    details: dict[str, Any] | None = None,
) -> RequestTransition:
    """Apply one transition of the state machine: check it, record history and custody, same transaction."""
    source = request.status
    goal = check_transition(source, target)
    now = clock.now()
    request.status = goal
    request.updated_at = now
    step = RequestTransition(
        request_id=request.id,
        at=now,
        actor=actor.label,
        from_status=source,
        to_status=goal,
        reason=reason,
    )
    session.add(step)
    session.flush()  # the step's id, which its custody event names
    append_event(
        session,
        actor=actor.label,
        action=action or f"request.{goal.value}",
        object_type="request",
        object_id=request.id,
        case_id=request.case_id,
        reason=reason,
        where=actor.where(),
        details={
            "from": source,
            "to": goal.value,
            "transition_id": step.id,
            **(details or {}),
            "row": row_state("extraction_requests", request),
        },
    )
    if goal not in IN_OWNERS_HANDS:
        links.complete(session, request.id)
    elif source not in IN_OWNERS_HANDS:
        links.reopen(session, request.id)
    alerts.on_transition(session, request, goal, actor, reason)
    session.flush()
    return step


# -- owner response --------------------------------------------------------------------------
def _ensure_may_answer(actor: Actor, request: ExtractionRequest) -> None:
    ensure_may(actor, "requests.respond", request)


def approve(session: Session, actor: Actor, request_id: UUID, body: ApproveIn) -> ExtractionRequest:
    """Approve the whole window, or part of it (a sub-window → partially_approved)."""
    request = get_request(session, actor, request_id, for_update=True)
    _ensure_may_answer(actor, request)
    start = body.approved_start or request.window_start
    end = body.approved_end or request.window_end
    if start < request.window_start or start >= request.window_end:
        raise RuleViolation("approved_start", "must lie inside the requested window")
    if end <= start or end > request.window_end:
        raise RuleViolation("approved_end", "must be after approved_start and inside the requested window")
    partial = (start, end) != (request.window_start, request.window_end)
    request.approved_start, request.approved_end = start, end
    request.responded_at = clock.now()
    move(
        session,
        request,
        S.partially_approved if partial else S.approved,
        actor,
        body.reason,
        details={"approved_start": start.isoformat(), "approved_end": end.isoformat()},
    )
    return request


def deny(session: Session, actor: Actor, request_id: UUID, reason: str) -> ExtractionRequest:
    request = get_request(session, actor, request_id, for_update=True)
    _ensure_may_answer(actor, request)
    request.responded_at = clock.now()
    move(session, request, S.denied, actor, reason)
    return request


def cancel(session: Session, actor: Actor, request_id: UUID, reason: str) -> ExtractionRequest:
    request = get_request(session, actor, request_id, for_update=True)
    ensure_may(actor, "requests.cancel", request)
    move(session, request, S.cancelled, actor, reason)
    return request


CLOSE_RESULTS = ("useful", "not_useful", "no_footage")


def close(session: Session, actor: Actor, request_id: UUID, result: str, reason: str | None) -> ExtractionRequest:
    """The filing unit's investigator closes a request whose footage came (clip ready or delivered) or will not
    be usable (a mismatch, a file awaiting conversion), saying whether it was useful."""
    if result not in CLOSE_RESULTS:
        raise RuleViolation("result", f"one of {', '.join(CLOSE_RESULTS)}")
    request = get_request(session, actor, request_id, for_update=True)
    ensure_may(actor, "requests.close", request)
    request.close_result = result
    move(session, request, S.closed, actor, reason or result, details={"result": result})
    return request


# -- owner links -----------------------------------------------------------------------------
def issue_link(session: Session, actor: Actor, request_id: UUID) -> tuple[Any, str]:
    request = get_request(session, actor, request_id)
    ensure_may(actor, "links.issue", request)
    if request.status not in IN_OWNERS_HANDS:
        raise Conflict(f"the request is {request.status}; it is no longer in the owner's hands")
    return new_link(session, actor, request)


def new_link(session: Session, actor: Actor, request: ExtractionRequest) -> tuple[Any, str]:
    """Issue a one-time owner link for the request, recorded in the custody log (the token itself is not)."""
    link, token = links.issue(session, request.id, actor.user_id)
    append_event(
        session,
        actor=actor.label,
        action="owner_link.issued",
        object_type="request",
        object_id=request.id,
        case_id=request.case_id,
        where=actor.where(),
        details={"link_id": str(link.id), "expires_at": link.expires_at.isoformat()},
    )
    return link, token


def revoke_live_links(session: Session, actor: Actor, request: ExtractionRequest) -> int:
    """Revoke every link of the request still usable (before a new one replaces it), each revocation logged."""
    now = clock.now()
    live = session.scalars(
        select(OwnerLink).where(
            OwnerLink.request_id == request.id,
            OwnerLink.revoked_at.is_(None),
            OwnerLink.completed_at.is_(None),
            OwnerLink.expires_at > now,
        )
    ).all()
    for link in live:
        links.revoke(session, link.id)
        append_event(
            session,
            actor=actor.label,
            action="owner_link.revoked",
            object_type="request",
            object_id=request.id,
            case_id=request.case_id,
            reason="replaced by a new link",
            where=actor.where(),
            details={"link_id": str(link.id)},
        )
    return len(live)


def revoke_link(session: Session, actor: Actor, request_id: UUID, link_id: UUID) -> None:
    request = get_request(session, actor, request_id)
    ensure_may(actor, "links.revoke", request)
    link = links.revoke(session, link_id)
    if link.request_id != request.id:
        raise NotFound(f"owner link {link_id} not found")
    append_event(
        session,
        actor=actor.label,
        action="owner_link.revoked",
        object_type="request",
        object_id=request.id,
        case_id=request.case_id,
        where=actor.where(),
        details={"link_id": str(link_id)},
    )


def active_owner_requests(session: Session, owner_id: UUID) -> list[ExtractionRequest]:
    """Requests waiting on an owner, soonest deadline first (owner pages)."""
    return list(
        session.scalars(
            select(ExtractionRequest)
            .where(
                ExtractionRequest.owner_id == owner_id,
                or_(*[ExtractionRequest.status == s for s in IN_OWNERS_HANDS]),
            )
            .order_by(ExtractionRequest.overwrite_deadline)
        )
    )


# -- time-driven moves -----------------------------------------------------------------------
def expire_unanswered(session: Session, now: datetime | None = None) -> list[ExtractionRequest]:
    """Requests still unanswered at their overwrite deadline become `expired` (the footage is gone)."""
    from app.auth.permissions import system_actor

    moment = now or clock.now()
    overdue = list(
        session.scalars(
            select(ExtractionRequest)
            .where(ExtractionRequest.status == S.submitted, ExtractionRequest.overwrite_deadline <= moment)
            .order_by(ExtractionRequest.overwrite_deadline)
            .with_for_update(skip_locked=True)
        )
    )
    actor = system_actor("scheduler")
    for request in overdue:
        move(
            session,
            request,
            S.expired,
            actor,
            "unanswered at the overwrite deadline",
            details={"overwrite_deadline": request.overwrite_deadline.isoformat()},
        )
    return overdue
