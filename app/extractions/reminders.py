"""Reminders to owners: before the recorder overwrites the footage, and before their one-time link expires."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.auth.models import OwnerLink
from app.auth.permissions import system_actor
from app.core import clock
from app.core.config import get_settings
from app.custody.service import append_event
from app.extractions.models import ExtractionRequest
from app.extractions.owner_view import owner_facing
from app.extractions.states import IN_OWNERS_HANDS
from app.notifications import service as notifications
from app.notifications.wording import moment_text, zone_words
from app.registry.models import Owner

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
                _remind(
                    session, request, "link_expiry", {"expiring_link_id": str(link.id)}, link_expires_at=link.expires_at
                )
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
    """Queue one reminder with a fresh one-time link: the links sent before are revoked, so the reminder always
    carries a link that works (until the new expiry), and a token leaked from an older message stops working."""
    from app.auth import links
    from app.extractions.service import new_link, revoke_live_links

    owner = session.get(Owner, request.owner_id)
    assert owner is not None
    actor = system_actor("scheduler")
    facing = owner_facing(session, request)
    words = facing.words(owner.locale)
    previous_expiry = link_expires_at
    revoke_live_links(session, actor, request)
    link, token = new_link(session, actor, request)
    zone = zone_words(facing.timezone, owner.locale)
    context = {
        **{key: words[key] for key in ("owner_name", "camera_label", "camera_address", "window")},
        **{key: words[key] for key in ("window_start", "window_end", "overwrite_deadline", "case_number")},
        **{key: words[key] for key in ("unit_name", "unit_phone", "officer_role")},
        "link_url": links.link_url(token),
        "link_expires_at": moment_text(link.expires_at, facing.timezone, zone),
        "previous_link_expires_at": moment_text(previous_expiry, facing.timezone, zone) if previous_expiry else None,
        "reason": reason,
    }
    queued = notifications.notify(
        session,
        email=owner.email,
        phone=owner.phone,
        name=owner.name,
        template="request_reminder",
        context=context,
        locale=owner.locale,
        subject_type="request",
        subject_id=request.id,
        secrets=[token],
    )
    append_event(
        session,
        actor=actor.label,
        action="request.reminder_sent",
        object_type="request",
        object_id=request.id,
        case_id=request.case_id,
        where=actor.where("worker"),
        details={"reason": reason, "channels": [n.channel for n in queued], "link_id": str(link.id), **details},
    )
