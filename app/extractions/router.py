from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Query

from app.auth import links
from app.auth.links import LinkActor
from app.auth.permissions import Actor, allow
from app.auth.schemas import Page
from app.core import idempotency
from app.core.db import SessionDep
from app.core.idempotency import IdempotencyKey
from app.core.pagination import PageDep
from app.core.responses import validated_json
from app.extractions import consent_effects, filing, listing, service
from app.extractions import owners_to_call as calling
from app.extractions.schemas import (
    ApproveIn,
    AreaRequestCreate,
    AreaRequestResult,
    LinkRead,
    OwnerToCallRead,
    ReasonIn,
    RequestCreate,
    RequestRead,
    WaitingRequestRead,
)
from app.extractions.states import RequestStatus
from app.registry.schemas import ConsentRead, WithdrawIn

router = APIRouter(prefix="/api/v1", tags=["requests"])


@router.post("/cases/{case_id}/requests", response_model=RequestRead, status_code=201)
def file_request(
    case_id: UUID,
    body: RequestCreate,
    session: SessionDep,
    actor: Annotated[Actor, Depends(allow("requests.file"))],
    idempotency_key: IdempotencyKey = None,
) -> Any:
    return idempotency.once(
        session,
        actor.label,
        idempotency_key,
        idempotency.fingerprint("POST", f"/cases/{case_id}/requests", body.model_dump(mode="json")),
        lambda: filing.file_request(session, actor, case_id, body),
        RequestRead,
        201,
    )


@router.post("/cases/{case_id}/area-requests", response_model=AreaRequestResult, status_code=201)
def file_area_request(
    case_id: UUID,
    body: AreaRequestCreate,
    session: SessionDep,
    actor: Annotated[Actor, Depends(allow("requests.file"))],
    idempotency_key: IdempotencyKey = None,
) -> Any:
    return idempotency.once(
        session,
        actor.label,
        idempotency_key,
        idempotency.fingerprint("POST", f"/cases/{case_id}/area-requests", body.model_dump(mode="json")),
        lambda: filing.file_area_request(session, actor, case_id, body),
        AreaRequestResult,
        201,
    )


@router.get("/requests", response_model=Page[RequestRead])
async def list_requests(
    page: PageDep,
    actor: Annotated[Actor, Depends(allow("requests.read"))],
    status: Annotated[RequestStatus | None, Query()] = None,
    case_id: Annotated[UUID | None, Query()] = None,
    camera_id: Annotated[UUID | None, Query()] = None,
) -> Any:
    # async, on the read pool: no thread hop and no Session for the most frequent read of an investigator
    found = await listing.list_requests(
        actor, limit=page.limit, offset=page.offset, status=status, case_id=case_id, camera_id=camera_id
    )
    return validated_json(found)


@router.post("/requests/{request_id}/approve", response_model=RequestRead)
def approve(
    request_id: UUID, body: ApproveIn, session: SessionDep, actor: Annotated[Actor, Depends(allow("requests.respond"))]
) -> Any:
    return service.approve(session, actor, request_id, body)


@router.post("/requests/{request_id}/deny", response_model=RequestRead)
def deny(
    request_id: UUID, body: ReasonIn, session: SessionDep, actor: Annotated[Actor, Depends(allow("requests.respond"))]
) -> Any:
    return service.deny(session, actor, request_id, body.reason)


@router.post("/requests/{request_id}/cancel", response_model=RequestRead)
def cancel(
    request_id: UUID, body: ReasonIn, session: SessionDep, actor: Annotated[Actor, Depends(allow("requests.cancel"))]
) -> Any:
    return service.cancel(session, actor, request_id, body.reason)


@router.post("/requests/{request_id}/links", response_model=LinkRead, status_code=201)
def issue_link(
    request_id: UUID, session: SessionDep, actor: Annotated[Actor, Depends(allow("links.manage"))]
) -> LinkRead:
    link, token = service.issue_link(session, actor, request_id)
    return LinkRead(id=link.id, request_id=link.request_id, url=links.link_url(token), expires_at=link.expires_at)


@router.delete("/requests/{request_id}/links/{link_id}", status_code=204)
def revoke_link(
    request_id: UUID, link_id: UUID, session: SessionDep, actor: Annotated[Actor, Depends(allow("links.manage"))]
) -> None:
    service.revoke_link(session, actor, request_id, link_id)


# -- the owner's one-time link -------------------------------------------------------------------
@router.post("/respond/{token}/approve", response_model=RequestRead, tags=["owner link"])
def link_approve(token: str, body: ApproveIn, session: SessionDep, actor: LinkActor) -> Any:
    assert actor.link_request_id is not None
    return service.approve(session, actor, actor.link_request_id, body)


@router.post("/respond/{token}/deny", response_model=RequestRead, tags=["owner link"])
def link_deny(token: str, body: ReasonIn, session: SessionDep, actor: LinkActor) -> Any:
    assert actor.link_request_id is not None
    return service.deny(session, actor, actor.link_request_id, body.reason)


@router.get("/cases/{case_id}/owners-to-call", response_model=list[OwnerToCallRead], tags=["cases"])
def owners_to_call(
    case_id: UUID, session: SessionDep, actor: Annotated[Actor, Depends(allow("cases.owners_to_call"))]
) -> list[OwnerToCallRead]:
    """Owners of the case's waiting requests whom no email or bridge message reaches, with their phone, to call;
    soonest overwrite deadline first."""
    return [
        OwnerToCallRead(
            owner_id=o.owner_id,
            owner_name=o.owner_name,
            phone=o.phone,
            phone_display=o.phone_display,
            reason=o.reason,
            requests=[
                WaitingRequestRead(
                    request_id=r.request_id,
                    camera_label=r.camera_label,
                    status=r.status,
                    overwrite_deadline=r.overwrite_deadline,
                    overwrite_deadline_local=r.overwrite_deadline.astimezone(ZoneInfo(r.camera_timezone)).isoformat(),
                )
                for r in o.requests
            ],
        )
        for o in calling.owners_to_call(session, actor, case_id)
    ]


@router.post("/consents/{consent_id}/withdraw", response_model=ConsentRead, tags=["registry"])
def withdraw_consent(
    consent_id: UUID, body: WithdrawIn, session: SessionDep, actor: Annotated[Actor, Depends(allow("consents.write"))]
) -> Any:
    """Withdraw a consent: auto-approval stops at once, the owner gets a receipt, and the investigators of the
    camera's open requests are told."""
    return consent_effects.withdraw_consent(session, actor, consent_id, body.reason)
