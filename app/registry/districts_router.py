from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from app.auth.permissions import Actor, allow
from app.core.db import SessionDep
from app.registry import districts
from app.registry.districts import DistrictCreate, DistrictRead, DistrictUpdate

router = APIRouter(prefix="/api/v1", tags=["registry"])


@router.get("/districts", response_model=dict[str, Any])
def list_districts(
    session: SessionDep,
    actor: Annotated[Actor, Depends(allow("districts.read"))],
    active: Annotated[bool, Query(description="Only those in use.")] = False,
) -> Any:
    """The province's districts, cities and towns: what cases and cameras are placed in."""
    items = [DistrictRead.model_validate(d).model_dump() for d in districts.list_districts(session, active_only=active)]
    return {"items": items, "total": len(items)}


@router.post("/districts", response_model=DistrictRead, status_code=201)
def create_district(
    body: DistrictCreate, session: SessionDep, actor: Annotated[Actor, Depends(allow("districts.write"))]
) -> Any:
    return districts.create_district(session, actor, body)


@router.patch("/districts/{code}", response_model=DistrictRead)
def update_district(
    code: str, body: DistrictUpdate, session: SessionDep, actor: Annotated[Actor, Depends(allow("districts.write"))]
) -> Any:
    return districts.update_district(session, actor, code, body)
