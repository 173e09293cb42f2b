"""What a withdrawn consent does to requests: auto-approval stops at once (filing reads consent as of now), and the
investigators who filed requests still open on the withdrawn camera(s) are told by email, in the same transaction
as the withdrawal."""

from __future__ import annotations

from collections import defaultdict
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.auth.models import User
from app.auth.permissions import Actor
from app.cases.models import Case
from app.core.config import get_settings
from app.extractions.models import ExtractionRequest
from app.extractions.states import ACTIVE
from app.notifications import service as notifications
from app.notifications.wording import HOME_ZONE, moment_text, window_text, zone_words
from app.registry import receipts
from app.registry import service as registry
from app.registry.models import Camera, Consent, Owner

STATUS_WORDS = {
    "vi": {
        "draft": "nháp",
        "submitted": "đang chờ chủ camera trả lời",
        "approved": "đã đồng ý, chờ dữ liệu",
        "partially_approved": "đồng ý một phần, chờ dữ liệu",
        "footage_received": "đã nhận dữ liệu",
        "footage_mismatch": "dữ liệu không khớp khoảng thời gian",
        "needs_conversion": "cần chuyển đổi định dạng",
        "clip_ready": "đoạn trích đã sẵn sàng",
        "delivered": "đã bàn giao",
    },
    "en": {
        "draft": "draft",
        "submitted": "waiting for the owner's answer",
        "approved": "approved, waiting for footage",
        "partially_approved": "approved in part, waiting for footage",
        "footage_received": "footage received",
        "footage_mismatch": "footage does not cover the window",
        "needs_conversion": "needs conversion",
        "clip_ready": "clip ready",
        "delivered": "delivered",
    },
}


def withdraw_consent(session: Session, actor: Actor, consent_id: UUID, reason: str) -> Consent:
    """Withdraw the consent (the owner gets the receipt) and tell the investigators of its open requests."""
    consent = registry.withdraw_consent(session, actor, consent_id, reason)
    tell_investigators(session, consent)
    return consent


def tell_investigators(session: Session, consent: Consent) -> int:
    """Email each investigator who filed a request still open on a camera the consent covered; returns how many."""
    owner = session.get(Owner, consent.owner_id)
    assert owner is not None
    cameras = session.scalars(
        select(Camera).where(
            Camera.owner_id == owner.id, *([Camera.id == consent.camera_id] if consent.camera_id else [])
        )
    ).all()
    by_id = {c.id: c for c in cameras}
    if not by_id:
        return 0
    open_requests = session.scalars(
        select(ExtractionRequest)
        .where(ExtractionRequest.camera_id.in_(by_id), ExtractionRequest.status.in_(sorted(ACTIVE)))
        .order_by(ExtractionRequest.created_at)
    ).all()
    by_officer: dict[UUID, list[ExtractionRequest]] = defaultdict(list)
    for request in open_requests:
        by_officer[request.created_by].append(request)
    base = get_settings().public_base_url.rstrip("/")
    told = 0
    for officer_id, requests in by_officer.items():
        officer = session.get(User, officer_id)
        if officer is None or not officer.email or not officer.is_active:
            continue
        locale = officer.locale or "vi"
        zone = zone_words(HOME_ZONE, locale)
        numbers = []
        rows = []
        for request in requests:
            case = session.get(Case, request.case_id)
            number = case.number if case else ""
            if number not in numbers:
                numbers.append(number)
            camera = by_id[request.camera_id]
            camera_zone = zone_words(request.camera_timezone, locale)
            window = window_text(request.window_start, request.window_end, request.camera_timezone, camera_zone)
            rows.append(
                {
                    "case_number": number,
                    "camera_label": camera.label,
                    "window": window,
                    "status_words": STATUS_WORDS[locale].get(str(request.status), str(request.status)),
                    "url": f"{base}/requests/{request.id}",
                }
            )
        covered = by_id[consent.camera_id].label if consent.camera_id else receipts.ALL_CAMERAS_OF[locale]
        notifications.notify(
            session,
            email=officer.email,
            template="consent_withdrawn",
            context={
                "owner_name": owner.name,
                "cameras_words": covered,
                "withdrawn_at": moment_text(consent.withdrawn_at, HOME_ZONE, zone),
                "withdrawn_reason": consent.withdrawn_reason or "",
                "case_numbers": ", ".join(numbers),
                "requests": rows,
            },
            locale=locale,
            subject_type="consent",
            subject_id=consent.id,
        )
        told += 1
    return told
