"""Pages for camera owners with an account: the requests for my cameras, answering them, uploading the export.

They reuse the link page's answers (the same extraction services) and the API's upload (the same ingest flow,
streamed); the browser signs in with the session cookie, so the upload carries the CSRF token in a header.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any
from uuid import UUID
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from app.auth.permissions import Actor, may, record_denial
from app.core.db import SessionDep, write_session
from app.core.errors import Forbidden
from app.core.idempotency import IdempotencyKey
from app.extractions import listing
from app.extractions import service as extractions
from app.extractions.schemas import ApproveIn
from app.footage import ingest_flow
from app.footage.router import UploadHeadersDep
from app.footage.schemas import OriginalReceived
from app.registry import service as registry
from app.reports.names import reason_words
from app.web import i18n
from app.web.forms import FormError, form_action, local_to_utc, stated_reason
from app.web.owner import export_context, owner_context
from app.web.pages import WebActor, check_csrf, locale_of, render

router = APIRouter(include_in_schema=False)

WAITING_FOR_ANSWER = ("submitted",)
WAITING_FOR_UPLOAD = ("approved", "partially_approved", "footage_mismatch")


def owner_actor(request: Request, actor: WebActor) -> Actor:
    """Owner pages open only for an owner account linked to an owner record (403 for other roles, logged)."""
    if not may(actor, "owner.pages") or actor.owner_id is None:
        record_denial(request, actor, "owner.pages")
        raise Forbidden("These pages are for camera owners with an account.")
    return actor


OwnerActor = Annotated[Actor, Depends(owner_actor)]


def page_gettext(request: Request) -> Callable[[str], str]:
    """The request's locale's gettext, for messages composed in Python (extracted by `make i18n`)."""
    return i18n.translations(locale_of(request)).gettext


def local_field(value: str, tz_name: str, label: str, gettext: Callable[[str], str]) -> datetime:
    try:
        return local_to_utc(value, tz_name)
    except ValueError as exc:
        hint = gettext("enter a date and time")
        raise FormError(f"{label}: {hint}") from exc


@router.get("/owner/requests", response_class=HTMLResponse)
def my_requests(request: Request, session: SessionDep, actor: OwnerActor) -> Response:
    items, _ = listing.list_requests_in(session, actor, limit=500, offset=0)
    cameras, _ = registry.list_cameras(session, actor, limit=500, offset=0)
    return render(
        request,
        "owner_requests.html",
        {
            "waiting": [r for r in items if r.status in WAITING_FOR_ANSWER],
            "to_upload": [r for r in items if r.status in WAITING_FOR_UPLOAD],
            "answered": [r for r in items if r.status not in WAITING_FOR_ANSWER + WAITING_FOR_UPLOAD],
            "camera_labels": {c.id: c.label for c in cameras},
        },
    )


def _render_request(
    request: Request, session: Session, actor: Actor, request_id: UUID, *, status: int = 200, **extra: Any
) -> Response:
    locale = locale_of(request)
    context = owner_context(session, request, request_id, actor) | {
        "to_local": _datetime_local_value,
        "why": lambda reason: history_reason(reason, locale),
    }
    # an export in several files, as on the link page: what the server holds, and the files' order once whole
    context |= export_context(session, request_id, context["req"])
    return render(request, "owner_request.html", {**context, **extra}, status)


EXPORT_COMPLETE = re.compile(r"export complete: (\d+) files?\b")  # the reason segments.complete records
CUT = re.compile(r"\bcut by stream copy\b")  # the clip job's reasons (footage/cutting.py)


def history_reason(reason: str | None, locale: str) -> str:
    """A step's reason as the owner reads it: the system's own reasons in the page's language and without ids
    (the export's order is worded on the page), a person's as written."""
    whole = EXPORT_COMPLETE.match(reason or "")
    if whole:
        gettext = i18n.translations(locale).gettext
        return str(gettext("all %(n)s files of the recording handed over")) % {"n": whole.group(1)}
    if CUT.search(reason or ""):  # how the clip was joined is for the police's record, not the owner
        return reason_words("clip cut by stream copy", locale)
    return reason_words(reason, locale)


def _datetime_local_value(value: datetime, tz_name: str) -> str:
    """A time as a datetime-local field shows it, in the camera's zone."""
    return value.astimezone(ZoneInfo(tz_name)).strftime("%Y-%m-%dT%H:%M:%S")


@router.get("/owner/requests/{request_id}", response_class=HTMLResponse)
def my_request(request: Request, request_id: UUID, session: SessionDep, actor: OwnerActor) -> Response:
    return _render_request(request, session, actor, request_id)


@router.post("/owner/requests/{request_id}/approve", response_class=HTMLResponse)
def approve(
    request: Request,
    request_id: UUID,
    session: SessionDep,
    actor: OwnerActor,
    csrf_token: Annotated[str | None, Form()] = None,
    approved_start: Annotated[str | None, Form()] = None,
    approved_end: Annotated[str | None, Form()] = None,
    reason: Annotated[str | None, Form()] = None,
) -> Response:
    """Approve the whole window (no times given) or the part between the two camera-local times."""
    check_csrf(request, csrf_token)
    gettext = page_gettext(request)

    def answer() -> None:
        tz = extractions.get_request(session, actor, request_id).camera_timezone
        body = ApproveIn(
            reason=reason or None,
            approved_start=local_field(approved_start, tz, gettext("From"), gettext) if approved_start else None,
            approved_end=local_field(approved_end, tz, gettext("To"), gettext) if approved_end else None,
        )
        extractions.approve(session, actor, request_id, body)

    form = {"approved_start": approved_start, "approved_end": approved_end, "reason": reason}
    return form_action(
        session,
        answer,
        done=lambda _: RedirectResponse(f"/owner/requests/{request_id}", status_code=303),
        again=lambda error: _render_request(request, session, actor, request_id, error=error, form=form),
    )


@router.post("/owner/requests/{request_id}/deny", response_class=HTMLResponse)
def deny(
    request: Request,
    request_id: UUID,
    session: SessionDep,
    actor: OwnerActor,
    csrf_token: Annotated[str | None, Form()] = None,
    reason: Annotated[str, Form()] = "",
) -> Response:
    check_csrf(request, csrf_token)
    refusal = page_gettext(request)("Reason: please say briefly why you refuse (at least 3 characters).")
    form = {"deny_reason": reason}
    return form_action(
        session,
        lambda: extractions.deny(session, actor, request_id, stated_reason(reason, refusal)),
        done=lambda _: RedirectResponse(f"/owner/requests/{request_id}", status_code=303),
        again=lambda error: _render_request(request, session, actor, request_id, error=error, form=form),
    )


def upload_csrf(request: Request) -> None:
    """The upload's CSRF token, from its X-CSRF-Token header: checked before a byte of the body is read."""
    check_csrf(request, None)


@router.put("/owner/requests/{request_id}/original", response_model=OriginalReceived, status_code=201)
async def upload_original(
    request_id: UUID,
    request: Request,
    session: SessionDep,
    actor: OwnerActor,
    _: Annotated[None, Depends(upload_csrf)],
    headers: UploadHeadersDep,
    idempotency_key: IdempotencyKey = None,
) -> Any:
    """The page's upload: the API's streamed ingest behind the session cookie and the X-CSRF-Token header."""
    session.close()  # the upload may take long: hold no database connection meanwhile
    return await ingest_flow.receive_original(
        write_session, actor, request_id, request.stream(), headers, idempotency_key
    )
