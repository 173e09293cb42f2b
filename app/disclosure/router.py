"""Disclosure over HTTP: case grants (supervisors and admins), and the prosecutor's packages and receipts."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Response
from fastapi.responses import StreamingResponse

from app.auth.grants import CaseGrant
from app.auth.permissions import Actor, allow
from app.core.db import SessionDep
from app.core.http import content_disposition
from app.disclosure import grants, service
from app.disclosure.models import Disclosure
from app.disclosure.schemas import (
    Acknowledgement,
    CaseEvidenceRead,
    ClipItem,
    DisclosureRead,
    GrantCreate,
    GrantRead,
    PackageCreate,
    RedactedCopyItem,
)

router = APIRouter(prefix="/api/v1", tags=["disclosure"])
Granter = Annotated[Actor, Depends(allow("grants.manage"))]


@router.post("/cases/{case_id}/grants", response_model=GrantRead, status_code=201)
def grant_case(case_id: UUID, body: GrantCreate, session: SessionDep, actor: Granter) -> CaseGrant:
    """Give a prosecutor sight of the case (its clips, custody bundle and reports) until `expires_at`."""
    return grants.grant_case(session, actor, case_id, body.grantee_email, body.expires_at, body.reason)


@router.get("/cases/{case_id}/grants", response_model=list[GrantRead])
def list_grants(case_id: UUID, session: SessionDep, actor: Granter) -> list[CaseGrant]:
    return grants.list_grants(session, actor, case_id)


@router.post("/grants/{grant_id}/revoke", response_model=GrantRead)
def revoke_grant(grant_id: UUID, session: SessionDep, actor: Granter) -> CaseGrant:
    return grants.revoke_grant(session, actor, grant_id)


@router.get("/cases/{case_id}/disclosure", response_model=CaseEvidenceRead)
def case_evidence(
    case_id: UUID, session: SessionDep, actor: Annotated[Actor, Depends(allow("disclosure.read"))]
) -> CaseEvidenceRead:
    """A granted case's clips and the caller's packages of it."""
    evidence = service.case_evidence(session, actor, case_id)
    return CaseEvidenceRead(
        case_id=evidence.case.id,
        number=evidence.case.number,
        title=evidence.case.title,
        grant_expires_at=evidence.grant.expires_at,
        clips=[
            ClipItem.model_validate(c).model_copy(
                update={"redactions": [RedactedCopyItem.model_validate(r) for r in evidence.redactions.get(c.id, [])]}
            )
            for c in evidence.clips
        ],
        disclosures=[DisclosureRead.model_validate(d) for d in evidence.disclosures],
    )


@router.post("/cases/{case_id}/disclosures", response_model=DisclosureRead, status_code=201)
def make_package(
    case_id: UUID,
    body: PackageCreate,
    session: SessionDep,
    actor: Annotated[Actor, Depends(allow("disclosure.package"))],
) -> Disclosure:
    """Package the chosen clips (all when none named), or rendered redacted copies in their place, with the custody
    bundle and a receipt listing them."""
    return service.make_package(session, actor, case_id, body.clip_ids, redaction_ids=body.redaction_ids)


@router.get(
    "/disclosures/{disclosure_id}/package",
    responses={200: {"content": {"application/zip": {"schema": {"type": "string", "format": "binary"}}}}},
)
def download_package(
    disclosure_id: UUID, session: SessionDep, actor: Annotated[Actor, Depends(allow("disclosure.read"))]
) -> StreamingResponse:
    """The package as a ZIP, streamed: the clips, the custody bundle and receipt.pdf. Every download is logged
    (the request's transaction commits the event when the handler returns, before the first byte leaves)."""
    disclosure, files = service.open_package(session, actor, disclosure_id)
    name = f"disclosure-{str(disclosure.id)[:8]}.zip"
    return StreamingResponse(
        service.stream_zip(files),
        media_type="application/zip",
        headers={"Content-Disposition": content_disposition(name)},
    )


@router.get(
    "/disclosures/{disclosure_id}/receipt",
    responses={200: {"content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}}}},
)
def receipt(
    disclosure_id: UUID, session: SessionDep, actor: Annotated[Actor, Depends(allow("disclosure.read"))]
) -> Response:
    disclosure = service.get_disclosure(session, actor, disclosure_id)
    return Response(
        disclosure.receipt_pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": content_disposition("receipt.pdf")},
    )


@router.post("/disclosures/{disclosure_id}/acknowledge", response_model=DisclosureRead)
def acknowledge(
    disclosure_id: UUID,
    body: Acknowledgement,
    session: SessionDep,
    actor: Annotated[Actor, Depends(allow("disclosure.acknowledge"))],
) -> Disclosure:
    """The recipient confirms they received the package as listed (recorded once, in the custody log)."""
    return service.acknowledge(session, actor, disclosure_id, body.name)
