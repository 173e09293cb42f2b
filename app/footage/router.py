from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Header, Request
from fastapi.responses import RedirectResponse

from app.auth.links import LinkActor, LinkViewer
from app.auth.permissions import Actor, BearerDep, allow, client_address
from app.core.db import SessionDep, write_session
from app.core.idempotency import IdempotencyKey
from app.core.responses import validated_json
from app.footage import conversion, detail, ingest_flow, playable, segments, viewing
from app.footage.conversion import ConversionHeaders
from app.footage.ingest_flow import UploadHeaders
from app.footage.schemas import (
    ClipRead,
    DownloadLinkIn,
    DownloadLinkRead,
    OriginalReceived,
    OriginalRecord,
    PlaybackCopyRead,
    RequestDetail,
)

router = APIRouter(prefix="/api/v1", tags=["footage"])
Reader = Annotated[Actor, Depends(allow("footage.read"))]


@router.get("/requests/{request_id}", response_model=RequestDetail, tags=["requests"])
async def get_request(request_id: UUID, token: BearerDep) -> Any:
    # async, on the read pool, and one statement for the token's user and the detail: the service authorises
    # "requests.read" from that row as allow() would (see permissions.authorise)
    return validated_json(await detail.request_detail(token, request_id))


@router.get("/respond/{token}", response_model=RequestDetail, tags=["owner link"])
def link_view(token: str, session: SessionDep, actor: LinkViewer) -> Any:
    # a completed link still reads (what was asked, answered and became of it); the link's use is recorded in
    # this Session's transaction, so the detail is read in it too
    assert actor.link_request_id is not None
    return validated_json(detail.request_detail_in(session, actor, actor.link_request_id))


def content_length(request: Request) -> int | None:
    # Read here rather than declared as a parameter: the HTTP server owns this header (it frames the body), so it
    # is no input clients choose and the API description does not offer it.
    declared = request.headers.get("content-length")
    return int(declared) if declared is not None and declared.isdigit() else None


def upload_headers(
    request: Request,
    x_filename: Annotated[str, Header(min_length=1, max_length=500)],
    x_content_sha256: Annotated[str | None, Header()] = None,
    x_recording_start: Annotated[str | None, Header()] = None,
    x_clock_offset_seconds: Annotated[str | None, Header()] = None,
    x_frame_rate: Annotated[str | None, Header()] = None,
    x_vendor_format: Annotated[str | None, Header(max_length=100)] = None,
) -> UploadHeaders:
    """The upload headers as the ingest flow takes them (every upload endpoint, the owner pages' too).
    X-Recording-Start may be left out when the file (DHAV) or its recorder-given name carries the time."""
    return UploadHeaders(
        filename=x_filename,
        content_length=content_length(request),
        client_sha256=x_content_sha256,
        recording_start=x_recording_start,
        clock_offset_s=x_clock_offset_seconds,
        frame_rate=x_frame_rate,
        vendor_format=x_vendor_format,
    )


UploadHeadersDep = Annotated[UploadHeaders, Depends(upload_headers)]


@router.put("/requests/{request_id}/original", response_model=OriginalReceived, status_code=201)
async def upload_original(
    request_id: UUID,
    request: Request,
    session: SessionDep,
    actor: Annotated[Actor, Depends(allow("footage.upload"))],
    headers: UploadHeadersDep,
    idempotency_key: IdempotencyKey = None,
) -> Any:
    """The recorder's native export as the raw body, streamed to evidence storage and hashed on the way."""
    session.close()  # the upload may take long: hold no database connection meanwhile
    return await ingest_flow.receive_original(
        write_session, actor, request_id, request.stream(), headers, idempotency_key
    )


@router.put("/respond/{token}/original", response_model=OriginalReceived, status_code=201, tags=["owner link"])
async def link_upload_original(
    token: str,
    request: Request,
    session: SessionDep,
    actor: LinkActor,
    headers: UploadHeadersDep,
    idempotency_key: IdempotencyKey = None,
) -> Any:
    session.commit()  # keep the link's recorded use, and hold no connection during the upload
    session.close()
    assert actor.link_request_id is not None
    return await ingest_flow.receive_original(
        write_session, actor, actor.link_request_id, request.stream(), headers, idempotency_key
    )


@router.post("/requests/{request_id}/originals", response_model=OriginalReceived, status_code=201)
async def upload_segment(
    request_id: UUID,
    request: Request,
    session: SessionDep,
    actor: Annotated[Actor, Depends(allow("footage.upload"))],
    headers: UploadHeadersDep,
    idempotency_key: IdempotencyKey = None,
) -> Any:
    """One file of an export in several, as the raw body (headers as for the PUT): kept as its own original; the
    request waits for `POST .../originals/complete`. A file after `complete` is a 409 naming the request's state."""
    session.close()  # the upload may take long: hold no database connection meanwhile
    return await ingest_flow.receive_original(
        write_session, actor, request_id, request.stream(), headers, idempotency_key, completes=False
    )


@router.post("/respond/{token}/originals", response_model=OriginalReceived, status_code=201, tags=["owner link"])
async def link_upload_segment(
    token: str,
    request: Request,
    session: SessionDep,
    actor: LinkViewer,
    headers: UploadHeadersDep,
    idempotency_key: IdempotencyKey = None,
) -> Any:
    """One file of an export in several, through the owner's link. A link whose request left the owner's hands
    (the export was completed) still opens here, so that a late file is refused naming the request's state (409)
    rather than the link's."""
    session.commit()  # keep the link's recorded use, and hold no connection during the upload
    session.close()
    assert actor.link_request_id is not None
    return await ingest_flow.receive_original(
        write_session, actor, actor.link_request_id, request.stream(), headers, idempotency_key, completes=False
    )


@router.post("/requests/{request_id}/originals/complete", response_model=RequestDetail)
def complete_export(
    request_id: UUID, session: SessionDep, actor: Annotated[Actor, Depends(allow("footage.upload"))]
) -> Any:
    """The export is whole: its files are ordered on the true timeline (gaps and overlaps reported) and the clip
    is queued. Idempotent."""
    session.close()
    segments.complete(write_session, actor, request_id)
    return validated_json(detail.request_detail_in(session, actor, request_id))


@router.post("/respond/{token}/originals/complete", response_model=RequestDetail, tags=["owner link"])
def link_complete_export(token: str, session: SessionDep, actor: LinkViewer) -> Any:
    """As `POST /requests/{id}/originals/complete`, through the owner's link. Idempotent: the link completes with
    the export, so a retry (an answer lost on a mobile network) opens it as a viewer and gets the request as it
    now is, 200; a file after `complete` is a 409 naming the request's state (the ingest's own check)."""
    session.commit()  # the link's recorded use
    assert actor.link_request_id is not None
    segments.complete(write_session, actor, actor.link_request_id)
    return validated_json(detail.request_detail_in(session, actor, actor.link_request_id))


@router.post("/originals/{original_id}/converted", response_model=OriginalReceived, status_code=201)
async def upload_converted(
    original_id: UUID,
    request: Request,
    session: SessionDep,
    actor: Annotated[Actor, Depends(allow("requests.file"))],
    x_filename: Annotated[str, Header(min_length=1, max_length=500)],
    x_parent_sha256: Annotated[str, Header(min_length=64, max_length=64)],
    x_converted_by: Annotated[str, Header(min_length=1, max_length=200)],
    x_converter_version: Annotated[str, Header(min_length=1, max_length=200)],
    x_content_sha256: Annotated[str | None, Header()] = None,
    x_recording_start: Annotated[str | None, Header()] = None,
    x_clock_offset_seconds: Annotated[str | None, Header()] = None,
) -> Any:
    """A converted copy of an original kept for conversion (a vendor format), as the raw body: recorded as a
    derivative of that original (its SHA-256, the converting tool and version as stated); the clip is cut from it."""
    session.close()
    headers = ConversionHeaders(
        filename=x_filename,
        content_length=content_length(request),
        client_sha256=x_content_sha256,
        parent_sha256=x_parent_sha256,
        tool=x_converted_by,
        tool_version=x_converter_version,
        recording_start=x_recording_start,
        clock_offset_s=x_clock_offset_seconds,
    )
    return await conversion.receive_conversion(write_session, actor, original_id, request.stream(), headers)


@router.get("/originals/{original_id}", response_model=OriginalRecord)
def get_original(original_id: UUID, session: SessionDep, actor: Reader) -> Any:
    """An original's record; `playback_copy` is its stream-copied MP4 when its container is one browsers cannot
    play (the player plays that copy; downloads are of the original)."""
    original = viewing.read_record(session, actor, "original", original_id)
    body = OriginalRecord.model_validate(original)
    copy = playable.of_original(session, original.id)
    body.playback_copy = PlaybackCopyRead.model_validate(copy) if copy else None
    return body


@router.get("/clips/{clip_id}", response_model=ClipRead)
def get_clip(clip_id: UUID, session: SessionDep, actor: Reader) -> Any:
    return viewing.read_record(session, actor, "clip", clip_id)


@router.post("/clips/{clip_id}/download-link", response_model=DownloadLinkRead)
def clip_link(
    clip_id: UUID,
    body: DownloadLinkIn,
    session: SessionDep,
    actor: Annotated[Actor, Depends(allow("footage.download"))],
) -> Any:
    return viewing.issue_link(session, actor, "clip", clip_id, body.purpose, body.expires_in_s, body.use)


@router.post("/originals/{original_id}/download-link", response_model=DownloadLinkRead)
def original_link(
    original_id: UUID,
    body: DownloadLinkIn,
    session: SessionDep,
    actor: Annotated[Actor, Depends(allow("footage.download"))],
) -> Any:
    return viewing.issue_link(session, actor, "original", original_id, body.purpose, body.expires_in_s, body.use)


@router.get("/links/{token}", status_code=302, response_class=RedirectResponse, tags=["evidence links"])
def follow_link(token: str, request: Request, session: SessionDep) -> RedirectResponse:
    """An evidence link: the fetch is written to the custody log, then a redirect (302) to the exact object
    version in storage, valid a few minutes. 404 for an unknown link, 410 once it has expired. The token is the
    credential: video players and downloads follow it without a bearer token."""
    url = viewing.fetch_link(session, token, client_address(request))
    return RedirectResponse(url, status_code=302)
