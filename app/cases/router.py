"""HTTP for cases: parse, authorise, call one service function."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Query

from app.auth.permissions import Actor, allow
from app.cases import service
from app.cases.models import CaseStatus
from app.cases.schemas import (
    CaseClose,
    CaseCreate,
    CasePage,
    CaseRead,
    CaseUpdate,
    RetentionCategoryCreate,
    RetentionCategoryRead,
)
from app.core import idempotency
from app.core.db import SessionDep
from app.core.idempotency import IdempotencyKey
from app.core.pagination import PageDep

router = APIRouter(prefix="/api/v1", tags=["cases"])

Reader = Annotated[Actor, Depends(allow("cases.read"))]
Writer = Annotated[Actor, Depends(allow("cases.write"))]


@router.post("/cases", response_model=CaseRead, status_code=201)
def create_case(body: CaseCreate, session: SessionDep, actor: Writer, idempotency_key: IdempotencyKey = None) -> Any:
    return idempotency.once(
        session,
        actor.label,
        idempotency_key,
        idempotency.fingerprint("POST", "/cases", body.model_dump(mode="json")),
        lambda: service.create_case(session, actor, body),
        CaseRead,
        201,
    )


@router.get("/cases", response_model=CasePage)
def list_cases(
    session: SessionDep,
    page: PageDep,
    actor: Reader,
    status: Annotated[CaseStatus | None, Query(description="open | closed")] = None,
    number: Annotated[str | None, Query(max_length=64, description="Exact case number.")] = None,
) -> Any:
    items, total = service.list_cases(
        session, actor, limit=page.limit, offset=page.offset, status=status, number=number
    )
    return {"items": items, "total": total}


@router.get("/cases/{case_id}", response_model=CaseRead)
def get_case(case_id: UUID, session: SessionDep, actor: Reader) -> Any:
    return service.get_case(session, actor, case_id)


@router.patch("/cases/{case_id}", response_model=CaseRead)
def update_case(case_id: UUID, body: CaseUpdate, session: SessionDep, actor: Writer) -> Any:
    return service.update_case(session, actor, case_id, body)


@router.post("/cases/{case_id}/close", response_model=CaseRead)
def close_case(case_id: UUID, body: CaseClose, session: SessionDep, actor: Writer) -> Any:
    return service.close_case(session, actor, case_id, body)


@router.get("/retention-categories", response_model=list[RetentionCategoryRead], tags=["retention"])
def retention_categories(
    session: SessionDep, _: Annotated[Actor, Depends(allow("retention.read"))]
) -> list[dict[str, Any]]:
    """How long each category keeps a case's evidence locked (a case without one: the service's default)."""
    return service.list_retention_categories(session)


@router.post("/retention-categories", response_model=RetentionCategoryRead, status_code=201, tags=["retention"])
def create_retention_category(
    body: RetentionCategoryCreate, session: SessionDep, actor: Annotated[Actor, Depends(allow("retention.write"))]
) -> dict[str, Any]:
    return service.create_retention_category(session, actor, body)
