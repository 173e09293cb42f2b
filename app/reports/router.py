from __future__ import annotations

from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Response
from fastapi.responses import JSONResponse

from app.auth.permissions import Actor, allow
from app.core.db import SessionDep
from app.core.errors import RuleViolation
from app.core.http import content_disposition
from app.core.params import IsoDateTime
from app.reports import service

router = APIRouter(prefix="/api/v1", tags=["reports"])


REPORT_FORMATS: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The report: JSON, CSV of the events, PDF, or the verification bundle (zip).",
        "content": {
            "application/json": {"schema": {"type": "object"}},
            "text/csv": {"schema": {"type": "string"}},
            "application/pdf": {"schema": {"type": "string", "format": "binary"}},
            "application/zip": {"schema": {"type": "string", "format": "binary"}},
        },
    }
}


@router.get("/cases/{case_id}/custody-report", responses=REPORT_FORMATS)
def custody_report(
    case_id: UUID,
    session: SessionDep,
    actor: Annotated[Actor, Depends(allow("reports.export"))],
    format: Annotated[Literal["json", "csv", "pdf", "bundle"], Query()] = "json",  # noqa: A002 - API name
) -> Response:
    content, media_type, filename = service.export(session, actor, case_id, format)
    return Response(content, media_type=media_type, headers={"Content-Disposition": content_disposition(filename)})


@router.get(
    "/stats",
    responses={
        200: {
            "description": "The figures as JSON, or as CSV with format=csv.",
            "content": {"application/json": {"schema": {"type": "object"}}, "text/csv": {"schema": {"type": "string"}}},
        }
    },
)
def stats(
    session: SessionDep,
    actor: Annotated[Actor, Depends(allow("stats.read"))],
    start: Annotated[IsoDateTime, Query(alias="from", description="Start, ISO 8601 with offset.")],
    end: Annotated[IsoDateTime, Query(alias="to", description="End (exclusive), ISO 8601 with offset.")],
    unit_id: Annotated[UUID | None, Query()] = None,
    format: Annotated[Literal["json", "csv"], Query()] = "json",  # noqa: A002 - API name
    district: Annotated[str | None, Query(max_length=120, description="A district's name (GET /districts).")] = None,
    table: Annotated[
        Literal["statuses", "outcomes"],
        Query(description="For CSV: requests by status (default), or the outcomes by district, unit and month."),
    ] = "statuses",
) -> Response:
    """Requests by status, extractions, median owner response time, approval rate, expired requests, cases
    closed and clarified with footage — by district and unit, over [from, to)."""
    from app.reports import stats as statistics

    for name, value in (("from", start), ("to", end)):
        if value.tzinfo is None:
            raise RuleViolation(name, "needs a UTC offset, e.g. 2026-11-01T00:00:00+07:00")
    result = statistics.compute(session, actor, start, end, unit_id, district or None)
    if format == "csv":
        from app.reports import outcomes

        content = outcomes.as_csv(result["outcomes"], start, end) if table == "outcomes" else statistics.as_csv(result)
        return Response(
            content,
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="stats-{table}.csv"'},
        )
    return JSONResponse(result)
