"""Who is told what about a request: the investigator who filed it (and the case's lead, when another person),
in the app and by email, when the owner answers, footage arrives, the clip is ready, the footage misses the
window or the request expires; and, from a periodic check, when the owner's link expired unanswered or the
recorder's overwrite deadline is near with no answer. Only active accounts of the request's own unit are told.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from app.auth.models import OwnerLink, User
from app.auth.permissions import Actor
from app.cases.models import Case
from app.core import clock
from app.core.config import get_settings
from app.extractions.models import ExtractionRequest
from app.extractions.states import RequestStatus
from app.notifications import staff
from app.notifications.staff_models import StaffAlertKind
from app.registry.models import Camera

S = RequestStatus
K = StaffAlertKind
ALERT_TASK = "requests.staff_alerts"  # the periodic check, by the name it is queued under
AT_RISK_HOURS = 48  # unanswered with the overwrite deadline this close: at risk

KIND_OF_STATUS: dict[RequestStatus, StaffAlertKind] = {
    S.approved: K.request_approved,
    S.partially_approved: K.request_partially_approved,
    S.denied: K.request_denied,
    S.footage_received: K.footage_received,
    S.clip_ready: K.clip_ready,
    S.footage_mismatch: K.footage_mismatch,
    S.expired: K.request_expired,
}


def recipients(session: Session, request: ExtractionRequest) -> list[User]:
    """The filing investigator and the case's lead investigator, if active and still of the request's unit."""
    case = session.get(Case, request.case_id)
    wanted = [request.created_by] + ([case.lead_investigator_id] if case is not None else [])
    found: list[User] = []
    for user_id in dict.fromkeys(wanted):
        user = session.get(User, user_id)
        if user is not None and user.is_active and user.unit_id == request.unit_id:
            found.append(user)
    return found


def request_page(request: ExtractionRequest) -> str:
    return f"{get_settings().public_base_url.rstrip('/')}/requests/{request.id}"


def _params(session: Session, request: ExtractionRequest, reason: str | None) -> dict[str, Any]:
    case = session.get(Case, request.case_id)
    camera = session.get(Camera, request.camera_id)
    params: dict[str, Any] = {
        "case_number": case.number if case is not None else "",
        "camera_label": camera.label if camera is not None else "",
        "timezone": request.camera_timezone,
        "overwrite_deadline": request.overwrite_deadline.isoformat(),
        "window_start": request.window_start.isoformat(),
        "window_end": request.window_end.isoformat(),
        "reason": reason or "",
    }
    if request.approved_start is not None and request.approved_end is not None:
        params["approved_start"] = request.approved_start.isoformat()
        params["approved_end"] = request.approved_end.isoformat()
    return params


def tell(
    session: Session,
    request: ExtractionRequest,
    kind: StaffAlertKind,
    reason: str | None = None,
    *,
    skip_user: Any = None,
    extra: dict[str, Any] | None = None,
) -> int:
    """Raise `kind` about `request` to each of its recipients but `skip_user` (who caused it); how many were told."""
    told = 0
    params = {**_params(session, request, reason), **(extra or {})}
    for user in recipients(session, request):
        if user.id == skip_user:
            continue
        raised = staff.raise_alert(
            session,
            user_id=user.id,
            unit_id=user.unit_id,
            email=user.email,
            locale=user.locale,
            kind=kind,
            request_id=request.id,
            case_id=request.case_id,
            params=params,
            link=request_page(request),
        )
        told += raised is not None
    return told


def on_transition(
    session: Session, request: ExtractionRequest, goal: RequestStatus, actor: Actor, reason: str | None
) -> None:
    """Called by every move of the state machine: tell the investigators of the moves they wait for."""
    kind = KIND_OF_STATUS.get(goal)
    if kind is not None:
        tell(session, request, kind, reason, skip_user=actor.user_id)


def raise_due(session: Session, now: datetime | None = None) -> dict[str, int]:
    """The periodic check: unanswered requests whose owner's every link has expired, and unanswered requests
    whose overwrite deadline is within 48 hours. Each is raised once per request and person."""
    moment = now or clock.now()
    raised = {"link_expired_unanswered": 0, "deadline_at_risk": 0}
    live_link = exists().where(
        OwnerLink.request_id == ExtractionRequest.id,
        OwnerLink.revoked_at.is_(None),
        OwnerLink.expires_at > moment,
    )
    expired_link = exists().where(
        OwnerLink.request_id == ExtractionRequest.id,
        OwnerLink.revoked_at.is_(None),
        OwnerLink.completed_at.is_(None),
        OwnerLink.expires_at <= moment,
    )
    unanswered = (ExtractionRequest.status == S.submitted, ExtractionRequest.overwrite_deadline > moment)
    for request in session.scalars(select(ExtractionRequest).where(*unanswered, expired_link, ~live_link)):
        last = session.scalar(
            select(OwnerLink.expires_at)
            .where(OwnerLink.request_id == request.id, OwnerLink.revoked_at.is_(None))
            .order_by(OwnerLink.expires_at.desc())
            .limit(1)
        )
        extra = {"link_expired_at": last.isoformat()} if last is not None else {}
        raised["link_expired_unanswered"] += tell(session, request, K.link_expired_unanswered, extra=extra)
    soon = moment + timedelta(hours=AT_RISK_HOURS)
    for request in session.scalars(
        select(ExtractionRequest).where(*unanswered, ExtractionRequest.overwrite_deadline <= soon)
    ):
        raised["deadline_at_risk"] += tell(session, request, K.deadline_at_risk)
    return raised
