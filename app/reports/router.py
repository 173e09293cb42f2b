from __future__ import annotations

from typing import Annotated, Literal
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Response

from app.auth.permissions import Actor, allow
from app.core.db import SessionDep
from app.reports import service

router = APIRouter(prefix="/api/v1", tags=["reports"])


@router.get("/cases/{case_id}/custody-report")
def custody_report(
    case_id: UUID,
    session: SessionDep,
    actor: Annotated[Actor, Depends(allow("reports.export"))],
    format: Annotated[Literal["json", "csv", "pdf", "bundle"], Query()] = "json",  # noqa: A002 - API name
) -> Response:
    content, media_type, filename = service.export(session, actor, case_id, format)
    return Response(
        content, media_type=media_type, headers={"Content-Disposition": f'attachment; filename="{filename}"'}
    )
