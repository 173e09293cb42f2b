"""HTTP for manual legal holds on a case's evidence (the case's routes; the objects are footage's)."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends

from app.auth.permissions import Actor, allow
from app.cases.schemas import LegalHoldIn, LegalHoldRead
from app.core.db import SessionDep
from app.footage import holds

router = APIRouter(prefix="/api/v1", tags=["cases"])
Holder = Annotated[Actor, Depends(allow("cases.hold"))]


@router.post("/cases/{case_id}/legal-hold", response_model=LegalHoldRead)
def place_legal_hold(case_id: UUID, body: LegalHoldIn, session: SessionDep, actor: Holder) -> Any:
    """Hold every stored object of the case (supervisor of its unit or admin), each hold a custody event."""
    return holds.place_case_hold(session, actor, case_id, body.reason)


@router.post("/cases/{case_id}/legal-hold/release", response_model=LegalHoldRead)
def release_legal_hold(case_id: UUID, body: LegalHoldIn, session: SessionDep, actor: Holder) -> Any:
    """Release the manual hold; the hold an open case keeps on its evidence stays."""
    return holds.release_case_hold(session, actor, case_id, body.reason)
