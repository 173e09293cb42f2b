"""Investigator and supervisor pages: cases, a case with its map and requests, a request with its clips."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from app.auth.permissions import Actor
from app.cases import service as cases
from app.cases.schemas import CaseCreate
from app.core.config import get_settings
from app.core.db import SessionDep
from app.extractions import filing, listing
from app.extractions.schemas import AreaRequestCreate, RequestCreate
from app.footage import service as footage
from app.registry import service as registry
from app.web.forms import DEFAULT_TZ, form_action, local_to_utc
from app.web.pages import WebActor, check_csrf, render

router = APIRouter(include_in_schema=False)


@router.get("/cases", response_class=HTMLResponse)
def case_list(request: Request, session: SessionDep, actor: WebActor) -> Response:
    items, total = cases.list_cases(session, actor, limit=200, offset=0)
    return render(request, "cases.html", {"cases": items, "total": total})


@router.post("/cases", response_class=HTMLResponse)
def case_create(
    request: Request,
    session: SessionDep,
    actor: WebActor,
    csrf_token: Annotated[str, Form()],
    number: Annotated[str, Form()],
    title: Annotated[str, Form()],
    offence: Annotated[str, Form()],
    incident_lat: Annotated[str, Form()],
    incident_lon: Annotated[str, Form()],
    incident_start: Annotated[str, Form()],
    incident_end: Annotated[str, Form()],
) -> Response:
    check_csrf(request, csrf_token)

    def again(error: str) -> Response:
        items, total = cases.list_cases(session, actor, limit=200, offset=0)
        submitted = {
            "number": number,
            "title": title,
            "offence": offence,
            "incident_lat": incident_lat,
            "incident_lon": incident_lon,
            "incident_start": incident_start,
            "incident_end": incident_end,
        }
        return render(request, "cases.html", {"cases": items, "total": total, "error": error, "form": submitted})

    return form_action(
        session,
        lambda: cases.create_case(
            session,
            actor,
            CaseCreate(
                number=number,
                title=title,
                offence=offence,
                incident_lat=incident_lat,
                incident_lon=incident_lon,
                incident_start=local_to_utc(incident_start),
                incident_end=local_to_utc(incident_end),
            ),
        ),
        done=lambda case: RedirectResponse(f"/cases/{case.id}", status_code=303),
        again=again,
    )


def _render_case(
    request: Request, session: Session, actor: Actor, case_id: UUID, *, status: int = 200, **extra: object
) -> Response:
    """The case page: the case, its requests, the map settings, and whatever the last action left to show."""
    case = cases.get_case(session, actor, case_id)
    requests, _ = listing.list_requests_in(session, actor, limit=500, offset=0, case_id=case.id)
    context = {
        "case": case,
        "requests": requests,
        "tz": ZoneInfo(DEFAULT_TZ),
        "tile_url": get_settings().map_tile_url,
        "tile_attribution": get_settings().map_tile_attribution,
    }
    return render(request, "case.html", {**context, **extra}, status)


@router.get("/cases/{case_id}", response_class=HTMLResponse)
def case_page(request: Request, case_id: UUID, session: SessionDep, actor: WebActor) -> Response:
    return _render_case(request, session, actor, case_id)


@router.post("/cases/{case_id}/requests", response_class=HTMLResponse)
def file_request(
    request: Request,
    case_id: UUID,
    session: SessionDep,
    actor: WebActor,
    csrf_token: Annotated[str, Form()],
    camera_id: Annotated[str, Form()],
    window_start: Annotated[str, Form()],
    window_end: Annotated[str, Form()],
    purpose: Annotated[str, Form()],
    legal_basis: Annotated[str, Form()],
) -> Response:
    check_csrf(request, csrf_token)
    return form_action(
        session,
        lambda: filing.file_request(
            session,
            actor,
            case_id,
            RequestCreate(
                camera_id=camera_id,
                window_start=local_to_utc(window_start),
                window_end=local_to_utc(window_end),
                purpose=purpose,
                legal_basis=legal_basis,
            ),
        ),
        done=lambda filed: RedirectResponse(f"/requests/{filed.id}", status_code=303),
        again=lambda error: _render_case(request, session, actor, case_id, error=error),
    )


@router.post("/cases/{case_id}/area-requests", response_class=HTMLResponse)
def file_area_request(
    request: Request,
    case_id: UUID,
    session: SessionDep,
    actor: WebActor,
    csrf_token: Annotated[str, Form()],
    lat: Annotated[str, Form()],
    lon: Annotated[str, Form()],
    radius_m: Annotated[str, Form()],
    window_start: Annotated[str, Form()],
    window_end: Annotated[str, Form()],
    purpose: Annotated[str, Form()],
    legal_basis: Annotated[str, Form()],
) -> Response:
    check_csrf(request, csrf_token)
    return form_action(
        session,
        lambda: filing.file_area_request(
            session,
            actor,
            case_id,
            AreaRequestCreate(
                lat=lat,
                lon=lon,
                radius_m=radius_m,
                window_start=local_to_utc(window_start),
                window_end=local_to_utc(window_end),
                purpose=purpose,
                legal_basis=legal_basis,
            ),
        ),
        done=lambda result: _render_case(request, session, actor, case_id, area_result=result),
        again=lambda error: _render_case(request, session, actor, case_id, error=error),
    )


@router.get("/cases/{case_id}/cameras.json")
def case_cameras(case_id: UUID, session: SessionDep, actor: WebActor) -> JSONResponse:
    """Cameras within 500 m of the incident for the case map, soonest overwrite first."""
    case = cases.get_case(session, actor, case_id)
    hits, total = registry.search_for(
        session, actor, case.incident_lat, case.incident_lon, 500, case.incident_start, 300, 0
    )
    items = [
        {
            "id": str(h["id"]),
            "label": h["label"],
            "lat": h["lat"],
            "lon": h["lon"],
            "consent": h["consent"],
            "covers_point": h["covers_point"],
            "overwritten": h["overwritten"],
            "overwrite_deadline": h["overwrite_deadline"].isoformat(),
            "overwrite_deadline_local": h["overwrite_deadline"]
            .astimezone(ZoneInfo(h["timezone"]))
            .strftime("%d/%m/%Y %H:%M")
            + f" ({h['timezone']})",
            "distance_m": h["distance_m"],
        }
        for h in hits
    ]
    return JSONResponse({"items": items, "total": total})


@router.get("/requests/{request_id}", response_class=HTMLResponse)
def request_page(request: Request, request_id: UUID, session: SessionDep, actor: WebActor) -> Response:
    detail = footage.request_detail(session, actor, request_id)
    return render(request, "request.html", {"req": detail})


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
    link = footage.download_link(session, actor, "clip", clip_id, purpose, None)
    return RedirectResponse(str(link["url"]), status_code=303)
