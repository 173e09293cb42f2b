"""The player: an original or clip played in the browser from a logged evidence link, with frame stepping and
the true time of the current frame beside the recorder's time. Opening the page and starting playback are each
written to the custody log (app.footage.viewing)."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from app.appeals.models import Submission
from app.auth.permissions import Actor, may
from app.core.db import SessionDep
from app.extractions import service as extractions
from app.footage import previews, redaction, viewing
from app.footage.models import Clip, Original
from app.reports.names import DEFAULT_ZONE, load_names
from app.web.pages import WebActor, check_csrf, locale_of, render

router = APIRouter(include_in_schema=False)


def _where_from(
    request: Request, session: Session, actor: Actor, player: viewing.Player
) -> tuple[str, str, str, str, UUID | None]:
    """Where the footage came from in words, the zone its times are shown in, and the page to go back to (its
    address and words): a request's camera and page, or for an appeal's original or clip the appeal's sender and
    the appeal's page."""
    locale = locale_of(request)
    if player.request_id is not None:
        req = extractions.get_request(session, actor, player.request_id)
        names = load_names(session, cameras={req.camera_id})
        back = f"{'/owner/requests/' if may(actor, 'owner.pages') else '/requests/'}{req.id}"
        return names.camera(req.camera_id, locale), req.camera_timezone, back, "Back to the request", req.case_id
    item = player.item
    original = item if isinstance(item, Original) else session.get(Original, item.original_id)
    assert original is not None and original.appeal_submission_id is not None
    submission = session.get(Submission, original.appeal_submission_id)
    assert submission is not None
    names = load_names(session, originals={original.id})
    footage = names.originals.get(original.id)
    words = names.source(footage, locale) if footage is not None else ""
    return words, DEFAULT_ZONE, f"/appeals/{submission.appeal_id}", "Back to the appeal", player.case_id


def _render(request: Request, session: Session, actor: Actor, kind: viewing.Kind, object_id: UUID) -> Response:
    player = viewing.open_player(session, actor, kind, object_id)
    source, zone, back_url, back_words, case_id = _where_from(request, session, actor, player)
    names = load_names(session, cases={case_id} if case_id else set())
    item = player.item
    context: dict[str, Any] = {
        "player": player,
        "kind": kind,
        "item": item,
        "zone": zone,
        "camera_words": source,
        "from_appeal": player.request_id is None,
        "case_id": case_id,
        "case_number": names.cases.get(case_id, "") if case_id else "",
        "back_url": back_url,
        "back_words": back_words,
        "true_start_ms": int(player.true_start.timestamp() * 1000),
        "first_pts": player.first_pts_s,
        "offset_ms": int(round(player.clock_offset_s * 1000)),
        "is_clip": isinstance(item, Clip),
        "redactions": redaction.of_clip(session, actor, item.id)
        if isinstance(item, Clip) and may(actor, "redactions.read")
        else [],
        "poster": None,
        "strip": [],
    }
    if isinstance(item, Clip):
        made = previews.of_clip(session, item.id)
        context["poster"] = next((p for p in made if p.kind == "poster"), None)
        context["strip"] = [(p, item.actual_start + timedelta(seconds=p.at_s)) for p in made if p.kind == "thumb"]
    return render(request, "player.html", context)


@router.get("/clips/{clip_id}/play", response_class=HTMLResponse)
def play_clip(request: Request, clip_id: UUID, session: SessionDep, actor: WebActor) -> Response:
    return _render(request, session, actor, "clip", clip_id)


@router.get("/originals/{original_id}/play", response_class=HTMLResponse)
def play_original(request: Request, original_id: UUID, session: SessionDep, actor: WebActor) -> Response:
    return _render(request, session, actor, "original", original_id)


@router.post("/originals/{original_id}/download")
def download_original(
    request: Request,
    original_id: UUID,
    session: SessionDep,
    actor: WebActor,
    csrf_token: Annotated[str, Form()],
    purpose: Annotated[str, Form()],
) -> Response:
    """The original itself (never its playback copy), by a logged link to its exact version."""
    check_csrf(request, csrf_token)
    link = viewing.issue_link(session, actor, "original", original_id, purpose, None)
    return RedirectResponse(str(link["url"]), status_code=303)


@router.post("/clips/{clip_id}/played", status_code=204)
def clip_played(request: Request, clip_id: UUID, session: SessionDep, actor: WebActor) -> Response:
    """The player's report that playback started (sent once per page, CSRF header as htmx sends it)."""
    check_csrf(request, None)
    viewing.playback_started(session, actor, "clip", clip_id)
    return Response(status_code=204)


@router.post("/originals/{original_id}/played", status_code=204)
def original_played(request: Request, original_id: UUID, session: SessionDep, actor: WebActor) -> Response:
    check_csrf(request, None)
    viewing.playback_started(session, actor, "original", original_id)
    return Response(status_code=204)


@router.get("/previews/{preview_id}.jpg")
def preview_image(preview_id: UUID, session: SessionDep, actor: WebActor) -> Response:
    """A clip's poster or strip thumbnail, to those who may play the clip (read from its exact stored version)."""
    preview = previews.visible(session, actor, preview_id)
    return Response(
        previews.image_bytes(preview),
        media_type="image/jpeg",
        headers={"Cache-Control": "private, max-age=3600", "ETag": f'"{preview.sha256}"'},
    )
