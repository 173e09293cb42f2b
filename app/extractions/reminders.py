"""Reminders to owners: before the recorder overwrites the footage, and before their one-time link expires."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.auth.models import OwnerLink, Unit
from app.auth.permissions import system_actor
from app.cases.models import Case
from app.core import clock
from app.core.config import get_settings
from app.custody.service import append_event
from app.extractions.filing import camera_time
from app.extractions.models import ExtractionRequest
from app.extractions.states import IN_OWNERS_HANDS
from app.notifications import service as notifications
from app.registry.models import Camera, Owner

REMINDER_TASK = "requests.remind_owners"  # the periodic reminders, by the name it is queued under


def _due_offset(request: ExtractionRequest, now: datetime, offsets: list[int]) -> int | None:
    """The largest reminder offset whose moment has come and that has not been sent yet."""
    for hours in sorted(offsets, reverse=True):
        moment = request.overwrite_deadline - timedelta(hours=hours)
        if moment <= now < request.overwrite_deadline and (
            request.deadline_reminded_at is None or request.deadline_reminded_at < moment
        ):
            return hours
    return None


def send_due_reminders(session: Session, now: datetime | None = None) -> dict[str, int]:
    """Queue every reminder that is due; each is sent once per offset and recorded in the custody log."""
    moment = now or clock.now()
    settings = get_settings()
    waiting = list(
        session.scalars(
            select(ExtractionRequest)
            .where(
                ExtractionRequest.status.in_(sorted(IN_OWNERS_HANDS)),
                ExtractionRequest.overwrite_deadline > moment,
            )
            .with_for_update(skip_locked=True)
        )
    )
    sent = {"deadline": 0, "link_expiry": 0}
    for request in waiting:
        hours = _due_offset(request, moment, settings.deadline_reminder_hours)
        if hours is not None:
            _remind(session, request, "deadline", {"hours_before": hours})
            request.deadline_reminded_at = moment
            sent["deadline"] += 1
        if request.link_reminded_at is None:
            link = session.scalar(
                select(OwnerLink)
                .where(
                    OwnerLink.request_id == request.id,
                    OwnerLink.revoked_at.is_(None),
                    OwnerLink.completed_at.is_(None),
                    OwnerLink.expires_at > moment,
                    OwnerLink.expires_at <= moment + timedelta(hours=settings.link_reminder_hours),
                )
                .order_by(OwnerLink.expires_at.desc())
            )
            if link is not None:
                _remind(session, request, "link_expiry", {"link_id": str(link.id)}, link_expires_at=link.expires_at)
                request.link_reminded_at = moment
                sent["link_expiry"] += 1
    return sent


def _remind(
    session: Session,
    request: ExtractionRequest,
    reason: str,
    details: dict[str, Any],
    link_expires_at: datetime | None = None,
) -> None:
    owner = session.get(Owner, request.owner_id)
    camera = session.get(Camera, request.camera_id)
    case = session.get(Case, request.case_id)
    unit = session.get(Unit, request.unit_id)
    assert owner is not None and camera is not None and case is not None
    tz = request.camera_timezone
    context = {
        "owner_name": owner.name,
        "camera_label": camera.label,
        "window_start": camera_time(request.window_start, tz),
        "window_end": camera_time(request.window_end, tz),
        "overwrite_deadline": camera_time(request.overwrite_deadline, tz),
        "link_url": None,
        "link_expires_at": camera_time(link_expires_at, tz) if link_expires_at else None,
        "reason": reason,
        "case_number": case.number,
        "unit_name": unit.name if unit else "",
    }
    queued = notifications.notify(
        session,
        email=owner.email,
        template="request_reminder",
        context=context,
        locale=owner.locale,
        subject_type="request",
        subject_id=request.id,
    )
    actor = system_actor("scheduler")
    append_event(
        session,
        actor=actor.label,
        action="request.reminder_sent",
        object_type="request",
        object_id=request.id,
        case_id=request.case_id,
        where=actor.where("worker"),
        details={"reason": reason, "channels": [n.channel for n in queued], **details},
    )
