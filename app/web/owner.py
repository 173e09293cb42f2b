"""Owner pages: the one-time link page (no account, phone-first) for answering and uploading.

The link page never dead-ends: while the request is in the owner's hands it offers the answer or the upload; once
answered (refused, or the footage arrived) it keeps showing, read-only until the link expires, what was asked, what
the owner answered and when, and what became of it — with whom to call. A dead link (unknown, expired, withdrawn)
is a 404 page saying so in plain words."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from app.auth.links import LinkViewer
from app.auth.models import OwnerLink
from app.auth.permissions import Actor
from app.core import clock
from app.core.db import SessionDep
from app.extractions import service as extractions
from app.extractions.owner_view import owner_facing
from app.extractions.schemas import ApproveIn
from app.extractions.states import IN_OWNERS_HANDS, RequestStatus
from app.footage import segments, uploads
from app.footage import service as footage
from app.footage.clock_checks import latest_check
from app.notifications.wording import HOME_ZONE, moment_text, utc_offset, window_text
from app.reports.names import size_words
from app.web import i18n
from app.web.forms import form_action, local_to_utc, stated_reason
from app.web.pages import locale_of, render

router = APIRouter(include_in_schema=False)


def owner_context(session: Session, request: Request, request_id: Any, actor: Actor) -> dict[str, Any]:
    """What the owner pages (link and account) show of a request: the detail, the request as its owner reads it,
    and times worded to the second with the zone named in the reader's language."""
    detail = footage.request_detail(session, actor, request_id)
    facing = owner_facing(session, extractions.get_request(session, actor, request_id))
    gettext = i18n.translations(locale_of(request)).gettext
    zone = str(gettext("Vietnam time")) if facing.timezone == HOME_ZONE else facing.timezone

    def window(start: datetime | None, end: datetime | None) -> str:
        return window_text(start, end, facing.timezone, zone)

    def moment(value: datetime | None) -> str:
        return moment_text(value, facing.timezone, zone)

    received = [o["received_at"] for o in detail["originals"]]
    return {
        "req": detail,
        "facing": facing,
        "win": window,
        "at": moment,
        "size": lambda n: size_words(n, locale_of(request)),
        "arrived_at": max(received) if received else None,
        "live": RequestStatus(facing.status) in IN_OWNERS_HANDS,
        # the zone as the page's times name it, for times the page's script writes (the export's order)
        "zone_note": f"({zone}, {utc_offset(clock.now(), facing.timezone)})",
        "tel": lambda phone: "".join(c for c in phone if c.isdigit() or c == "+"),
    }


def _moment(value: Any) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(str(value))


def _seconds(value: float) -> str:
    return f"{value:g}"


def export_order(detail: dict[str, Any]) -> dict[str, list[tuple[Any, ...]]] | None:
    """An export in several files on the true timeline, as the page words it: (name, start, end) per file, and
    (seconds, file before, file after, start, end) per gap and overlap; None for a single file."""
    export = detail.get("export")
    if not export or len(export["files"]) < 2:
        return None
    names = {str(o["id"]): o["filename"] for o in detail["originals"]}

    def junctions(key: str) -> list[tuple[Any, ...]]:
        return [
            (
                _seconds(j["seconds"]),
                names.get(str(j["before_original_id"]), ""),
                names.get(str(j["after_original_id"]), ""),
                _moment(j["start"]),
                _moment(j["end"]),
            )
            for j in export[key]
        ]

    return {
        "files": [
            (names.get(str(f["original_id"]), ""), _moment(f["start"]), _moment(f["end"])) for f in export["files"]
        ],
        "gaps": junctions("gaps"),
        "overlaps": junctions("overlaps"),
    }


def export_context(session: Session, request_id: UUID, detail: dict[str, Any]) -> dict[str, Any]:
    """An export in several files, for the upload form of the owner pages (link and account): the files already
    received and the uploads begun, as the server knows them, and the files' order once the export is whole."""
    return {
        "export_parts": segments.waiting_export(session, request_id, detail["status"]),
        "unfinished": [u for u in uploads.unfinished(session, request_id) if u.offset < u.length],
        "export_order": export_order(detail),
    }


def _page(request: Request, session: SessionDep, actor: Actor, token: str, **extra: object) -> Response:
    assert actor.link_request_id is not None
    link = session.get(OwnerLink, actor.link_id)
    context = owner_context(session, request, actor.link_request_id, actor)
    context |= {"token": token, "link_expires_at": link.expires_at if link else None}
    # the clock step: the latest reading, and true time for the page's ticking clock
    context |= {"latest_clock_check": latest_check(session, actor.link_request_id), "server_now": clock.now()}
    context |= export_context(session, actor.link_request_id, context["req"])
    return render(request, "respond.html", {**context, **extra}, status=422 if "error" in extra else 200)


def _answered(session: Session, actor: Actor) -> bool:
    """The request has left the owner's hands (the link only reads now): a repeated answer shows the outcome."""
    assert actor.link_request_id is not None
    status = extractions.get_request(session, actor, actor.link_request_id).status
    return RequestStatus(status) not in IN_OWNERS_HANDS


@router.get("/respond/{token}", response_class=HTMLResponse)
def respond_page(request: Request, token: str, session: SessionDep, actor: LinkViewer) -> Response:
    return _page(request, session, actor, token)


def _act(request: Request, token: str, session: SessionDep, actor: Actor, action: Callable[[], object]) -> Response:
    if _answered(session, actor):
        return RedirectResponse(f"/respond/{token}", status_code=303)
    return form_action(
        session,
        action,
        done=lambda _: RedirectResponse(f"/respond/{token}", status_code=303),
        again=lambda error: _page(request, session, actor, token, error=error),
    )


@router.post("/respond/{token}/approve", response_class=HTMLResponse)
def respond_approve(
    request: Request,
    token: str,
    session: SessionDep,
    actor: LinkViewer,
    approved_start: Annotated[str | None, Form()] = None,
    approved_end: Annotated[str | None, Form()] = None,
    reason: Annotated[str | None, Form()] = None,
) -> Response:
    request_id = actor.link_request_id
    assert request_id is not None

    def approve() -> None:
        tz = extractions.get_request(session, actor, request_id).camera_timezone
        body = ApproveIn(
            reason=reason or None,
            approved_start=local_to_utc(approved_start, tz) if approved_start else None,
            approved_end=local_to_utc(approved_end, tz) if approved_end else None,
        )
        extractions.approve(session, actor, request_id, body)

    return _act(request, token, session, actor, approve)


@router.post("/respond/{token}/deny", response_class=HTMLResponse)
def respond_deny(
    request: Request, token: str, session: SessionDep, actor: LinkViewer, reason: Annotated[str, Form()] = ""
) -> Response:
    request_id = actor.link_request_id
    assert request_id is not None
    refusal = i18n.translations(locale_of(request)).gettext(
        "Reason: please say briefly why you refuse (at least 3 characters)."
    )
    return _act(
        request,
        token,
        session,
        actor,
        lambda: extractions.deny(session, actor, request_id, stated_reason(reason, refusal)),
    )
