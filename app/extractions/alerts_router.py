"""The end of a request's life (close, ask again), the staff's own notifications, and the supervisor's view."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Query
from sqlalchemy.orm import Session

from app.auth import service as auth
from app.auth.permissions import Actor, allow
from app.auth.schemas import Page
from app.core.db import SessionDep
from app.core.pagination import PageDep
from app.extractions import filing, service, supervision
from app.extractions.lifecycle_schemas import (
    CloseIn,
    ReadAllResult,
    ReRequestIn,
    StaffNotificationRead,
    SupervisedRequest,
)
from app.extractions.schemas import RequestRead
from app.notifications import staff
from app.notifications.staff_models import StaffNotification

router = APIRouter(prefix="/api/v1")


@router.post("/requests/{request_id}/close", response_model=RequestRead, tags=["requests"])
def close_request(
    request_id: UUID, body: CloseIn, session: SessionDep, actor: Annotated[Actor, Depends(allow("requests.close"))]
) -> Any:
    """Close a request with its result: `useful`, `not_useful` or `no_footage` (from clip ready, delivered, a
    footage mismatch or a file awaiting conversion)."""
    return service.close(session, actor, request_id, body.result, body.reason)


@router.post("/requests/{request_id}/re-request", response_model=RequestRead, status_code=201, tags=["requests"])
def re_request(
    request_id: UUID, body: ReRequestIn, session: SessionDep, actor: Annotated[Actor, Depends(allow("requests.cancel"))]
) -> Any:
    """After a footage mismatch: withdraw the request and ask the same camera again for the corrected window, in one
    step (the owner gets a new link). Answers the new request."""
    return filing.re_request(session, actor, request_id, body.window_start, body.window_end)


LANG = "Language of `text`; default: the language the user picked for the pages, else Vietnamese."


def _locale(session: Session, actor: Actor, lang: str | None) -> str:
    assert actor.user_id is not None
    return lang or auth.user_locale(session, actor.user_id) or "vi"


def _read(notification: StaffNotification, locale: str) -> StaffNotificationRead:
    return StaffNotificationRead(
        id=notification.id,
        kind=notification.kind,
        request_id=notification.request_id,
        case_id=notification.case_id,
        text=staff.text_of(notification, locale),
        created_at=notification.created_at,
        read_at=notification.read_at,
    )


@router.get("/notifications", response_model=Page[StaffNotificationRead], tags=["notifications"])
def list_notifications(
    session: SessionDep,
    page: PageDep,
    actor: Annotated[Actor, Depends(allow("notifications.read"))],
    unread: Annotated[bool, Query(description="Only the unread ones.")] = False,
    lang: Annotated[str | None, Query(pattern="^(vi|en)$", description=LANG)] = None,
) -> Any:
    """The caller's own notifications, newest first."""
    assert actor.user_id is not None
    locale = _locale(session, actor, lang)
    items, total = staff.list_for(session, actor.user_id, unread_only=unread, limit=page.limit, offset=page.offset)
    return Page[StaffNotificationRead](items=[_read(item, locale) for item in items], total=total)


@router.post("/notifications/read-all", response_model=ReadAllResult, tags=["notifications"])
def read_all(session: SessionDep, actor: Annotated[Actor, Depends(allow("notifications.read"))]) -> Any:
    assert actor.user_id is not None
    return ReadAllResult(marked=staff.mark_all_read(session, actor.user_id))


@router.post("/notifications/{notification_id}/read", response_model=StaffNotificationRead, tags=["notifications"])
def read_one(
    notification_id: UUID,
    session: SessionDep,
    actor: Annotated[Actor, Depends(allow("notifications.read"))],
    lang: Annotated[str | None, Query(pattern="^(vi|en)$", description=LANG)] = None,
) -> Any:
    assert actor.user_id is not None
    return _read(staff.mark_read(session, actor.user_id, notification_id), _locale(session, actor, lang))


@router.get("/supervision/open-requests", response_model=Page[SupervisedRequest], tags=["supervision"])
def open_requests(
    session: SessionDep, page: PageDep, actor: Annotated[Actor, Depends(allow("supervision.read"))]
) -> Any:
    """The unit's open requests: at-risk first, then by overwrite deadline; who waits on whom, and for how long."""
    items, total = supervision.open_requests(session, actor, limit=page.limit, offset=page.offset)
    return Page[SupervisedRequest](items=[SupervisedRequest(**item) for item in items], total=total)
