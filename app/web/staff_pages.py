"""Staff pages of the request loop: the signed-in person's notifications (read, mark read) and the supervisor's
view of the unit's open requests. Both call the same services as the API."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from app.auth.permissions import ensure_role
from app.core.db import SessionDep
from app.extractions import supervision
from app.notifications import staff
from app.web.pages import WebActor, check_csrf, locale_of, render

router = APIRouter(include_in_schema=False)
PAGE = 50


@router.get("/notifications", response_class=HTMLResponse)
def notifications_page(request: Request, session: SessionDep, actor: WebActor, offset: int = 0) -> Response:
    ensure_role(actor, "notifications.read")
    assert actor.user_id is not None
    locale = locale_of(request)
    items, total = staff.list_for(session, actor.user_id, unread_only=False, limit=PAGE, offset=max(offset, 0))
    rows = [{"item": item, "text": staff.text_of(item, locale)} for item in items]
    return render(
        request, "notifications.html", {"rows": rows, "total": total, "offset": max(offset, 0), "page_size": PAGE}
    )


@router.post("/notifications/read-all")
def read_all(request: Request, session: SessionDep, actor: WebActor, csrf_token: Annotated[str, Form()]) -> Response:
    check_csrf(request, csrf_token)
    ensure_role(actor, "notifications.read")
    assert actor.user_id is not None
    staff.mark_all_read(session, actor.user_id)
    return RedirectResponse("/notifications", status_code=303)


@router.post("/notifications/{notification_id}/read")
def read_one(
    request: Request,
    notification_id: UUID,
    session: SessionDep,
    actor: WebActor,
    csrf_token: Annotated[str, Form()],
    open_request: Annotated[str, Form()] = "",
) -> Response:
    """Mark one notification read; with `open_request`, go on to its request's page."""
    check_csrf(request, csrf_token)
    ensure_role(actor, "notifications.read")
    assert actor.user_id is not None
    notification = staff.mark_read(session, actor.user_id, notification_id)
    if open_request and notification.request_id is not None:
        return RedirectResponse(f"/requests/{notification.request_id}", status_code=303)
    return RedirectResponse("/notifications", status_code=303)


@router.get("/supervisor", response_class=HTMLResponse)
def supervisor_page(request: Request, session: SessionDep, actor: WebActor, offset: int = 0) -> Response:
    items, total = supervision.open_requests(session, actor, limit=PAGE, offset=max(offset, 0))
    at_risk = sum(1 for item in items if item["at_risk"])
    return render(
        request,
        "supervisor.html",
        {"rows": items, "total": total, "at_risk_count": at_risk, "offset": max(offset, 0), "page_size": PAGE},
    )
