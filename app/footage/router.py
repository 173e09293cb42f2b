from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends

from app.auth.links import LinkActor
from app.auth.permissions import Actor, allow
from app.core.db import SessionDep
from app.footage import service
from app.footage.schemas import ClipRead, DownloadLinkIn, DownloadLinkRead, OriginalRead, RequestDetail

router = APIRouter(prefix="/api/v1", tags=["footage"])
Reader = Annotated[Actor, Depends(allow("footage.read"))]


@router.get("/requests/{request_id}", response_model=RequestDetail, tags=["requests"])
def get_request(request_id: UUID, session: SessionDep, actor: Annotated[Actor, Depends(allow("requests.read"))]) -> Any:
    return service.request_detail(session, actor, request_id)


@router.get("/respond/{token}", response_model=RequestDetail, tags=["owner link"])
def link_view(token: str, session: SessionDep, actor: LinkActor) -> Any:
    assert actor.link_request_id is not None
    return service.request_detail(session, actor, actor.link_request_id)


@router.get("/originals/{original_id}", response_model=OriginalRead)
def get_original(original_id: UUID, session: SessionDep, actor: Reader) -> Any:
    return service.get_original(session, actor, original_id)


@router.get("/clips/{clip_id}", response_model=ClipRead)
def get_clip(clip_id: UUID, session: SessionDep, actor: Reader) -> Any:
    return service.get_clip(session, actor, clip_id)


@router.post("/clips/{clip_id}/download-link", response_model=DownloadLinkRead)
def clip_link(
    clip_id: UUID,
    body: DownloadLinkIn,
    session: SessionDep,
    actor: Annotated[Actor, Depends(allow("footage.download"))],
) -> Any:
    return service.download_link(session, actor, "clip", clip_id, body.purpose, body.expires_in_s)


@router.post("/originals/{original_id}/download-link", response_model=DownloadLinkRead)
def original_link(
    original_id: UUID,
    body: DownloadLinkIn,
    session: SessionDep,
    actor: Annotated[Actor, Depends(allow("footage.download"))],
) -> Any:
    return service.download_link(session, actor, "original", original_id, body.purpose, body.expires_in_s)
