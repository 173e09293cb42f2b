"""Delivery: a request's clip reaches the unit that asked for it. The filing unit's first download or playback of
the clip moves the request from `clip_ready` to `delivered`, recorded with what it was for (the use and purpose)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from app.auth.permissions import Actor
from app.extractions.models import ExtractionRequest
from app.extractions.service import move
from app.extractions.states import RequestStatus
from app.footage.models import Clip

USES = ("download", "play")


def mark_delivered(session: Session, clip: Clip, actor: Actor, use: str, purpose: str | None = None) -> bool:
    """Move the clip's request to `delivered` if this is the filing unit's first download or play of a ready clip;
    True when it moved. Anyone else's fetch (an auditor's, another unit's) and later fetches change nothing."""
    if use not in USES:
        raise ValueError(f"use must be one of {USES}")
    request_id = getattr(clip, "request_id", None)
    if request_id is None:
        return False
    request = session.get(ExtractionRequest, request_id, with_for_update=True)
    if request is None or actor.unit_id is None or actor.unit_id != request.unit_id:
        return False
    if request.status != RequestStatus.clip_ready:
        return False
    move(
        session,
        request,
        RequestStatus.delivered,
        actor,
        purpose or use,
        details={"use": use, "clip_id": str(clip.id), "clip_sha256": clip.sha256},
    )
    return True
