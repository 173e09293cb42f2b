"""A request as its camera's owner reads it, on the link page and in every message: which camera (label, address),
which police unit and case, the officer as role · unit (never by name), the unit's phone, the windows to the
second — and, once answered, what the owner answered, when, and what became of the footage."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.auth.models import Unit, User
from app.auth.permissions import Actor
from app.cases.models import Case
from app.core import phones
from app.custody.models import CustodyEvent
from app.extractions.models import ExtractionRequest, RequestTransition
from app.extractions.states import RequestStatus
from app.notifications import service as notifications
from app.notifications.wording import moment_text, window_text, zone_words
from app.registry.models import Camera, Owner

S = RequestStatus
# What the owner said, by the state their answer moved the request to.
ANSWERS = {S.approved: "approved", S.partially_approved: "partially_approved", S.denied: "denied"}


@dataclass(frozen=True)
class OwnerFacing:
    request_id: UUID
    status: str
    owner_name: str
    owner_email: str | None
    owner_locale: str
    camera_label: str
    camera_address: str | None
    timezone: str
    unit_name: str
    unit_phone: str | None
    case_number: str
    officer_role: str  # the filing officer's role (owners see officers as role · unit)
    window_start: datetime
    window_end: datetime
    approved_start: datetime | None
    approved_end: datetime | None
    overwrite_deadline: datetime
    answer: str | None  # approved | partially_approved | denied, once the owner answered
    answered_at: datetime | None
    answer_reason: str | None
    covered: tuple[datetime, datetime] | None  # what the last file covered, when it missed the window

    @property
    def asked(self) -> tuple[datetime, datetime]:
        """The window the footage must cover: the approved part, or the whole requested window."""
        return (self.approved_start or self.window_start, self.approved_end or self.window_end)

    def words(self, locale: str) -> dict[str, Any]:
        """The plain values a message template reads (times already worded for `locale`)."""
        zone = zone_words(self.timezone, locale)
        covered = window_text(*self.covered, self.timezone, zone) if self.covered else None
        return {
            "owner_name": self.owner_name,
            "camera_label": self.camera_label,
            "camera_address": self.camera_address,
            "unit_name": self.unit_name,
            "unit_phone": self.unit_phone,
            "case_number": self.case_number,
            "officer_role": self.officer_role,
            "window": window_text(self.window_start, self.window_end, self.timezone, zone),
            "window_start": moment_text(self.window_start, self.timezone, zone),
            "window_end": moment_text(self.window_end, self.timezone, zone),
            "asked": window_text(*self.asked, self.timezone, zone),
            "overwrite_deadline": moment_text(self.overwrite_deadline, self.timezone, zone),
            "covered": covered,
            "status": self.status,
        }


def _covered(session: Session, request: ExtractionRequest) -> tuple[datetime, datetime] | None:
    if request.status != S.footage_mismatch.value:
        return None
    details = session.scalar(
        select(CustodyEvent.details)
        .where(CustodyEvent.object_id == request.id, CustodyEvent.action == "request.footage_mismatch")
        .order_by(CustodyEvent.seq.desc())
        .limit(1)
    )
    span = (details or {}).get("covered")
    if not isinstance(span, list) or not span:
        return None
    # one file's [start, end], or an export in several files: [[start, end], ...] — told as one range
    pairs = span if isinstance(span[0], list) else [span]
    starts = [datetime.fromisoformat(pair[0]) for pair in pairs]
    ends = [datetime.fromisoformat(pair[1]) for pair in pairs]
    return min(starts), max(ends)


def owner_facing(session: Session, request: ExtractionRequest) -> OwnerFacing:
    """The request as its owner reads it (the caller has already judged that the reader may)."""
    camera = session.get(Camera, request.camera_id)
    owner = session.get(Owner, request.owner_id)
    unit = session.get(Unit, request.unit_id)
    case = session.get(Case, request.case_id)
    officer = session.get(User, request.created_by)
    assert camera is not None and owner is not None
    answered = session.scalar(
        select(RequestTransition)
        .where(RequestTransition.request_id == request.id, RequestTransition.to_status.in_([s.value for s in ANSWERS]))
        .order_by(RequestTransition.at.desc())
        .limit(1)
    )
    return OwnerFacing(
        request_id=request.id,
        status=request.status,
        owner_name=owner.name,
        owner_email=owner.email,
        owner_locale=owner.locale,
        camera_label=camera.label,
        camera_address=camera.address,
        timezone=request.camera_timezone,
        unit_name=unit.name if unit else "",
        unit_phone=phones.display(unit.phone) if unit else None,
        case_number=case.number if case else "",
        officer_role=officer.role if officer else "investigator",
        window_start=request.window_start,
        window_end=request.window_end,
        approved_start=request.approved_start,
        approved_end=request.approved_end,
        overwrite_deadline=request.overwrite_deadline,
        answer=ANSWERS[S(answered.to_status)] if answered else None,
        answered_at=answered.at if answered else None,
        answer_reason=answered.reason if answered else None,
        covered=_covered(session, request),
    )


def notify_mismatch(
    session: Session, request: ExtractionRequest, actor: Actor, covered: tuple[datetime, datetime]
) -> None:
    """Tell the owner that the file they sent missed the window: which range it covers, which is needed, and a
    fresh one-time link to upload again (the links they hold open again too), inside the caller's transaction."""
    from app.auth import links
    from app.extractions.service import new_link

    owner = session.get(Owner, request.owner_id)
    assert owner is not None
    facing = owner_facing(session, request)
    words = facing.words(owner.locale)
    zone = zone_words(facing.timezone, owner.locale)
    link, token = new_link(session, actor, request)
    context = {
        **words,
        "covered": window_text(*covered, facing.timezone, zone),
        "link_url": links.link_url(token),
        "link_expires_at": moment_text(link.expires_at, facing.timezone, zone),
    }
    notifications.notify(
        session,
        email=owner.email,
        phone=owner.phone,
        name=owner.name,
        template="footage_mismatch",
        context=context,
        locale=owner.locale,
        subject_type="request",
        subject_id=request.id,
        secrets=[token],
    )
