"""A request's page for its unit: the camera, its owner and address by name, the status refreshing itself, the
history by name, the clips, why a clip is late when it could not be cut; and what the investigator can do next:
cancel, send the owner a new link or show it as a QR code, close, or ask again after footage that missed the
window."""

from __future__ import annotations

from datetime import datetime, timedelta
from io import BytesIO
from typing import Annotated, Any
from uuid import UUID
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from markupsafe import Markup
from sqlalchemy.orm import Session

from app.auth.permissions import Actor, may
from app.core.db import SessionDep
from app.extractions import filing
from app.extractions import service as extractions
from app.extractions.models import ExtractionRequest
from app.extractions.states import CLOSABLE, IN_OWNERS_HANDS, TERMINAL, RequestStatus
from app.footage import clip_failures, previews, viewing
from app.footage import service as footage
from app.notifications import staff
from app.reports.names import load_names, reason_words
from app.web.forms import form_action, local_to_utc
from app.web.pages import WebActor, check_csrf, locale_of, render

router = APIRouter(include_in_schema=False)

POLL_SECONDS = 10


def covered_range(detail: dict[str, Any]) -> tuple[datetime, datetime] | None:
    """What the last file handed over covers, in true time (its first frame to first frame + duration)."""
    for original in reversed(detail["originals"]):
        duration = (original.get("media") or {}).get("duration_s")
        if duration:
            start = original["recording_start_true"]
            return start, start + timedelta(seconds=float(duration))
    return None


def _may_act(actor: Actor, detail: dict[str, Any]) -> bool:
    """The filing unit's investigators act on a request; others (supervisors, auditors) only read it."""
    return may(actor, "requests.cancel") and actor.unit_id == detail["unit_id"]


def _wall(value: datetime | None, zone: str) -> str:
    return value.astimezone(ZoneInfo(zone)).strftime("%H:%M:%S") if value else "—"


def _render_request(
    request: Request, session: Session, actor: Actor, request_id: UUID, *, status: int = 200, **extra: object
) -> Response:
    locale = locale_of(request)
    detail = footage.request_detail(session, actor, request_id)
    names = load_names(
        session,
        cameras={detail["camera_id"]},
        cases={detail["case_id"]},
        actors={step["actor"] for step in detail["history"]},
    )
    zone = detail["camera_timezone"]
    history = [
        {**step, "who": names.actor(step["actor"], locale), "why": reason_words(step.get("reason"), locale)}
        for step in detail["history"]
    ]
    current = RequestStatus(detail["status"])
    clip_problem = None
    if current == RequestStatus.footage_received:
        row = session.get(ExtractionRequest, request_id)  # the detail above checked the reader may see it
        if row is not None and row.clip_failures:
            clip_problem = {
                "kind": row.clip_problem,
                "failures": row.clip_failures,
                "next_try": clip_failures.next_try(row),
            }
    covered = covered_range(detail) if current == RequestStatus.footage_mismatch else None
    context = {
        "req": detail,
        "camera_words": names.camera(detail["camera_id"], locale),
        "camera": names.cameras.get(detail["camera_id"]),
        "case_number": names.cases.get(detail["case_id"], ""),
        "history": history,
        "may_act": _may_act(actor, detail),
        "may_cancel": current not in TERMINAL and current != RequestStatus.closed,
        "may_link": current in IN_OWNERS_HANDS,
        "may_close": current in CLOSABLE,
        "mismatch": current == RequestStatus.footage_mismatch,
        "clip_problem": clip_problem,
        "covered": {"start": _wall(covered[0], zone), "end": _wall(covered[1], zone)} if covered else None,
        "asked": {"start": _wall(detail["window_start"], zone), "end": _wall(detail["window_end"], zone)},
        "window_value": {
            "start": detail["window_start"].astimezone(ZoneInfo(zone)).strftime("%Y-%m-%dT%H:%M:%S"),
            "end": detail["window_end"].astimezone(ZoneInfo(zone)).strftime("%Y-%m-%dT%H:%M:%S"),
        },
        "polling": current not in TERMINAL,
        "poll_seconds": POLL_SECONDS,
        "shown": current.value,
        "changed": False,
        "strips": previews.strips_of(session, [UUID(str(c["id"])) for c in detail["clips"]]),
    }
    return render(request, "request.html", {**context, **extra}, status)


@router.get("/requests/{request_id}", response_class=HTMLResponse)
def request_page(request: Request, request_id: UUID, session: SessionDep, actor: WebActor) -> Response:
    # Opening the request reads what its notifications said: they are marked read (undone with the transaction if the
    # request is out of the reader's scope), and the header's count follows.
    reader = actor.user_id if may(actor, "notifications.read") else None
    if reader is not None and staff.mark_read_for_request(session, reader, request_id):
        request.state.unread_notifications = staff.unread_count(session, reader)
    return _render_request(request, session, actor, request_id)


@router.get("/requests/{request_id}/status", response_class=HTMLResponse)
def request_status(
    request: Request, request_id: UUID, session: SessionDep, actor: WebActor, shown: str = ""
) -> Response:
    """The status line alone, polled by the page (htmx) so the investigator need not reload; says when the status
    moved on from the one the page was drawn with, so the actions shown can be refreshed."""
    req = extractions.get_request(session, actor, request_id)
    context = {
        "req": {"id": req.id, "status": req.status},
        "changed": bool(shown) and shown != req.status,
        "shown": shown or req.status,
        "polling": RequestStatus(req.status) not in TERMINAL,
        "poll_seconds": POLL_SECONDS,
    }
    return render(request, "_request_status.html", context)


@router.post("/requests/{request_id}/cancel", response_class=HTMLResponse)
def cancel(
    request: Request,
    request_id: UUID,
    session: SessionDep,
    actor: WebActor,
    csrf_token: Annotated[str, Form()],
    reason: Annotated[str, Form()] = "",
) -> Response:
    check_csrf(request, csrf_token)
    from app.extractions.schemas import ReasonIn

    return form_action(
        session,
        lambda: extractions.cancel(session, actor, request_id, ReasonIn(reason=reason).reason),
        done=lambda _: RedirectResponse(f"/requests/{request_id}", status_code=303),
        again=lambda error: _render_request(request, session, actor, request_id, error=error),
        locale=locale_of(request),
    )


@router.post("/requests/{request_id}/resend-link", response_class=HTMLResponse)
def resend_link(
    request: Request, request_id: UUID, session: SessionDep, actor: WebActor, csrf_token: Annotated[str, Form()]
) -> Response:
    check_csrf(request, csrf_token)
    return form_action(
        session,
        lambda: filing.resend_link(session, actor, request_id),
        done=lambda _: _render_request(request, session, actor, request_id, notice="link_sent"),
        again=lambda error: _render_request(request, session, actor, request_id, error=error),
        locale=locale_of(request),
    )


def qr_svg(url: str) -> Markup:
    """The link as an inline SVG QR code (error correction M: readable from a phone screen held up to another)."""
    buffer = BytesIO()
    import segno  # only where a QR code is drawn

    segno.make(url, error="m").save(buffer, kind="svg", xmldecl=False, svgns=True, scale=5, border=2, omitsize=True)
    return Markup(buffer.getvalue().decode("ascii"))  # noqa: S704 - segno's own output: no user text in it


@router.post("/requests/{request_id}/qr", response_class=HTMLResponse)
def show_qr(
    request: Request, request_id: UUID, session: SessionDep, actor: WebActor, csrf_token: Annotated[str, Form()]
) -> Response:
    """A new owner link shown as a QR code on this screen only (for owners without email); the display is recorded
    in the custody log and the links sent before stop working."""
    check_csrf(request, csrf_token)
    return form_action(
        session,
        lambda: filing.link_for_display(session, actor, request_id),
        done=lambda shown: _render_request(
            request, session, actor, request_id, qr=qr_svg(shown[1]), qr_expires=shown[2]
        ),
        again=lambda error: _render_request(request, session, actor, request_id, error=error),
        locale=locale_of(request),
    )


@router.post("/requests/{request_id}/close", response_class=HTMLResponse)
def close(
    request: Request,
    request_id: UUID,
    session: SessionDep,
    actor: WebActor,
    csrf_token: Annotated[str, Form()],
    result: Annotated[str, Form()] = "",
    reason: Annotated[str, Form()] = "",
) -> Response:
    check_csrf(request, csrf_token)
    return form_action(
        session,
        lambda: extractions.close(session, actor, request_id, result, reason.strip() or None),
        done=lambda _: RedirectResponse(f"/requests/{request_id}", status_code=303),
        again=lambda error: _render_request(request, session, actor, request_id, error=error),
        locale=locale_of(request),
    )


@router.post("/requests/{request_id}/re-request", response_class=HTMLResponse)
def re_request(
    request: Request,
    request_id: UUID,
    session: SessionDep,
    actor: WebActor,
    csrf_token: Annotated[str, Form()],
    window_start: Annotated[str, Form()],
    window_end: Annotated[str, Form()],
) -> Response:
    check_csrf(request, csrf_token)
    req = extractions.get_request(session, actor, request_id)
    zone = req.camera_timezone
    return form_action(
        session,
        lambda: filing.re_request(
            session, actor, request_id, local_to_utc(window_start, zone), local_to_utc(window_end, zone)
        ),
        done=lambda filed: RedirectResponse(f"/requests/{filed.id}", status_code=303),
        again=lambda error: _render_request(request, session, actor, request_id, error=error),
        locale=locale_of(request),
    )


@router.post("/clips/{clip_id}/download")
def download_clip(
    request: Request,
    clip_id: UUID,
    session: SessionDep,
    actor: WebActor,
    csrf_token: Annotated[str, Form()],
    purpose: Annotated[str, Form()],
) -> Response:
    check_csrf(request, csrf_token)
    link = viewing.issue_link(session, actor, "clip", clip_id, purpose, None)
    return RedirectResponse(str(link["url"]), status_code=303)
