"""Resumable uploads over HTTP: tus 1.0 core protocol with the creation, termination and expiration
extensions, at /api/v1/uploads. Authorisation as the PUT of an original: the owner's bearer token, or the
owner link's token in `Upload-Metadata` (the upload's URL then stands for it while the link is live)."""

from __future__ import annotations

from email.utils import format_datetime
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Header, Request, Response
from fastapi.security import OAuth2PasswordBearer
from starlette.concurrency import run_in_threadpool

from app.auth.permissions import Actor, bearer, client_address, current_actor
from app.core.config import get_settings
from app.core.errors import DomainError
from app.footage import uploads
from app.footage.uploads import UploadState

TUS_VERSION = "1.0.0"
OFFSET_STREAM = "application/offset+octet-stream"

router = APIRouter(prefix="/api/v1/uploads", tags=["uploads"])
_bearer = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", auto_error=False)


class TusVersionUnsupported(DomainError):
    status, slug, title = 412, "tus-version", "Precondition failed"


class NotAnOffsetStream(DomainError):
    status, slug, title = 415, "unsupported-media-type", "Unsupported media type"


def check_tus(tus_resumable: str | None) -> None:
    """The protocol's version check, made in the handler once the path, headers and caller are validated (a
    malformed request is a 422 first, as everywhere)."""
    if tus_resumable != TUS_VERSION:
        raise TusVersionUnsupported(f"send Tus-Resumable: {TUS_VERSION} (the only version served here)")


async def optional_actor(request: Request, token: Annotated[str | None, Depends(_bearer)]) -> Actor | None:
    """The signed-in user behind a bearer token, if one is sent (401 for a bad one); None without one."""
    if not token:
        return None
    return await current_actor(await bearer(request, token))


TusHeader = Annotated[str | None, Header()]
# The tus protocol's own refusals, beside the problems every operation documents.
TUS_RESPONSES: dict[int | str, dict[str, Any]] = {
    412: {"description": f"Tus-Resumable is missing or not {TUS_VERSION}"},
    415: {"description": "PATCH body is not application/offset+octet-stream"},
    423: {"description": "another request is appending to this upload; retry"},
}
MaybeActor = Annotated[Actor | None, Depends(optional_actor)]


def tus_headers(state: UploadState | None = None) -> dict[str, str]:
    """The tus headers of an answer: the version, and the upload's offset, length, expiry and, once the last bytes
    are in, its original (shared with the owner account page's upload routes)."""
    headers = {"Tus-Resumable": TUS_VERSION, "Cache-Control": "no-store"}
    if state is not None:
        headers["Upload-Offset"] = str(state.offset)
        headers["Upload-Length"] = str(state.length)
        headers["Upload-Expires"] = format_datetime(state.expires_at, usegmt=True)
        if state.original is not None:
            headers["Upload-Original-Id"] = str(state.original["id"])
            headers["Upload-Original-SHA256"] = str(state.original["sha256"])
    return headers


@router.options("", status_code=204, responses={204: {"description": "What the server offers"}})
async def discover() -> Response:
    """What this server offers: the tus version, its extensions and the largest upload."""
    return Response(
        status_code=204,
        headers={
            "Tus-Resumable": TUS_VERSION,
            "Tus-Version": TUS_VERSION,
            "Tus-Extension": "creation,termination,expiration",
            "Tus-Max-Size": str(get_settings().max_upload_bytes),
        },
    )


@router.post("", status_code=201, responses=TUS_RESPONSES)
async def create_upload(
    request: Request,
    actor: MaybeActor,
    upload_length: Annotated[int, Header(ge=1)],
    upload_metadata: Annotated[str | None, Header()] = None,
    tus_resumable: TusHeader = None,
) -> Response:
    """Begin an upload: `Upload-Metadata` names `request_id` (with a bearer token) or `token` (an owner link),
    `filename`, and as the PUT's headers `recording_start`, `clock_offset_seconds`, `sha256`, `frame_rate`,
    `vendor_format`."""
    check_tus(tus_resumable)
    state = await run_in_threadpool(
        uploads.begin, actor, upload_metadata or "", upload_length, client_address(request), request.url.path
    )
    return Response(status_code=201, headers={**tus_headers(state), "Location": f"{router.prefix}/{state.id}"})


@router.head("/{upload_id}", responses=TUS_RESPONSES)
async def upload_offset(
    upload_id: UUID, request: Request, actor: MaybeActor, tus_resumable: TusHeader = None
) -> Response:
    """The upload's offset; an upload whose bytes all arrived is completed into its original before it is
    reported whole (423 while another request completes it)."""
    check_tus(tus_resumable)
    state = await run_in_threadpool(uploads.offset, actor, upload_id, client_address(request))
    return Response(status_code=200, headers=tus_headers(state))


@router.patch("/{upload_id}", status_code=204, responses=TUS_RESPONSES)
async def append_to_upload(
    upload_id: UUID,
    request: Request,
    actor: MaybeActor,
    upload_offset: Annotated[int, Header(ge=0)],
    content_type: Annotated[str | None, Header()] = None,
    tus_resumable: TusHeader = None,
) -> Response:
    """Append the body at `Upload-Offset` (409 unless it is the upload's offset); the last bytes make the
    original, whose id and SHA-256 come back in `Upload-Original-Id` and `Upload-Original-SHA256`."""
    check_tus(tus_resumable)
    return await append_body(actor, upload_id, request, upload_offset, content_type)


async def append_body(
    actor: Actor | None, upload_id: UUID, request: Request, upload_offset: int, content_type: str | None
) -> Response:
    """A tus PATCH: its body appended at `Upload-Offset`, answered 204 with the upload's headers (the API's route
    and the owner account page's share it)."""
    if (content_type or "").split(";")[0].strip().lower() != OFFSET_STREAM:
        raise NotAnOffsetStream(f"send the bytes as Content-Type: {OFFSET_STREAM}")
    declared = request.headers.get("content-length")
    state = await uploads.append(
        actor,
        upload_id,
        upload_offset,
        int(declared) if declared is not None and declared.isdigit() else None,
        request.stream(),
        client_address(request),
    )
    return Response(status_code=204, headers=tus_headers(state))


@router.delete("/{upload_id}", status_code=204, responses=TUS_RESPONSES)
async def terminate_upload(upload_id: UUID, actor: MaybeActor, tus_resumable: TusHeader = None) -> Response:
    check_tus(tus_resumable)
    await run_in_threadpool(uploads.terminate, actor, upload_id)
    return Response(status_code=204, headers=tus_headers())
