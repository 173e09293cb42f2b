"""Originals and clips: reading them within scope, and version-pinned, logged download links."""

from __future__ import annotations

from datetime import timedelta
from pathlib import PurePosixPath
from typing import Any
from uuid import UUID

from sqlalchemy.orm import Session

from app.auth.permissions import Actor, can_see_request, ensure_role, ensure_visible, may
from app.core import clock
from app.core.config import get_settings
from app.core.errors import RuleViolation
from app.core.storage import get_storage
from app.custody.service import append_event
from app.extractions.models import ExtractionRequest
from app.footage import detail
from app.footage.delivery import USES, mark_delivered
from app.footage.models import Clip, Original


def request_detail(session: Session, actor: Actor, request_id: UUID) -> dict[str, Any]:
    """A request with its history, originals and clips, if the actor's scope covers it (the pages' form: plain
    values, fields by their API names)."""
    return detail.request_detail_in(session, actor, request_id).model_dump(by_alias=True)


def get_original(session: Session, actor: Actor, original_id: UUID) -> Original:
    original = session.get(Original, original_id)
    request = session.get(ExtractionRequest, original.request_id) if original else None
    ensure_visible(request is not None and can_see_request(actor, request), actor, "original", original_id)
    assert original is not None
    return original


def get_clip(session: Session, actor: Actor, clip_id: UUID) -> Clip:
    clip = session.get(Clip, clip_id)
    request = session.get(ExtractionRequest, clip.request_id) if clip else None
    ensure_visible(request is not None and can_see_request(actor, request), actor, "clip", clip_id)
    assert clip is not None
    return clip


def download_link(
    session: Session,
    actor: Actor,
    kind: str,
    object_id: UUID,
    purpose: str,
    expires_in_s: int | None,
    use: str = "download",
) -> dict[str, Any]:
    """A presigned GET pinned to the exact version, short-lived, and written to the custody log with its purpose
    and use (download or play). The filing unit's first fetch of a ready clip delivers the request."""
    if use not in USES:
        raise RuleViolation("use", f"one of {', '.join(USES)}")
    ensure_role(actor, "footage.download")
    item: Original | Clip = (
        get_original(session, actor, object_id) if kind == "original" else get_clip(session, actor, object_id)
    )
    request = session.get(ExtractionRequest, item.request_id)
    assert request is not None
    if kind == "clip" and not may(actor, "clips.download"):
        # Owners handed over the original; clips are the investigation's derivative.
        ensure_visible(False, actor, "clip", object_id)
    settings = get_settings()
    seconds = expires_in_s or settings.download_link_minutes * 60
    if seconds > settings.download_link_max_minutes * 60:
        raise RuleViolation("expires_in_s", f"at most {settings.download_link_max_minutes * 60} seconds")
    expires_at = clock.now() + timedelta(seconds=seconds)
    filename = item.filename if isinstance(item, Original) else f"clip-{item.id}{PurePosixPath(item.object_key).suffix}"
    url = get_storage().presign_get(item.object_key, item.version_id, timedelta(seconds=seconds), filename=filename)
    append_event(
        session,
        actor=actor.label,
        action=f"{kind}.download_link_issued",
        object_type=kind,
        object_id=item.id,
        sha256=item.sha256,
        version_id=item.version_id,
        case_id=request.case_id,
        reason=purpose,
        where=actor.where(),
        details={"expires_at": expires_at.isoformat(), "object_key": item.object_key, "use": use},
    )
    if isinstance(item, Clip):
        mark_delivered(session, item, actor, use, purpose)
    return {"url": url, "expires_at": expires_at, "sha256": item.sha256, "version_id": item.version_id}
