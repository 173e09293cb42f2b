from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends
from fastapi.responses import RedirectResponse

from app.auth.permissions import Actor, allow
from app.core.db import SessionDep
from app.footage import redaction
from app.footage.redaction import BoxesIn, RedactionCreate, RedactionRead

router = APIRouter(prefix="/api/v1", tags=["redactions"])


def _read(item: Any) -> RedactionRead:
    return RedactionRead.model_validate(item, from_attributes=True)


@router.post("/clips/{clip_id}/redactions", response_model=RedactionRead, status_code=201)
def create_redaction(
    clip_id: UUID,
    session: SessionDep,
    actor: Annotated[Actor, Depends(allow("redactions.write"))],
    body: RedactionCreate | None = None,
) -> Any:
    """A redacted copy of the clip, begun: faces are searched for by a job (status `detecting`, then `review`)."""
    return _read(redaction.create(session, actor, clip_id, body or RedactionCreate()))


@router.get("/clips/{clip_id}/redactions")
def list_redactions(
    clip_id: UUID, session: SessionDep, actor: Annotated[Actor, Depends(allow("redactions.read"))]
) -> dict[str, Any]:
    """The clip's redactions, oldest first."""
    items = [_read(r) for r in redaction.of_clip(session, actor, clip_id)]
    return {"items": items, "total": len(items)}


@router.get("/redactions/{redaction_id}", response_model=RedactionRead)
def get_redaction(
    redaction_id: UUID, session: SessionDep, actor: Annotated[Actor, Depends(allow("redactions.read"))]
) -> Any:
    """A redaction: its boxes, progress, and once ready the copy's hash, the mask file's hash and the command.
    The read is logged."""
    return _read(redaction.get(session, actor, redaction_id))


@router.put("/redactions/{redaction_id}/boxes", response_model=RedactionRead)
def put_boxes(
    redaction_id: UUID,
    body: BoxesIn,
    session: SessionDep,
    actor: Annotated[Actor, Depends(allow("redactions.write"))],
) -> Any:
    """Replace the boxes (tracks of keyframes, moved linearly between them) while the redaction is in review."""
    return _read(redaction.save_boxes(session, actor, redaction_id, body))


@router.post("/redactions/{redaction_id}/render", response_model=RedactionRead, status_code=202)
def render_redaction(
    redaction_id: UUID, session: SessionDep, actor: Annotated[Actor, Depends(allow("redactions.write"))]
) -> Any:
    """Render the reviewed boxes into the redacted copy (a job; `progress` follows it)."""
    return _read(redaction.request_render(session, actor, redaction_id))


@router.get("/redactions/{redaction_id}/download", status_code=302, response_class=RedirectResponse)
def download_redaction(
    redaction_id: UUID, session: SessionDep, actor: Annotated[Actor, Depends(allow("redactions.read"))]
) -> RedirectResponse:
    """The redacted copy's bytes: the fetch is logged, then a redirect to a URL valid a few minutes."""
    return RedirectResponse(redaction.fetch(session, actor, redaction_id), status_code=302)
