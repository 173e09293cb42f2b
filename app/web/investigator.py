"""Investigator and supervisor pages: the home dashboard, cases, a case with its map, its nearby cameras and its
requests. A request's own page and its actions are app/web/investigator_requests.py."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any
from uuid import UUID
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from app.auth.permissions import Actor
from app.cases import service as cases
from app.cases.schemas import CaseCreate
from app.core import clock
from app.core.config import get_settings
from app.core.db import SessionDep
from app.extractions import filing, listing
from app.extractions import owners_to_call as calling
from app.extractions.schemas import AreaRequestCreate, RequestCreate
from app.extractions.states import ACTIVE, RequestStatus
from app.registry import districts
from app.registry import service as registry
from app.reports.names import Names, load_names
from app.web.forms import DEFAULT_TZ, decimal, form_action, lat_lon, local_to_utc
from app.web.i18n import translations
from app.web.messages import skip_reason
from app.web.pages import WebActor, check_csrf, locale_of, render

router = APIRouter(include_in_schema=False)

CAMERA_PAGE = 20  # cameras listed per page on the case page
MAP_RADIUS_M = 500
MAP_LIMIT_MAX = 1000
AT_RISK = timedelta(hours=48)
DASHBOARD_PER_STATUS = 100


def _(locale: str, message: str) -> str:
    return str(translations(locale).gettext(message))


# -- home ------------------------------------------------------------------------------------------
def dashboard(session: Session, actor: Actor) -> dict[str, Any]:
    """The unit's open requests, at-risk first (unanswered, the recorder overwriting within 48 h), then by
    overwrite deadline; with the case number and camera name of each."""
    rows: list[Any] = []
    more = 0
    for status in sorted(ACTIVE):
        items, total = listing.list_requests_in(
            session, actor, limit=DASHBOARD_PER_STATUS, offset=0, status=RequestStatus(status)
        )
        rows += items
        more += max(total - len(items), 0)
    now = clock.now()

    def at_risk(row: Any) -> bool:
        return bool(row.status == RequestStatus.submitted.value and row.overwrite_deadline - now <= AT_RISK)

    rows.sort(key=lambda r: (not at_risk(r), r.overwrite_deadline))
    names = load_names(session, cameras={r.camera_id for r in rows}, cases={r.case_id for r in rows})
    return {
        "open_requests": [{"row": r, "at_risk": at_risk(r)} for r in rows],
        "at_risk_count": sum(1 for r in rows if at_risk(r)),
        "more": more,
        "names": names,
    }


# -- cases -----------------------------------------------------------------------------------------
def _case_fields(
    incident_point: str, incident_lat: str, incident_lon: str
) -> tuple[str, str]:  # the pasted "lat, lon" wins over the two fields
    if incident_point.strip():
        return lat_lon(incident_point)
    return decimal(incident_lat), decimal(incident_lon)


@router.get("/cases", response_class=HTMLResponse)
def case_list(request: Request, session: SessionDep, actor: WebActor) -> Response:
    items, total = cases.list_cases(session, actor, limit=200, offset=0)
    return render(request, "cases.html", _cases_context(items, total, session))


def _cases_context(items: Any, total: int, session: Session) -> dict[str, Any]:
    settings = get_settings()
    return {
        "districts": districts.list_districts(session, active_only=True),
        "cases": items,
        "total": total,
        "tile_url": settings.map_tile_url,
        "tile_attribution": settings.map_tile_attribution,
        "map_centre": (10.7769, 106.7009),
    }


@router.post("/cases", response_class=HTMLResponse)
def case_create(
    request: Request,
    session: SessionDep,
    actor: WebActor,
    csrf_token: Annotated[str, Form()],
    number: Annotated[str, Form()],
    title: Annotated[str, Form()],
    offence: Annotated[str, Form()],
    incident_start: Annotated[str, Form()],
    incident_end: Annotated[str, Form()],
    incident_lat: Annotated[str, Form()] = "",
    incident_lon: Annotated[str, Form()] = "",
    incident_point: Annotated[str, Form()] = "",
    district: Annotated[str, Form()] = "",
    ward: Annotated[str, Form()] = "",
) -> Response:
    check_csrf(request, csrf_token)
    submitted = {
        "district": district,
        "ward": ward,
        "number": number,
        "title": title,
        "offence": offence,
        "incident_lat": incident_lat,
        "incident_lon": incident_lon,
        "incident_point": incident_point,
        "incident_start": incident_start,
        "incident_end": incident_end,
    }

    def again(error: str) -> Response:
        items, total = cases.list_cases(session, actor, limit=200, offset=0)
        return render(
            request, "cases.html", {**_cases_context(items, total, session), "error": error, "form": submitted}
        )

    def create() -> Any:
        lat, lon = _case_fields(incident_point, incident_lat, incident_lon)
        body = CaseCreate(
            number=number,
            title=title,
            offence=offence,
            incident_lat=lat,  # text: the schema parses it and names the field
            incident_lon=lon,
            incident_start=local_to_utc(incident_start),
            incident_end=local_to_utc(incident_end),
            district=district or None,
            ward=ward or None,
        )
        return cases.create_case(session, actor, body)

    return form_action(
        session,
        create,
        done=lambda case: RedirectResponse(f"/cases/{case.id}", status_code=303),
        again=again,
        locale=locale_of(request),
    )


# -- a case ----------------------------------------------------------------------------------------
def camera_rows(hits: list[dict[str, Any]], names: Names, locale: str) -> list[dict[str, Any]]:
    """Nearby cameras as the list and the map show them: by name, distance, coverage and consent in words."""
    rows = []
    for hit in hits:
        covers = hit["covers_point"]
        coverage = (
            _(locale, "faces the place")
            if covers is True
            else _(locale, "faces away")
            if covers is False
            else _(locale, "direction unknown")
        )
        zone = hit["timezone"]
        rows.append(
            {
                "id": str(hit["id"]),
                "label": hit["label"],
                "address": hit.get("address") or "",
                "owner": names.cameras[hit["id"]].owner if hit["id"] in names.cameras else "",
                "name": names.camera(hit["id"], locale),
                "lat": hit["lat"],
                "lon": hit["lon"],
                "distance_m": hit["distance_m"],
                "distance": f"{round(hit['distance_m'])} m",
                "covers_point": covers,
                "coverage": coverage,
                "consent": hit["consent"],
                "consent_words": _(locale, f"consent_{hit['consent']}"),
                "overwritten": hit["overwritten"],
                "overwrite_deadline": hit["overwrite_deadline"].isoformat(),
                "overwrite_deadline_local": hit["overwrite_deadline"]
                .astimezone(ZoneInfo(zone))
                .strftime("%H:%M:%S %d/%m/%Y" if locale == "vi" else "%Y-%m-%d %H:%M:%S")
                + f" ({zone})",
            }
        )
    return rows


def _render_case(
    request: Request,
    session: Session,
    actor: Actor,
    case_id: UUID,
    *,
    status: int = 200,
    cameras_offset: int = 0,
    chosen_camera: str = "",
    **extra: object,
) -> Response:
    """The case page: the case, its nearby cameras (a page of them), its requests, the map settings, and whatever
    the last action left to show."""
    locale = locale_of(request)
    case = cases.get_case(session, actor, case_id)
    requests, _total = listing.list_requests_in(session, actor, limit=500, offset=0, case_id=case.id)
    hits, camera_total = registry.search_for(
        session,
        actor,
        case.incident_lat,
        case.incident_lon,
        MAP_RADIUS_M,
        case.incident_start,
        CAMERA_PAGE,
        cameras_offset,
    )
    area = extra.get("area_result")
    skipped_ids = [s["camera_id"] for s in area["skipped"]] if isinstance(area, dict) else []
    names = load_names(
        session,
        cameras={h["id"] for h in hits} | {r.camera_id for r in requests} | set(skipped_ids),
    )
    if isinstance(area, dict):
        extra["skipped"] = [
            {"camera": names.camera(s["camera_id"], locale), "reason": skip_reason(s["reason"], locale)}
            for s in area["skipped"]
        ]
        extra["filed"] = [names.camera(r.camera_id, locale) for r in area["requests"]]
    rows = camera_rows(hits, names, locale)
    chosen = {r["id"] for r in rows}
    if chosen_camera and chosen_camera not in chosen:
        try:
            key = UUID(chosen_camera)
            extra_names = load_names(session, cameras={key})
            if key in extra_names.cameras:
                rows_choice = [{"id": chosen_camera, "name": extra_names.camera(key, locale)}]
            else:
                rows_choice = []
        except ValueError:
            rows_choice = []
    else:
        rows_choice = []
    settings = get_settings()
    context = {
        "case": case,
        "requests": requests,
        "names": names,
        "tz": ZoneInfo(DEFAULT_TZ),
        "tile_url": settings.map_tile_url,
        "tile_attribution": settings.map_tile_attribution,
        "cameras": rows,
        "camera_choices": rows_choice + [{"id": r["id"], "name": r["name"]} for r in rows],
        "chosen_camera": chosen_camera,
        "camera_total": camera_total,
        "cameras_offset": cameras_offset,
        "cameras_previous": max(cameras_offset - CAMERA_PAGE, 0) if cameras_offset > 0 else None,
        "cameras_next": cameras_offset + CAMERA_PAGE if cameras_offset + CAMERA_PAGE < camera_total else None,
        "map_radius_m": MAP_RADIUS_M,
        "owners_to_call": calling.owners_to_call(session, actor, case.id),
    }
    return render(request, "case.html", {**context, **extra}, status)


@router.get("/cases/{case_id}", response_class=HTMLResponse)
def case_page(
    request: Request,
    case_id: UUID,
    session: SessionDep,
    actor: WebActor,
    cameras_offset: Annotated[int, Query(ge=0, le=2**31 - 1)] = 0,
    camera: Annotated[str, Query(max_length=40)] = "",
) -> Response:
    return _render_case(request, session, actor, case_id, cameras_offset=cameras_offset, chosen_camera=camera)


@router.post("/cases/{case_id}/requests", response_class=HTMLResponse)
def file_request(
    request: Request,
    case_id: UUID,
    session: SessionDep,
    actor: WebActor,
    csrf_token: Annotated[str, Form()],
    window_start: Annotated[str, Form()],
    window_end: Annotated[str, Form()],
    purpose: Annotated[str, Form()],
    legal_basis: Annotated[str, Form()],
    camera_id: Annotated[str, Form()] = "",
) -> Response:
    check_csrf(request, csrf_token)
    return form_action(
        session,
        lambda: filing.file_request(
            session,
            actor,
            case_id,
            RequestCreate(
                camera_id=camera_id,  # text: the schema parses it and names the field
                window_start=local_to_utc(window_start),
                window_end=local_to_utc(window_end),
                purpose=purpose,
                legal_basis=legal_basis,
            ),
        ),
        done=lambda filed: RedirectResponse(f"/requests/{filed.id}", status_code=303),
        again=lambda error: _render_case(request, session, actor, case_id, error=error, chosen_camera=camera_id),
        locale=locale_of(request),
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
                lat=decimal(lat),  # text: the schema parses it and names the field
                lon=decimal(lon),
                radius_m=decimal(radius_m),
                window_start=local_to_utc(window_start),
                window_end=local_to_utc(window_end),
                purpose=purpose,
                legal_basis=legal_basis,
            ),
        ),
        done=lambda result: _render_case(request, session, actor, case_id, area_result=result),
        again=lambda error: _render_case(request, session, actor, case_id, error=error),
        locale=locale_of(request),
    )


@router.get("/cases/{case_id}/cameras.json")
def case_cameras(
    request: Request,
    case_id: UUID,
    session: SessionDep,
    actor: WebActor,
    limit: Annotated[int, Query(ge=1, le=MAP_LIMIT_MAX)] = 300,
    offset: Annotated[int, Query(ge=0, le=2**31 - 1)] = 0,
) -> JSONResponse:
    """Cameras within 500 m of the incident for the case map, soonest overwrite first, a page at a time (the
    total says whether there are more)."""
    case = cases.get_case(session, actor, case_id)
    hits, total = registry.search_for(
        session, actor, case.incident_lat, case.incident_lon, MAP_RADIUS_M, case.incident_start, limit, offset
    )
    names = load_names(session, cameras={h["id"] for h in hits})
    items = camera_rows(hits, names, locale_of(request))
    return JSONResponse({"items": items, "total": total, "limit": limit, "offset": offset})
