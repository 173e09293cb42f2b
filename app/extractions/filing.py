"""Filing extraction requests: one camera, or every eligible camera in a radius, and telling the owners.

Each filing rule is a 422/409 that names it: the case open and the investigator of its unit, the window's
length, the camera's eligibility (not decommissioned, footage not yet overwritten, consent valid now unless the
police manage the camera), no overlapping active request of the same case. A filed request enters the state
machine through app.extractions.service.move; each owner gets one message listing their cameras, each with its
own one-time link.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from app.auth import links
from app.auth.permissions import Actor, ensure_may, ensure_visible, system_actor
from app.cases.models import Case, CaseStatus
from app.core import clock
from app.core.config import get_settings
from app.core.errors import Conflict, DomainError, RuleViolation
from app.custody import data_check
from app.custody.service import append_event
from app.extractions.models import ExtractionRequest
from app.extractions.owner_view import owner_facing
from app.extractions.schemas import AreaRequestCreate, RequestCreate
from app.extractions.service import move, new_link, revoke_live_links
from app.extractions.states import ACTIVE, IN_OWNERS_HANDS, RequestStatus
from app.notifications import service as notifications
from app.notifications.wording import moment_text, zone_words
from app.registry import service as registry
from app.registry.models import Camera, Owner

S = RequestStatus


# -- one camera ------------------------------------------------------------------------------
def _open_case_for_filing(session: Session, actor: Actor, case_id: UUID) -> Case:
    case = session.get(Case, case_id)
    if case is None:
        ensure_visible(False, actor, "case", case_id)
    assert case is not None
    ensure_may(actor, "requests.file", case)
    if case.status != CaseStatus.open:
        raise Conflict(f"case {case.number} is closed; no new requests can be filed", extra={"status": case.status})
    return case


def eligibility(session: Session, camera: Camera, window_start: datetime, now: datetime) -> tuple[str | None, Any]:
    """(reason the camera cannot be asked, None) or (None, the consent that allows it / None for police cameras)."""
    if camera.status == "decommissioned":
        return "camera is decommissioned", None
    deadline = window_start + timedelta(days=camera.retention_days)
    if deadline <= now:
        return f"footage already overwritten (deadline {deadline.isoformat()})", None
    if camera.programme == "police":
        return None, None
    consent = registry.valid_consent_at(session, camera.id, now)
    if consent is None:
        return "no valid consent", None
    # The consent counts as the custody log records it: a row changed around the service (a widened scope, an
    # earlier start, a withdrawal erased) allows nothing. One indexed read of the consent's last event.
    if data_check.differs_from_log(session, "consents", consent):
        return "the consent's record differs from the custody log; an auditor must verify it", None
    return None, consent


def file_request(session: Session, actor: Actor, case_id: UUID, body: RequestCreate) -> ExtractionRequest:
    """File one request, applying every filing rule (each a 422/409 that names it)."""
    case = _open_case_for_filing(session, actor, case_id)
    camera = session.get(Camera, body.camera_id)
    if camera is None:
        raise RuleViolation("camera_id", f"camera {body.camera_id} does not exist")
    request = _file(
        session,
        actor,
        case,
        camera,
        body.window_start,
        body.window_end,
        body.purpose,
        body.legal_basis,
        body.priority,
        group_id=None,
    )
    notify_owners(session, actor, [request])
    return request


FILING_LOCK = "extraction-filing"


def lock_cameras_for_filing(session: Session, camera_ids: list[UUID]) -> None:
    """Transaction-scoped advisory locks, one per camera, that serialise the overlap check with the insert."""
    for camera_id in camera_ids:
        session.execute(
            text("SELECT pg_advisory_xact_lock(hashtext(:space), hashtext(:camera))"),
            {"space": FILING_LOCK, "camera": str(camera_id)},
        )


def _check_window(window_start: datetime, window_end: datetime) -> None:
    max_hours = get_settings().max_request_window_hours
    if window_end <= window_start:
        raise RuleViolation("window_end", "must be after window_start")
    if window_end - window_start > timedelta(hours=max_hours):
        raise RuleViolation("window_end", f"the window may last at most {max_hours} hours")


def _file(
    session: Session,
    actor: Actor,
    case: Case,
    camera: Camera,
    window_start: datetime,
    window_end: datetime,
    purpose: str,
    legal_basis: str,
    priority: str,
    *,
    group_id: UUID | None,
) -> ExtractionRequest:
    _check_window(window_start, window_end)
    now = clock.now()
    reason, consent = eligibility(session, camera, window_start, now)
    if reason is not None:
        deadline = window_start + timedelta(days=camera.retention_days)
        field = "window_start" if "overwritten" in reason else "camera_id"
        raise RuleViolation(field, reason, extra={"overwrite_deadline": deadline.isoformat()})
    # The overlap rule is a read then a write: filings for one camera take turns (the lock is held until this
    # transaction ends), so a second identical filing reads the first one's committed row and is refused.
    lock_cameras_for_filing(session, [camera.id])
    duplicate = session.scalar(
        select(ExtractionRequest.id).where(
            ExtractionRequest.case_id == case.id,
            ExtractionRequest.camera_id == camera.id,
            ExtractionRequest.status.in_(sorted(ACTIVE)),
            ExtractionRequest.window_start < window_end,
            ExtractionRequest.window_end > window_start,
        )
    )
    if duplicate is not None:
        raise Conflict(
            f"request {duplicate} already asks this camera for an overlapping window of this case",
            extra={"existing_request_id": str(duplicate)},
        )
    assert actor.user_id is not None
    request = ExtractionRequest(
        id=uuid4(),
        case_id=case.id,
        camera_id=camera.id,
        unit_id=case.unit_id,
        owner_id=camera.owner_id,
        group_id=group_id,
        window_start=window_start,
        window_end=window_end,
        camera_timezone=camera.timezone,
        purpose=purpose,
        legal_basis=legal_basis,
        priority=priority,
        overwrite_deadline=window_start + timedelta(days=camera.retention_days),
        status=S.draft,
        consent_id=consent.id if consent is not None else None,
        created_by=actor.user_id,
        created_at=now,
        updated_at=now,
    )
    session.add(request)
    session.flush()
    move(
        session,
        request,
        S.submitted,
        actor,
        purpose,
        action="request.filed",
        details={
            "camera_id": str(camera.id),
            "window_start": window_start.isoformat(),
            "window_end": window_end.isoformat(),
            "legal_basis": legal_basis,
            "consent_id": str(request.consent_id) if request.consent_id else None,
            "programme": camera.programme,
        },
    )
    if consent is not None and consent.scope == "auto_approve":
        request.auto_approved = True
        request.approved_start, request.approved_end = window_start, window_end
        request.responded_at = now
        move(
            session,
            request,
            S.approved,
            system_actor("consent"),
            f"auto_approve consent {consent.id}",
            details={"consent_id": str(consent.id)},
        )
    return request


# -- an area ---------------------------------------------------------------------------------
SEARCH_LIMIT = 5000


def file_area_request(session: Session, actor: Actor, case_id: UUID, body: AreaRequestCreate) -> dict[str, Any]:
    """File a request for every eligible camera in the circle; return them and the skipped cameras with reasons.

    Eligible: consent valid now (police-managed cameras excepted), footage not overwritten, not
    decommissioned, and a field of view that does not face away from the point (unknown counts as possible).
    """
    case = _open_case_for_filing(session, actor, case_id)
    _check_window(body.window_start, body.window_end)
    hits, _ = registry.search(session, body.lat, body.lon, body.radius_m, body.window_start, SEARCH_LIMIT, 0)
    # The search answers plain rows; the cameras to file for are loaded in one statement, not one per hit.
    ids = [h["id"] for h in hits]
    cameras = {c.id: c for c in session.scalars(select(Camera).where(Camera.id.in_(ids)))} if ids else {}
    group_id = uuid4()
    # Every camera's filing lock up front, in one order: two area filings over the same cameras never deadlock.
    lock_cameras_for_filing(session, sorted(cameras))
    filed: list[ExtractionRequest] = []
    skipped: list[dict[str, Any]] = []
    for hit in hits:
        if hit["covers_point"] is False:
            skipped.append({"camera_id": hit["id"], "reason": "field of view does not cover the point"})
            continue
        camera = cameras[hit["id"]]
        try:
            with session.begin_nested():
                filed.append(
                    _file(
                        session,
                        actor,
                        case,
                        camera,
                        body.window_start,
                        body.window_end,
                        body.purpose,
                        body.legal_basis,
                        body.priority,
                        group_id=group_id,
                    )
                )
        except DomainError as exc:
            reason = exc.errors[0]["message"] if exc.errors else exc.detail
            skipped.append({"camera_id": hit["id"], "reason": reason})
    notify_owners(session, actor, filed)
    return {"group_id": group_id, "requests": filed, "skipped": skipped}


def notify_owners(
    session: Session, actor: Actor, requests: list[ExtractionRequest], event: str = "request_filed"
) -> None:
    """One email per owner for the requests just filed, each waiting request with its own one-time link; it
    names every camera (label, address), the unit and its phone, the case and the officer's role, and gives each
    window to the second. The bridge (Zalo/SMS) gets one message per camera, each whole with its own link, for
    the owner's phone. `event` names the occasion for the bridge (`request_filed`, `link_reissued`)."""
    by_owner: dict[UUID, list[ExtractionRequest]] = defaultdict(list)
    for request in requests:
        by_owner[request.owner_id].append(request)
    for owner_id, owned in by_owner.items():
        owner = session.get(Owner, owner_id)
        assert owner is not None
        cameras: list[dict[str, Any]] = []
        tokens: list[str] = []
        token_of: dict[UUID, str] = {}
        expires = None
        facings = [owner_facing(session, request) for request in owned]
        for request, facing in zip(owned, facings, strict=True):
            words = facing.words(owner.locale)
            entry = {
                "label": facing.camera_label,
                "address": facing.camera_address,
                "window": words["window"],
                "window_start": words["window_start"],
                "window_end": words["window_end"],
                "overwrite_deadline": words["overwrite_deadline"],
                "request_id": str(request.id),
                "status": request.status,
            }
            if request.status in IN_OWNERS_HANDS:
                link, token = new_link(session, actor, request)
                entry["link_url"] = links.link_url(token)
                tokens.append(token)
                token_of[request.id] = token
                expires = link.expires_at
            cameras.append(entry)
        first = facings[0]
        context = {
            **{key: first.words(owner.locale)[key] for key in ("owner_name", "unit_name", "unit_phone", "case_number")},
            "officer_role": first.officer_role,
            "cameras": cameras,
            "purpose": owned[0].purpose,
            "legal_basis": owned[0].legal_basis,
            "link_url": cameras[0].get("link_url") if len(cameras) == 1 else None,
            "link_expires_at": moment_text(expires, first.timezone, zone_words(first.timezone, owner.locale))
            if expires
            else "",
            "owner_phone": owner.phone,
        }
        notifications.notify(
            session,
            email=owner.email,
            template="request_filed",
            context=context,
            locale=owner.locale,
            subject_type="owner",
            subject_id=owner.id,
            secrets=tokens,
        )
        for request, entry in zip(owned, cameras, strict=True):
            camera_token = token_of.get(request.id)
            notifications.notify(
                session,
                email=None,
                phone=owner.phone,
                name=owner.name,
                event=event,
                template="request_filed",
                context={**context, "cameras": [entry], "link_url": entry.get("link_url")},
                locale=owner.locale,
                subject_type="request",
                subject_id=request.id,
                secrets=[camera_token] if camera_token else [],
            )


# -- after filing: a new link, a second request --------------------------------------------------
def _filing_investigator(session: Session, actor: Actor, request_id: UUID, action: str) -> ExtractionRequest:
    from app.extractions.service import get_request

    request = get_request(session, actor, request_id, for_update=True)
    ensure_may(actor, action, request)
    return request


def resend_link(session: Session, actor: Actor, request_id: UUID) -> ExtractionRequest:
    """Send the owner the request again with a new one-time link; the links sent before stop working."""
    request = _filing_investigator(session, actor, request_id, "links.issue")
    if request.status not in IN_OWNERS_HANDS:
        raise Conflict(f"the request is {request.status}; it is no longer in the owner's hands")
    revoke_live_links(session, actor, request)
    notify_owners(session, actor, [request], event="link_reissued")
    return request


def link_for_display(session: Session, actor: Actor, request_id: UUID) -> tuple[ExtractionRequest, str, Any]:
    """A new one-time link to show the owner on the officer's screen (a QR code, for owners without email): the
    links before it stop working, and the display is recorded in the custody log. Returns (request, url, expiry)."""
    request = _filing_investigator(session, actor, request_id, "links.issue")
    if request.status not in IN_OWNERS_HANDS:
        raise Conflict(f"the request is {request.status}; it is no longer in the owner's hands")
    revoke_live_links(session, actor, request)
    link, token = new_link(session, actor, request)
    append_event(
        session,
        actor=actor.label,
        action="owner_link.displayed",
        object_type="request",
        object_id=request.id,
        case_id=request.case_id,
        reason="shown as a QR code to the owner",
        where=actor.where("web"),
        details={"link_id": str(link.id), "expires_at": link.expires_at.isoformat()},
    )
    return request, links.link_url(token), link.expires_at


def re_request(
    session: Session, actor: Actor, request_id: UUID, window_start: datetime, window_end: datetime
) -> ExtractionRequest:
    """After footage that does not cover the window: withdraw the request and ask the same camera again for the
    window given (the same purpose and legal basis), the owner told with a new link."""
    old = _filing_investigator(session, actor, request_id, "requests.cancel")
    if old.status != S.footage_mismatch.value:
        raise Conflict(f"a {old.status} request cannot become re_requested; only after a footage mismatch")
    case = _open_case_for_filing(session, actor, old.case_id)
    camera = session.get(Camera, old.camera_id)
    assert camera is not None
    move(session, old, S.cancelled, actor, "asked again: the footage did not cover the window")
    request = _file(
        session,
        actor,
        case,
        camera,
        window_start,
        window_end,
        old.purpose,
        old.legal_basis,
        old.priority,
        group_id=old.group_id,
    )
    notify_owners(session, actor, [request])
    return request
