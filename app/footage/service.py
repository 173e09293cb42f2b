"""Originals and clips: reading them within scope (views and links: app.footage.viewing)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.auth.permissions import Actor, can_see_case, can_see_request, ensure_visible
from app.cases.models import Case
from app.extractions.models import ExtractionRequest
from app.footage import detail
from app.footage.models import Clip, Original


def request_detail(session: Session, actor: Actor, request_id: UUID) -> dict[str, Any]:
    """A request with its history, originals and clips, if the actor's scope covers it (the pages' form: plain
    values, fields by their API names)."""
    return detail.request_detail_in(session, actor, request_id).model_dump(by_alias=True)


def in_scope(session: Session, actor: Actor, item: Original | Clip | None) -> bool:
    """A request's footage by its request (`can_see_request`); footage of a case without a request (an appeal's
    original and its clips) by its case (`can_see_case`: the case's unit, a prosecutor's grant)."""
    if item is None:
        return False
    if item.request_id is not None:
        request = session.get(ExtractionRequest, item.request_id)
        return request is not None and can_see_request(actor, request)
    case = session.get(Case, item.case_id) if item.case_id is not None else None
    return case is not None and can_see_case(actor, case)


def case_of(session: Session, item: Original | Clip) -> UUID | None:
    """The case an original or clip belongs to: its request's, or its own when it has no request."""
    if item.request_id is None:
        return item.case_id
    return session.scalar(select(ExtractionRequest.case_id).where(ExtractionRequest.id == item.request_id))


def case_column(model: type[Original] | type[Clip]) -> Any:
    """The case of an original or clip as SQL, for a query outer-joined to its request (`with_request`)."""
    return func.coalesce(model.case_id, ExtractionRequest.case_id)


def with_request(query: Any, model: type[Original] | type[Clip]) -> Any:
    """`query` outer-joined to the request of `model` (an appeal's original or clip has none)."""
    return query.outerjoin(ExtractionRequest, ExtractionRequest.id == model.request_id)


def get_original(session: Session, actor: Actor, original_id: UUID) -> Original:
    original = session.get(Original, original_id)
    ensure_visible(in_scope(session, actor, original), actor, "original", original_id)
    assert original is not None
    return original


def get_clip(session: Session, actor: Actor, clip_id: UUID) -> Clip:
    clip = session.get(Clip, clip_id)
    ensure_visible(in_scope(session, actor, clip), actor, "clip", clip_id)
    assert clip is not None
    return clip
