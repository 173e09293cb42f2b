from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends

from app.auth.permissions import Actor, allow
from app.core.db import SessionDep
from app.footage import timeline
from app.footage.timeline import MarkerIn, MarkerRead

router = APIRouter(prefix="/api/v1", tags=["timeline"])


@router.get("/cases/{case_id}/timeline")
def case_timeline(
    case_id: UUID, session: SessionDep, actor: Annotated[Actor, Depends(allow("timeline.read"))]
) -> dict[str, Any]:
    """Every clip of the case on one true-time axis, one lane per camera (with its place), and the markers.
    Each clip listed is logged as a read of its record."""
    return timeline.timeline_fields(timeline.case_timeline(session, actor, case_id))


@router.get("/cases/{case_id}/markers")
def list_markers(
    case_id: UUID, session: SessionDep, actor: Annotated[Actor, Depends(allow("timeline.read"))]
) -> dict[str, Any]:
    """The case's markers in true-time order."""
    items = timeline.markers(session, actor, case_id)
    return {"items": [MarkerRead.model_validate(m, from_attributes=True) for m in items], "total": len(items)}


@router.post("/cases/{case_id}/markers", response_model=MarkerRead, status_code=201)
def add_marker(
    case_id: UUID, body: MarkerIn, session: SessionDep, actor: Annotated[Actor, Depends(allow("markers.write"))]
) -> Any:
    """A note at a true instant within one of the case's clips; logged on the clip."""
    return timeline.add_marker(session, actor, case_id, body)
