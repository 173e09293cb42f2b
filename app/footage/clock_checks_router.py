"""Clock checks over HTTP: a typed reading (JSON) or a photo of the recorder's screen (multipart), by account or
by the owner's link."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, File, Form, UploadFile
from pydantic import ValidationError

from app.auth.links import LinkActor
from app.auth.permissions import Actor, allow
from app.core.db import SessionDep
from app.core.errors import RuleViolation
from app.footage import clock_checks
from app.footage.schemas import ClockCheckIn, ClockCheckRead

router = APIRouter(prefix="/api/v1", tags=["footage"])
Checker = Annotated[Actor, Depends(allow("footage.clock_check"))]
Reader = Annotated[Actor, Depends(allow("footage.read"))]


def _photo_form(displayed: str, read_ago_s: str | None) -> ClockCheckIn:
    """The multipart fields as the JSON body's schema, refusals naming the field."""
    try:
        return ClockCheckIn.model_validate({"displayed": displayed, "read_ago_s": read_ago_s or None})
    except ValidationError as exc:
        first = exc.errors()[0]
        field = str(first["loc"][0]) if first["loc"] else "displayed"
        raise RuleViolation(field, first["msg"]) from exc


@router.post("/requests/{request_id}/clock-checks", response_model=ClockCheckRead, status_code=201)
def check_clock(request_id: UUID, body: ClockCheckIn, session: SessionDep, actor: Checker) -> Any:
    """What the recorder's screen shows now, paired with the server's true time: offset = recorder minus true."""
    return clock_checks.record_check(session, actor, request_id, body)


@router.post("/requests/{request_id}/clock-checks/photo", response_model=ClockCheckRead, status_code=201)
def check_clock_by_photo(
    request_id: UUID,
    session: SessionDep,
    actor: Checker,
    photo: Annotated[UploadFile, File()],
    displayed: Annotated[str, Form()],
    read_ago_s: Annotated[str | None, Form()] = None,
) -> Any:
    """The same, with a photo of the screen kept as evidence (hashed, locked, logged)."""
    body = _photo_form(displayed, read_ago_s)
    return clock_checks.record_photo_check(session, actor, request_id, body, photo.file)


@router.get("/requests/{request_id}/clock-checks", response_model=list[ClockCheckRead])
def list_clock_checks(request_id: UUID, session: SessionDep, actor: Reader) -> Any:
    return clock_checks.list_checks(session, actor, request_id)


@router.post("/respond/{token}/clock-checks", response_model=ClockCheckRead, status_code=201, tags=["owner link"])
def link_check_clock(token: str, body: ClockCheckIn, session: SessionDep, actor: LinkActor) -> Any:
    assert actor.link_request_id is not None
    return clock_checks.record_check(session, actor, actor.link_request_id, body)


@router.post("/respond/{token}/clock-checks/photo", response_model=ClockCheckRead, status_code=201, tags=["owner link"])
def link_check_clock_by_photo(
    token: str,
    session: SessionDep,
    actor: LinkActor,
    photo: Annotated[UploadFile, File()],
    displayed: Annotated[str, Form()],
    read_ago_s: Annotated[str | None, Form()] = None,
) -> Any:
    assert actor.link_request_id is not None
    body = _photo_form(displayed, read_ago_s)
    return clock_checks.record_photo_check(session, actor, actor.link_request_id, body, photo.file)
