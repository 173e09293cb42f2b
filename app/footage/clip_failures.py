"""A clip that cannot be cut: the footage arrived, but cutting failed (a recording ffmpeg cannot cut by stream copy,
evidence storage down, an internal error). Each failure is counted on the request and recorded in custody with its
technical words (paths and addresses removed); the job is then tried again less and less often (1, 2, 4 … minutes,
at most every 6 hours) instead of every minute for ever; and at the third failure the request's investigators are
told, in the app and by email, so nobody waits on "footage received" for a clip that is not coming."""

from __future__ import annotations

import logging
from datetime import datetime
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from app.core import clock
from app.custody.service import append_event
from app.extractions import alerts
from app.extractions.models import ExtractionRequest
from app.extractions.states import RequestStatus
from app.footage.failures import problem_of, technical_words, wait_after
from app.notifications.staff_models import StaffAlertKind

log = logging.getLogger(__name__)

ACTOR = "system:clip-job"
TELL_AFTER = 3  # failures before the investigators are told


def next_try(request: ExtractionRequest) -> datetime | None:
    """When the sweep tries the request's clip again after a failure (None: no failure recorded)."""
    if not request.clip_failures or request.clip_failed_at is None:
        return None
    return request.clip_failed_at + wait_after(request.clip_failures)


def due(session: Session, now: datetime | None = None) -> list[UUID]:
    """Requests whose footage waits to be cut and whose last failure, if any, is far enough behind."""
    now = now or clock.now()
    waiting = session.execute(
        select(ExtractionRequest.id, ExtractionRequest.clip_failures, ExtractionRequest.clip_failed_at).where(
            ExtractionRequest.status == RequestStatus.footage_received
        )
    )
    return [
        request_id
        for request_id, failures, failed_at in waiting
        if not failures or failed_at is None or failed_at + wait_after(failures) <= now
    ]


def record(factory: sessionmaker[Session], request_id: UUID, exc: BaseException) -> int:
    """Count a failed cut of the request's clip and record it in custody; tell the investigators at the third.
    Returns the request's failure count (0 when the request no longer waits for its clip)."""
    problem, words = problem_of(exc), technical_words(exc)
    with factory() as session, session.begin():
        request = session.scalars(
            select(ExtractionRequest).where(ExtractionRequest.id == request_id).with_for_update()
        ).one_or_none()
        if request is None or request.status != RequestStatus.footage_received:
            return 0
        request.clip_failures += 1
        request.clip_failed_at = clock.now()
        request.clip_problem = problem
        append_event(
            session,
            actor=ACTOR,
            action="clip.failed",
            object_type="request",
            object_id=request.id,
            case_id=request.case_id,
            reason=words,
            where={"component": "worker", "task": "clips.make"},
            outcome="failed",
            details={"problem": problem, "failures": request.clip_failures, "next_try": next_try(request)},
        )
        if request.clip_failures == TELL_AFTER:
            alerts.tell(session, request, StaffAlertKind.clip_failed, extra={"problem": problem})
        failures = request.clip_failures
    log.warning("clip for request %s failed (%d so far, %s): %s", request_id, failures, problem, words)
    return failures
