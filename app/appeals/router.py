from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Header, Path, Query, Request

from app.appeals import clipping, intake, service
from app.appeals.models import SubmissionStatus
from app.appeals.schemas import (
    AcceptIn,
    AppealCreate,
    AppealList,
    AppealRead,
    DeclineIn,
    SubmissionClipIn,
    SubmissionClipList,
    SubmissionClipRead,
    SubmissionLinkIn,
    SubmissionLinkRead,
    SubmissionList,
    SubmissionRead,
    SubmissionReceipt,
)
from app.auth import throttle
from app.auth.permissions import Actor, allow, client_address, public_actor
from app.core.db import SessionDep, write_session

router = APIRouter(prefix="/api/v1", tags=["appeals"])
Publisher = Annotated[Actor, Depends(allow("appeals.publish"))]
Reader = Annotated[Actor, Depends(allow("appeals.read"))]
Triage = Annotated[Actor, Depends(allow("appeals.triage"))]


@router.post("/cases/{case_id}/appeals", response_model=AppealRead, status_code=201)
def publish(case_id: UUID, body: AppealCreate, session: SessionDep, actor: Publisher) -> Any:
    """Publish a public appeal for footage of the case: its page is /a/{slug}, with a QR code to post."""
    appeal = service.publish(session, actor, case_id, body)
    return service.describe(session, appeal)


@router.get("/cases/{case_id}/appeals", response_model=AppealList)
def list_appeals(case_id: UUID, session: SessionDep, actor: Reader) -> Any:
    items = [service.describe(session, a) for a in service.list_for_case(session, actor, case_id)]
    return {"items": items, "total": len(items)}


@router.get("/appeals/{appeal_id}", response_model=AppealRead)
def get_appeal(appeal_id: UUID, session: SessionDep, actor: Reader) -> Any:
    return service.describe(session, service.get_appeal(session, actor, appeal_id))


@router.post("/appeals/{appeal_id}/close", response_model=AppealRead)
def close_appeal(appeal_id: UUID, session: SessionDep, actor: Publisher) -> Any:
    return service.describe(session, service.close(session, actor, appeal_id))


# The unit's list (GET) and the public upload (POST) share one path, so its parameter has one name: the appeal's id
# for the unit, its public slug for residents.
@router.get("/appeals/{appeal}/submissions", response_model=SubmissionList)
def list_submissions(
    appeal: UUID,
    session: SessionDep,
    actor: Reader,
    status: Annotated[SubmissionStatus | None, Query()] = None,
) -> Any:
    """What residents sent to the appeal: the case's unit only."""
    items = service.submission_views(session, service.list_submissions(session, actor, appeal, status))
    return {"items": items, "total": len(items)}


@router.post(
    "/appeals/{appeal}/submissions",
    response_model=SubmissionReceipt,
    status_code=202,
    tags=["public"],
    responses={410: {"description": "The appeal is closed."}, 429: {"description": "A quota is reached."}},
    dependencies=[Depends(throttle.rate_limited(throttle.APPEALS))],
)
async def submit(
    appeal: Annotated[str, Path(description="The appeal's public slug (its page is /a/{slug}).")],
    request: Request,
    x_filename: Annotated[str, Header(min_length=1, max_length=500)],
    x_attestation: Annotated[str | None, Header(description="The attestation's version the sender agreed to.")] = None,
    content_type: Annotated[str, Header()] = "application/octet-stream",
    x_taken_at: Annotated[str | None, Header(description="When it was taken; local time without an offset.")] = None,
    x_lat: Annotated[str | None, Header()] = None,
    x_lon: Annotated[str | None, Header()] = None,
    x_contact_name: Annotated[str | None, Header(description="Optional, percent-encoded UTF-8.")] = None,
    x_contact_phone: Annotated[str | None, Header()] = None,
    x_description: Annotated[str | None, Header(description="Optional, percent-encoded UTF-8.")] = None,
) -> Any:
    """A video or photo from anyone (no account), streamed as the raw body, into quarantine. The answer is a
    receipt for this file only; nothing of other submissions is ever shown."""
    declared = request.headers.get("content-length")
    headers = intake.SubmissionHeaders(
        filename=x_filename,
        content_type=content_type,
        content_length=int(declared) if declared is not None and declared.isdigit() else None,
        attestation=x_attestation,
        taken_at=x_taken_at,
        lat=x_lat,
        lon=x_lon,
        name=x_contact_name,
        phone=x_contact_phone,
        description=x_description,
    )
    actor = public_actor(appeal[:40], client_address(request))
    return await intake.receive(write_session, actor, appeal, request.stream(), headers)


@router.get("/submissions/{submission_id}", response_model=SubmissionRead)
def get_submission(submission_id: UUID, session: SessionDep, actor: Reader) -> Any:
    return service.submission_views(session, [service.get_submission(session, actor, submission_id)])[0]


@router.post("/submissions/{submission_id}/accept", response_model=SubmissionRead)
def accept(submission_id: UUID, body: AcceptIn, session: SessionDep, actor: Triage) -> Any:
    """Accept a quarantined submission as evidence of the case, with its contributor recorded: it becomes an
    original of the case (`original_id`: the same stored object, no copy), listed in the case's custody report
    and bundle as contributed through the appeal, and cut into clips of the case."""
    return service.submission_views(session, [service.accept(session, actor, submission_id, body.note)])[0]


@router.post("/submissions/{submission_id}/decline", response_model=SubmissionRead)
def decline(submission_id: UUID, body: DeclineIn, session: SessionDep, actor: Triage) -> Any:
    """Decline with a reason and category: kept only for the short quarantine period."""
    return service.submission_view(service.decline(session, actor, submission_id, body))


@router.post("/submissions/{submission_id}/download-link", response_model=SubmissionLinkRead)
def download_link(submission_id: UUID, body: SubmissionLinkIn, session: SessionDep, actor: Reader) -> Any:
    return service.download_link(session, actor, submission_id, body.purpose)


@router.post("/submissions/{submission_id}/clips", response_model=SubmissionClipRead, status_code=201)
def make_clip(submission_id: UUID, body: SubmissionClipIn, session: SessionDep, actor: Triage) -> Any:
    """Cut a window from an accepted video (stream copy): a clip of the case cut from the submission's original,
    naming its parent's SHA-256, placed by the time the sender stated for its first frame or by
    `recording_start`; the same window again returns the same clip."""
    return clipping.make_clip(session, actor, submission_id, body.window_start, body.window_end, body.recording_start)


@router.get("/submissions/{submission_id}/clips", response_model=SubmissionClipList)
def list_clips(submission_id: UUID, session: SessionDep, actor: Reader) -> Any:
    items = clipping.clips_of(session, actor, submission_id)
    return {"items": items, "total": len(items)}


@router.post("/submission-clips/{clip_id}/download-link", response_model=SubmissionLinkRead)
def clip_download_link(clip_id: UUID, body: SubmissionLinkIn, session: SessionDep, actor: Reader) -> Any:
    return clipping.download_link(session, actor, clip_id, body.purpose)
