from __future__ import annotations

import tempfile
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from app.auth.permissions import Actor, allow, ensure_may, may
from app.auth.schemas import Page
from app.core import clock
from app.core.db import SessionDep, read_session, write_session
from app.core.errors import RuleViolation
from app.core.pagination import PageDep
from app.core.params import IsoDateTime
from app.registry import importer, service
from app.registry.schemas import (
    CameraCreate,
    CameraHit,
    CameraRead,
    CameraUpdate,
    ConsentCreate,
    ConsentRead,
    ImportResult,
    OwnerCreate,
    OwnerRead,
)

router = APIRouter(prefix="/api/v1", tags=["registry"])


@router.post("/owners", response_model=OwnerRead, status_code=201)
def create_owner(body: OwnerCreate, session: SessionDep, _: Annotated[Actor, Depends(allow("owners.write"))]) -> Any:
    return service.create_owner(session, body)


@router.get("/owners", response_model=Page[OwnerRead])
def list_owners(session: SessionDep, page: PageDep, actor: Annotated[Actor, Depends(allow("owners.read"))]) -> Any:
    items, total = service.list_owners(session, actor, page.limit, page.offset)
    return {"items": items, "total": total}


@router.get("/owners/{owner_id}", response_model=OwnerRead)
def get_owner(owner_id: UUID, session: SessionDep, actor: Annotated[Actor, Depends(allow("owners.read"))]) -> Any:
    return service.get_owner(session, actor, owner_id)


@router.post("/owners/{owner_id}/consents", response_model=ConsentRead, status_code=201)
def give_consent(
    owner_id: UUID, body: ConsentCreate, session: SessionDep, actor: Annotated[Actor, Depends(allow("consents.write"))]
) -> Any:
    return service.give_consent(session, actor, owner_id, body)


@router.get("/owners/{owner_id}/consents", response_model=Page[ConsentRead])
def consent_history(
    owner_id: UUID, session: SessionDep, actor: Annotated[Actor, Depends(allow("consents.read"))]
) -> Any:
    items = service.consent_history(session, actor, owner_id)
    return {"items": items, "total": len(items)}


# POST /consents/{consent_id}/withdraw lives in app/extractions/router.py: a withdrawal also tells the investigators
# of the camera's open requests, which this domain does not know.


@router.post("/cameras", response_model=CameraRead, status_code=201)
def create_camera(
    body: CameraCreate, session: SessionDep, actor: Annotated[Actor, Depends(allow("cameras.write"))]
) -> Any:
    return service.create_camera(session, actor, body)


@router.get("/cameras", response_model=Page[CameraHit] | Page[CameraRead])
async def cameras(
    page: PageDep,
    actor: Annotated[Actor, Depends(allow("cameras.read"))],
    lat: Annotated[float | None, Query(ge=-90, le=90)] = None,
    lon: Annotated[float | None, Query(ge=-180, le=180)] = None,
    radius_m: Annotated[float | None, Query(gt=0, le=50_000)] = None,
    at: Annotated[
        IsoDateTime | None, Query(description="Time of interest (default now); ISO 8601 with offset.")
    ] = None,
) -> Any:
    """With lat, lon and radius_m: the coverage search (investigators, supervisors, auditors, admins).
    Without: the cameras the caller may see."""
    given = [v is not None for v in (lat, lon, radius_m)]
    if any(given) and not all(given):
        missing = [n for n, g in zip(("lat", "lon", "radius_m"), given, strict=True) if not g][0]
        raise RuleViolation(missing, "lat, lon and radius_m go together")
    if all(given):
        if not may(actor, "cameras.search"):
            await run_in_threadpool(ensure_may, actor, "cameras.search")  # records the denial, answers 403
        if at is not None and at.tzinfo is None:
            raise RuleViolation("at", "needs a UTC offset, e.g. 2026-11-25T08:30:00+07:00")
        assert lat is not None and lon is not None and radius_m is not None
        # The search answers from the read pool on the event loop; its page is validated once and sent as
        # it serialises (the route's response_model still documents it).
        hits = await service.search_page(lat, lon, radius_m, at or clock.now(), page.limit, page.offset)
        return Response(hits.model_dump_json(), media_type="application/json")

    def listing() -> dict[str, Any]:
        with write_session() as session:
            items, total = service.list_cameras(session, actor, page.limit, page.offset)
            return {"items": [CameraRead.model_validate(c) for c in items], "total": total}

    return await run_in_threadpool(listing)


@router.post("/cameras/import", response_model=ImportResult)
async def import_cameras(request: Request, actor: Annotated[Actor, Depends(allow("cameras.import"))]) -> Any:
    """CSV or GeoJSON FeatureCollection body; spooled to disk as it arrives, then imported row by row."""
    spool = tempfile.SpooledTemporaryFile(max_size=1024 * 1024)  # noqa: SIM115 - closed after the import
    async for chunk in request.stream():
        spool.write(chunk)
    spool.seek(0)

    def run() -> dict[str, Any]:
        with write_session() as session:
            return importer.import_file(session, actor, spool)

    try:
        return await run_in_threadpool(run)
    finally:
        spool.close()


class GeoJSONResponse(StreamingResponse):
    media_type = "application/geo+json"


@router.get(
    "/cameras/export.geojson",
    response_class=GeoJSONResponse,
    responses={
        200: {
            "description": "A GeoJSON FeatureCollection of every camera (streamed).",
            "content": {"application/geo+json": {"schema": {"type": "object"}}},
        }
    },
)
def export_geojson(_: Annotated[Actor, Depends(allow("cameras.import"))]) -> StreamingResponse:
    def body() -> Any:
        with read_session() as session:
            yield from importer.export_geojson(session)

    return GeoJSONResponse(body(), headers={"Content-Disposition": 'attachment; filename="cameras.geojson"'})


# ":uuid": /cameras/export.geojson and /cameras/import are no camera ids, so they never reach these routes.
@router.get("/cameras/{camera_id:uuid}", response_model=CameraRead)
def get_camera(camera_id: UUID, session: SessionDep, actor: Annotated[Actor, Depends(allow("cameras.read"))]) -> Any:
    return service.get_camera(session, actor, camera_id)


@router.patch("/cameras/{camera_id:uuid}", response_model=CameraRead)
def update_camera(
    camera_id: UUID, body: CameraUpdate, session: SessionDep, actor: Annotated[Actor, Depends(allow("cameras.write"))]
) -> Any:
    return service.update_camera(session, actor, camera_id, body)
