"""A case's timeline page: every clip on one true-time axis, one lane per camera, the cameras on a map beside it;
clicking an instant shows each camera's frame at that true instant; markers (a note at a true instant on a clip)
are listed and added here. Each clip's player opening is logged (app.footage.viewing)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any
from uuid import UUID
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from app.auth.permissions import Actor
from app.cases import service as cases
from app.core.config import get_settings
from app.core.db import SessionDep
from app.footage import timeline, viewing
from app.reports.names import load_names
from app.web.forms import form_action
from app.web.pages import WebActor, check_csrf, locale_of, render

router = APIRouter(include_in_schema=False)
TICKS = 6


def _render(
    request: Request, session: Session, actor: Actor, case_id: UUID, *, status: int = 200, **extra: Any
) -> Response:
    locale = locale_of(request)
    case = cases.get_case(session, actor, case_id)
    line = timeline.case_timeline(session, actor, case_id, component="web", log_reads=False)
    names = load_names(
        session, cameras={lane.camera.id for lane in line.lanes}, actors={m.created_by for m in line.markers}
    )
    zone = line.lanes[0].camera.timezone if line.lanes else "Asia/Ho_Chi_Minh"
    start = line.start or case.incident_start
    end = line.end or case.incident_end
    span_ms = max(1.0, (end - start).total_seconds() * 1000)

    def at_percent(moment: datetime) -> float:
        return round(100 * (moment - start).total_seconds() * 1000 / span_ms, 3)

    lanes = []
    clip_camera: dict[UUID, str] = {}
    for lane in line.lanes:
        clips = []
        for c in lane.clips:
            player = viewing.open_player(session, actor, "clip", c.clip.id, purpose=timeline.TIMELINE_PURPOSE)
            clip_camera[c.clip.id] = lane.camera.label
            clips.append(
                {
                    "id": c.clip.id,
                    "media_url": player.media_url,
                    "start_ms": int(c.true_start.timestamp() * 1000),
                    "end_ms": int(c.true_end.timestamp() * 1000),
                    "offset_ms": int(round(c.clock_offset_s * 1000)),
                    "fps": c.frame_rate,
                    "first_pts": c.clip.first_pts_s,
                    "left": at_percent(c.true_start),
                    "width": max(0.5, at_percent(c.true_end) - at_percent(c.true_start)),
                    "start": c.true_start,
                    "end": c.true_end,
                }
            )
        lanes.append({"camera": lane.camera, "words": names.camera(lane.camera.id, locale), "clips": clips})
    ticks = [start + timedelta(milliseconds=span_ms * i / (TICKS - 1)) for i in range(TICKS)]
    markers = [
        {
            "at": m.at,
            "at_ms": int(m.at.timestamp() * 1000),
            "left": at_percent(m.at),
            "note": m.note,
            "camera": clip_camera.get(m.clip_id, ""),
            "who": names.actor(m.created_by, locale),
        }
        for m in line.markers
    ]
    settings = get_settings()
    context = {
        "case": case,
        "zone": zone,
        "lanes": lanes,
        "start_ms": int(start.timestamp() * 1000),
        "end_ms": int(end.timestamp() * 1000),
        "ticks": [
            {"at": t, "left": at_percent(t), "clock": t.astimezone(ZoneInfo(zone)).strftime("%H:%M:%S")} for t in ticks
        ],
        "markers": markers,
        "tile_url": settings.map_tile_url,
        "tile_attribution": settings.map_tile_attribution,
        **extra,
    }
    return render(request, "case_timeline.html", context, status)


@router.get("/cases/{case_id}/timeline", response_class=HTMLResponse)
def timeline_page(request: Request, case_id: UUID, session: SessionDep, actor: WebActor) -> Response:
    return _render(request, session, actor, case_id)


@router.post("/cases/{case_id}/markers", response_class=HTMLResponse)
def add_marker(
    request: Request,
    case_id: UUID,
    session: SessionDep,
    actor: WebActor,
    csrf_token: Annotated[str, Form()],
    clip_id: Annotated[str, Form()] = "",
    at_ms: Annotated[str, Form()] = "",
    note: Annotated[str, Form()] = "",
) -> Response:
    """A marker from the page: the instant chosen on the axis (milliseconds, true time) on the chosen clip."""
    check_csrf(request, csrf_token)

    def add() -> Any:
        body = timeline.MarkerIn.model_validate(
            {
                "clip_id": clip_id,
                "at": datetime.fromtimestamp(int(at_ms) / 1000, UTC) if at_ms.isdigit() else None,
                "note": note.strip(),
            }
        )
        return timeline.add_marker(session, actor, case_id, body)

    return form_action(
        session,
        add,
        done=lambda marker: RedirectResponse(
            f"/cases/{case_id}/timeline?at={int(marker.at.timestamp() * 1000)}#marker-form", status_code=303
        ),
        again=lambda error: _render(request, session, actor, case_id, status=422, error=error),
        locale=locale_of(request),
    )
