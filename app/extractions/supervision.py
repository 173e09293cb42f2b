"""The supervisor's view of a unit: every open request, the ones at risk first (unanswered with the recorder's
overwrite deadline within 48 hours), then by overwrite deadline; with how long the owner took to answer (or has
been waiting) and who is waiting on whom."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import Session

from app.auth.models import User
from app.auth.permissions import Actor, ensure_may, unit_scope
from app.cases.models import Case
from app.core import clock
from app.extractions.alerts import AT_RISK_HOURS
from app.extractions.models import ExtractionRequest, RequestTransition
from app.extractions.states import ACTIVE, RequestStatus
from app.registry.models import Camera, Owner

S = RequestStatus
# state → (who must act, for what)
WAITING: dict[RequestStatus, tuple[str, str]] = {
    S.draft: ("investigator", "submit"),
    S.submitted: ("owner", "answer"),
    S.approved: ("owner", "upload"),
    S.partially_approved: ("owner", "upload"),
    S.footage_mismatch: ("owner", "upload_again"),
    S.footage_received: ("service", "clip"),
    S.needs_conversion: ("investigator", "conversion"),
    S.clip_ready: ("investigator", "download"),
    S.delivered: ("investigator", "close"),
}


def open_requests(
    session: Session, actor: Actor, *, limit: int, offset: int, now: datetime | None = None
) -> tuple[list[dict[str, Any]], int]:
    """The open requests the supervisor's unit filed (all units for an admin), at-risk ones first."""
    ensure_may(actor, "supervision.read")
    moment = now or clock.now()
    soon = moment + timedelta(hours=AT_RISK_HOURS)
    R = ExtractionRequest
    at_risk = and_(R.status == S.submitted, R.overwrite_deadline <= soon, R.overwrite_deadline > moment)
    last_move = select(func.max(RequestTransition.at)).where(RequestTransition.request_id == R.id).scalar_subquery()
    scope = (R.status.in_(sorted(ACTIVE)), unit_scope(actor, R.unit_id))
    total = session.scalar(select(func.count()).select_from(R).where(*scope)) or 0
    rows = session.execute(
        select(
            R,
            Case.number,
            Camera.label,
            Owner.name,
            Owner.phone,
            User.full_name,
            at_risk.label("at_risk"),
            func.coalesce(last_move, R.created_at).label("since"),
        )
        .join(Case, Case.id == R.case_id)
        .join(Camera, Camera.id == R.camera_id)
        .join(Owner, Owner.id == R.owner_id)
        .join(User, User.id == R.created_by)
        .where(*scope)
        .order_by(case((at_risk, 0), else_=1), R.overwrite_deadline, R.created_at, R.id)
        .limit(limit)
        .offset(offset)
    ).all()
    items = []
    for request, number, label, owner_name, owner_phone, filed_by, risky, since in rows:
        waiting_on, waiting_for = WAITING[RequestStatus(request.status)]
        answered = request.responded_at
        items.append(
            {
                "id": request.id,
                "case_id": request.case_id,
                "case_number": number,
                "camera_label": label,
                "camera_timezone": request.camera_timezone,
                "owner_name": owner_name,
                "owner_phone": owner_phone,
                "filed_by": filed_by,
                "status": str(request.status),
                "created_at": request.created_at,
                "overwrite_deadline": request.overwrite_deadline,
                "at_risk": bool(risky),
                "waiting_on": waiting_on,
                "waiting_for": waiting_for,
                "waiting_since": since,
                "waiting_s": max(int((moment - since).total_seconds()), 0),
                "time_to_answer_s": int((answered - request.created_at).total_seconds()) if answered else None,
            }
        )
    return items, total
