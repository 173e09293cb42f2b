"""Owners the service cannot reach by itself, for the investigator to call.

An owner is listed for a case while one of their requests in it waits on them (answer or footage) and no message
reaches them: no email and no bridge (no webhook configured, or no phone for it), or every message the bridge
took for them came back `failed`. Each is listed with their phone, soonest overwrite deadline first.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.auth.permissions import Actor
from app.cases.service import get_case
from app.core import phones
from app.core.config import get_settings
from app.extractions.models import ExtractionRequest
from app.extractions.states import IN_OWNERS_HANDS
from app.notifications.models import Channel, DeliveryAttempt, Notification
from app.registry.models import Camera, Owner

Reason = Literal["no_contact", "no_email_no_phone", "no_email_no_bridge", "bridge_failed"]


@dataclass
class WaitingRequest:
    request_id: UUID
    camera_label: str
    camera_timezone: str
    status: str
    overwrite_deadline: datetime


@dataclass
class OwnerToCall:
    owner_id: UUID
    owner_name: str
    phone: str | None  # E.164
    phone_display: str | None  # as people write it: 0903 123 456
    reason: Reason
    requests: list[WaitingRequest] = field(default_factory=list)

    @property
    def first_deadline(self) -> datetime:
        return min(r.overwrite_deadline for r in self.requests)


def _bridge_failed(session: Session, request_ids: list[UUID]) -> bool:
    """Every bridge message about these requests was reported `failed` (and there was at least one)."""
    sent = session.scalars(
        select(Notification.id).where(
            Notification.channel == Channel.webhook.value,
            Notification.subject_type == "request",
            Notification.subject_id.in_(request_ids),
        )
    ).all()
    if not sent:
        return False
    failed = set(
        session.scalars(
            select(DeliveryAttempt.notification_id).where(
                DeliveryAttempt.notification_id.in_(sent),
                DeliveryAttempt.reported_by.is_not(None),
                DeliveryAttempt.outcome == "failed",
            )
        )
    )
    reached = set(
        session.scalars(
            select(DeliveryAttempt.notification_id).where(
                DeliveryAttempt.notification_id.in_(sent),
                DeliveryAttempt.reported_by.is_not(None),
                DeliveryAttempt.outcome.in_(("delivered", "read")),
            )
        )
    )
    return bool(failed) and not reached and failed >= set(sent)


def _reason(session: Session, owner: Owner, request_ids: list[UUID]) -> Reason | None:
    if owner.email:
        return None
    if not get_settings().notification_webhook_url:
        return "no_email_no_bridge" if owner.phone else "no_contact"
    if not owner.phone:
        return "no_email_no_phone"
    return "bridge_failed" if _bridge_failed(session, request_ids) else None


def owners_to_call(session: Session, actor: Actor, case_id: UUID) -> list[OwnerToCall]:
    """The case's owners to call (the actor must see the case), soonest overwrite deadline first."""
    case = get_case(session, actor, case_id)
    rows = session.execute(
        select(ExtractionRequest, Camera)
        .join(Camera, Camera.id == ExtractionRequest.camera_id)
        .where(ExtractionRequest.case_id == case.id, ExtractionRequest.status.in_(sorted(IN_OWNERS_HANDS)))
        .order_by(ExtractionRequest.overwrite_deadline, ExtractionRequest.id)
    ).all()
    waiting: dict[UUID, list[WaitingRequest]] = defaultdict(list)
    for request, camera in rows:
        waiting[request.owner_id].append(
            WaitingRequest(request.id, camera.label, camera.timezone, str(request.status), request.overwrite_deadline)
        )
    found: list[OwnerToCall] = []
    for owner_id, requests in waiting.items():
        owner = session.get(Owner, owner_id)
        assert owner is not None
        reason = _reason(session, owner, [r.request_id for r in requests])
        if reason is None:
            continue
        found.append(OwnerToCall(owner.id, owner.name, owner.phone, phones.display(owner.phone), reason, requests))
    return sorted(found, key=lambda o: (o.first_deadline, o.owner_name))
