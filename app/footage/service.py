"""Originals and clips: reading them within scope (views and links: app.footage.viewing)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from sqlalchemy.orm import Session

from app.auth.permissions import Actor, can_see_request, ensure_visible
from app.extractions.models import ExtractionRequest
from app.footage import detail
from app.footage.models import Clip, Original


def request_detail(session: Session, actor: Actor, request_id: UUID) -> dict[str, Any]:
    """A request with its history, originals and clips, if the actor's scope covers it (the pages' form: plain
    values, fields by their API names)."""
    return detail.request_detail_in(session, actor, request_id).model_dump(by_alias=True)


def get_original(session: Session, actor: Actor, original_id: UUID) -> Original:
    original = session.get(Original, original_id)
    # an appeal's original (no request) is reached through its submission (app.appeals)
    request = session.get(ExtractionRequest, original.request_id) if original and original.request_id else None
    ensure_visible(request is not None and can_see_request(actor, request), actor, "original", original_id)
    assert original is not None
    return original


def get_clip(session: Session, actor: Actor, clip_id: UUID) -> Clip:
    clip = session.get(Clip, clip_id)
    request = session.get(ExtractionRequest, clip.request_id) if clip and clip.request_id else None
    ensure_visible(request is not None and can_see_request(actor, request), actor, "clip", clip_id)
    assert clip is not None
    return clip
