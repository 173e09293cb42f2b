"""Resumable uploads for the owner's account page: the tus routes of /api/v1/uploads behind the session cookie.

The API's tus routes take bearer tokens only; the signed-in page sends its session cookie and the CSRF token in the
X-CSRF-Token header instead (checked before a byte of a body is read). Each route calls the same functions of
footage/uploads.py as the API's and answers the same tus headers; an upload begun here names its request
(`request_id` in `Upload-Metadata`) and belongs to the account that began it. "All files sent" completes the export
as the API's `POST /requests/{id}/originals/complete` does.
"""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Header, Request, Response
from starlette.concurrency import run_in_threadpool

from app.auth.permissions import client_address
from app.core.db import SessionDep, write_session
from app.core.errors import RuleViolation
from app.core.responses import validated_json
from app.footage import detail, segments, uploads
from app.footage.uploads_router import TusHeader, append_body, check_tus, tus_headers
from app.web.owner_requests import OwnerActor, upload_csrf

PREFIX = "/owner/uploads"
router = APIRouter(include_in_schema=False)
Csrf = Annotated[None, Depends(upload_csrf)]


@router.post(PREFIX, status_code=201)
async def create_upload(
    request: Request,
    session: SessionDep,
    actor: OwnerActor,
    _: Csrf,
    upload_length: Annotated[int, Header(ge=1)],
    upload_metadata: Annotated[str | None, Header()] = None,
    tus_resumable: TusHeader = None,
) -> Response:
    """Begin an upload for one of the owner's requests: `Upload-Metadata` names `request_id`, `filename`, and the
    recorder fields as at /api/v1/uploads (`export_part` for one file of an export in several)."""
    session.close()  # the account is checked: hold no database connection meanwhile
    check_tus(tus_resumable)
    if "token" in uploads.parse_metadata(upload_metadata or ""):
        raise RuleViolation("Upload-Metadata", "name the request (request_id): this upload is the account's")
    state = await run_in_threadpool(
        uploads.begin, actor, upload_metadata or "", upload_length, client_address(request), request.url.path
    )
    return Response(status_code=201, headers={**tus_headers(state), "Location": f"{PREFIX}/{state.id}"})


@router.head(PREFIX + "/{upload_id}")
async def upload_offset(
    upload_id: UUID, request: Request, session: SessionDep, actor: OwnerActor, _: Csrf, tus_resumable: TusHeader = None
) -> Response:
    """The upload's offset (an upload whose bytes all arrived is completed into its original first)."""
    session.close()
    check_tus(tus_resumable)
    state = await run_in_threadpool(uploads.offset, actor, upload_id, client_address(request))
    return Response(status_code=200, headers=tus_headers(state))


@router.patch(PREFIX + "/{upload_id}", status_code=204)
async def append_to_upload(
    upload_id: UUID,
    request: Request,
    session: SessionDep,
    actor: OwnerActor,
    _: Csrf,
    upload_offset: Annotated[int, Header(ge=0)],
    content_type: Annotated[str | None, Header()] = None,
    tus_resumable: TusHeader = None,
) -> Response:
    """Append the body at `Upload-Offset`; the last bytes make the original (its id and SHA-256 in the answer's
    `Upload-Original-Id` and `Upload-Original-SHA256`)."""
    session.close()  # the body may take long: hold no database connection meanwhile
    check_tus(tus_resumable)
    return await append_body(actor, upload_id, request, upload_offset, content_type)


@router.delete(PREFIX + "/{upload_id}", status_code=204)
async def terminate_upload(
    upload_id: UUID, session: SessionDep, actor: OwnerActor, _: Csrf, tus_resumable: TusHeader = None
) -> Response:
    session.close()
    check_tus(tus_resumable)
    await run_in_threadpool(uploads.terminate, actor, upload_id)
    return Response(status_code=204, headers=tus_headers())


@router.post("/owner/requests/{request_id}/originals/complete")
def complete_export(request_id: UUID, session: SessionDep, actor: OwnerActor, _: Csrf) -> Response:
    """Says "all files sent": the export is whole, ordered on the true timeline (gaps and overlaps reported) and the
    clip queued, as the API's complete; the answer is the request as the API reads it. Idempotent."""
    session.close()
    segments.complete(write_session, actor, request_id)
    return validated_json(detail.request_detail_in(session, actor, request_id))
