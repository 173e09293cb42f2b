"""Area requests and owner notifications: one call files a request for every eligible camera in a radius;
each owner gets one message listing their cameras, each with its own one-time link."""

from __future__ import annotations

from collections import defaultdict
from typing import Any
from uuid import UUID, uuid4
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.auth import links
from app.auth.models import Unit
from app.auth.permissions import Actor
from app.core.config import get_settings
from app.core.errors import DomainError
from app.extractions import service
from app.extractions.models import ExtractionRequest
from app.extractions.schemas import AreaRequestCreate
from app.extractions.states import IN_OWNERS_HANDS
from app.notifications import service as notifications
from app.registry import service as registry
from app.registry.models import Camera, Owner

SEARCH_LIMIT = 5000


def file_area_request(session: Session, actor: Actor, case_id: UUID, body: AreaRequestCreate) -> dict[str, Any]:
    """File a request for every eligible camera in the circle; return them and the skipped cameras with reasons.

    Eligible: consent valid now (police-managed cameras excepted), footage not overwritten, not
    decommissioned, and a field of view that does not face away from the point (unknown counts as possible).
    """
    case = service._open_case_for_filing(session, actor, case_id)
    service._check_window(body.window_start, body.window_end)
    hits, _ = registry.search(session, body.lat, body.lon, body.radius_m, body.window_start, SEARCH_LIMIT, 0)
    # The search answers plain rows; the cameras to file for are loaded in one statement, not one per hit.
    ids = [h["id"] for h in hits]
    cameras = {c.id: c for c in session.scalars(select(Camera).where(Camera.id.in_(ids)))} if ids else {}
    group_id = uuid4()
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
                    service._file(
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


def notify_owners(session: Session, actor: Actor, requests: list[ExtractionRequest]) -> None:
    """One message per owner for the requests just filed, each waiting request with its own one-time link."""
    by_owner: dict[UUID, list[ExtractionRequest]] = defaultdict(list)
    for request in requests:
        by_owner[request.owner_id].append(request)
    settings = get_settings()
    unit = session.get(Unit, requests[0].unit_id) if requests else None
    for owner_id, owned in by_owner.items():
        owner = session.get(Owner, owner_id)
        assert owner is not None
        cameras: list[dict[str, Any]] = []
        tokens: list[str] = []
        expires = None
        for request in owned:
            camera = session.get(Camera, request.camera_id)
            assert camera is not None
            entry = _camera_entry(camera, request)
            if request.status in IN_OWNERS_HANDS:
                link, token = service.new_link(session, actor, request)
                entry["link_url"] = links.link_url(token)
                tokens.append(token)
                expires = link.expires_at
            cameras.append(entry)
        context = {
            "owner_name": owner.name,
            "unit_name": unit.name if unit else "",
            "case_number": str(owned[0].case_id),
            "cameras": cameras,
            "purpose": owned[0].purpose,
            "legal_basis": owned[0].legal_basis,
            "link_url": cameras[0].get("link_url") if len(cameras) == 1 else None,
            "link_expires_at": camera_time(expires, owned[0].camera_timezone) if expires else "",
            "owner_phone": owner.phone,
        }
        from app.cases.models import Case

        case = session.get(Case, owned[0].case_id)
        if case is not None:
            context["case_number"] = case.number
        recipients = [("email", owner.email)] if owner.email else []
        if settings.notification_webhook_url:
            recipients.append(("webhook", settings.notification_webhook_url))
        for channel, recipient in recipients:
            assert recipient is not None
            notifications.enqueue(
                session,
                channel=channel,
                recipient=recipient,
                template="request_filed",
                context=context,
                locale=owner.locale,
                subject_type="owner",
                subject_id=owner.id,
                secrets=tokens,
            )


def camera_time(value: Any, tz: str) -> str:
    """A time as owners read it in messages: the camera's wall clock, with the zone named."""
    return str(value.astimezone(ZoneInfo(tz)).strftime("%H:%M %d/%m/%Y")) + f" ({tz})"


def _camera_entry(camera: Camera, request: ExtractionRequest) -> dict[str, Any]:
    tz = request.camera_timezone
    return {
        "label": camera.label,
        "address": camera.address,
        "window_start": camera_time(request.window_start, tz),
        "window_end": camera_time(request.window_end, tz),
        "overwrite_deadline": camera_time(request.overwrite_deadline, tz),
        "request_id": str(request.id),
        "status": request.status,
    }
