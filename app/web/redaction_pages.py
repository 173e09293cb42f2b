"""The redaction review: from a clip's player, a redacted copy is begun (blur or solid boxes); its page shows the
clip with the detected and hand-drawn boxes over it, moved linearly between keyframes exactly as the service
renders them, lets the reviewer add, move, resize and delete boxes (mouse or touch), saves them, renders the copy
with its progress, and plays and downloads the result. Every handler calls the same service entry as the API
(app.footage.redaction), so the rules and the custody events cannot differ."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from app.core.db import SessionDep
from app.core.errors import RuleViolation
from app.extractions import service as extractions
from app.footage import redaction, viewing
from app.footage.redaction import BoxesIn, RedactionCreate
from app.reports.names import load_names
from app.web.pages import WebActor, check_csrf, locale_of, render

router = APIRouter(include_in_schema=False)


def _status(item: Any) -> dict[str, Any]:
    """What the page polls: the state and progress, never the record's ids."""
    return {"status": item.status, "progress": round(float(item.progress or 0.0), 3), "failed": bool(item.failure)}


@router.post("/clips/{clip_id}/redactions")
def begin(
    request: Request,
    clip_id: UUID,
    session: SessionDep,
    actor: WebActor,
    csrf_token: Annotated[str, Form()] = "",
    style: Annotated[str, Form()] = "blur",
) -> Response:
    """The player's "make a redacted copy": the redaction begins and its review page opens."""
    check_csrf(request, csrf_token)
    if style not in redaction.STYLES:
        raise RuleViolation("style", "choose blur or a solid box")
    item = redaction.create(session, actor, clip_id, RedactionCreate.model_validate({"style": style}))
    return RedirectResponse(f"/redactions/{item.id}", status_code=303)


@router.get("/redactions/{redaction_id}", response_class=HTMLResponse)
def review(request: Request, redaction_id: UUID, session: SessionDep, actor: WebActor) -> Response:
    item = redaction.get(session, actor, redaction_id)
    player = viewing.open_player(session, actor, "clip", item.clip_id, purpose="redaction review")
    assert player.request_id is not None  # a redaction's clip is a request's (app.footage.redaction.create)
    req = extractions.get_request(session, actor, player.request_id)
    names = load_names(session, cameras={req.camera_id}, cases={req.case_id})
    step = int(item.detector.get("parameters", {}).get("sample_every_frames") or 1)
    context: dict[str, Any] = {
        "item": item,
        "player": player,
        "req": req,
        "clip": player.item,
        "zone": req.camera_timezone,
        "camera_words": names.camera(req.camera_id, locale_of(request)),
        "case_number": names.cases.get(req.case_id, ""),
        "true_start_ms": int(player.true_start.timestamp() * 1000),
        "first_pts": player.first_pts_s,
        "hold_s": step / item.frame_rate if item.frame_rate else 0.0,
        "editable": item.status == "review",
        "gave_up": item.failure == redaction.GAVE_UP,
        "auto_tracks": sum(1 for t in item.tracks if t.get("source") == "auto"),
        "manual_tracks": sum(1 for t in item.tracks if t.get("source") == "manual"),
        "review_data": {"tracks": item.tracks, "status": _status(item)},
    }
    return render(request, "redaction.html", context)


@router.get("/redactions/{redaction_id}/status")
def status(redaction_id: UUID, session: SessionDep, actor: WebActor) -> dict[str, Any]:
    """The page's poll while detection or rendering runs (the state only; not logged as a read of the record)."""
    return _status(redaction.get(session, actor, redaction_id, log_read=False))


@router.put("/redactions/{redaction_id}/boxes")
def save(request: Request, redaction_id: UUID, body: BoxesIn, session: SessionDep, actor: WebActor) -> Response:
    """The review's boxes, saved through the API's own rules (CSRF header as the page's script sends it)."""
    check_csrf(request, None)
    item = redaction.save_boxes(session, actor, redaction_id, body)
    return JSONResponse({**_status(item), "tracks": item.tracks})


@router.post("/redactions/{redaction_id}/render")
def start_render(request: Request, redaction_id: UUID, session: SessionDep, actor: WebActor) -> Response:
    check_csrf(request, None)
    item = redaction.request_render(session, actor, redaction_id)
    return JSONResponse(_status(item), status_code=202)


@router.get("/redactions/{redaction_id}/copy")
def copy(redaction_id: UUID, session: SessionDep, actor: WebActor) -> Response:
    """The redacted copy, to play or download: the fetch is logged, then a short-lived link to its exact version."""
    url = redaction.fetch(session, actor, redaction_id)
    return RedirectResponse(url, status_code=302)
