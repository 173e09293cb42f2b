"""Disclosure pages: the supervisor's grants of a case to prosecutors; the prosecutor's granted cases, a case's
clips with the packages made of them (ZIP, receipt, acknowledgement). Every rule is the disclosure service's."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse
from sqlalchemy.orm import Session

from app.auth.permissions import Actor, ensure_role
from app.cases import service as cases
from app.core import clock
from app.core.db import SessionDep
from app.core.errors import RuleViolation
from app.core.http import content_disposition
from app.disclosure import grants, service
from app.reports.names import load_names, size_words
from app.web.forms import form_action
from app.web.pages import WebActor, check_csrf, locale_of, render

router = APIRouter(include_in_schema=False)
ZONE = "Asia/Ho_Chi_Minh"


@router.get("/disclosure", response_class=HTMLResponse)
def granted_cases(request: Request, session: SessionDep, actor: WebActor) -> Response:
    """The prosecutor's cases: those with a live grant, newest first."""
    ensure_role(actor, "prosecutor.pages")
    rows, _ = cases.list_cases(session, actor, limit=200, offset=0)
    return render(request, "disclosure_cases.html", {"cases": rows})


def _case_page(request: Request, session: Session, actor: Actor, case_id: UUID, **extra: Any) -> Response:
    locale = locale_of(request)
    evidence = service.case_evidence(session, actor, case_id)
    names = load_names(session, clips=[c.id for c in evidence.clips])
    clips = [
        {
            "id": c.id,
            "name": names.clip(c.id, locale),
            "sha256": c.sha256,
            "size": size_words(c.size, locale),
            "copies": [
                {
                    "id": r.id,
                    "style": r.style,
                    "rendered_at": r.rendered_at,
                    "sha256": r.sha256,
                    "size": size_words(int(r.size or 0), locale),
                }
                for r in evidence.redactions.get(c.id, [])
            ],
        }
        for c in evidence.clips
    ]
    packages = [
        {
            "id": d.id,
            "created_at": d.created_at,
            "items": [{**item, "size_words": size_words(int(item["size"]), locale)} for item in d.items],
            "acknowledged_at": d.acknowledged_at,
            "acknowledged_name": d.acknowledged_name,
        }
        for d in evidence.disclosures
    ]
    context = {"case": evidence.case, "grant": evidence.grant, "clips": clips, "packages": packages, "zone": ZONE}
    return render(request, "disclosure_case.html", {**context, **extra})


@router.get("/disclosure/cases/{case_id}", response_class=HTMLResponse)
def case_page(request: Request, case_id: UUID, session: SessionDep, actor: WebActor) -> Response:
    return _case_page(request, session, actor, case_id)


@router.post("/disclosure/cases/{case_id}/packages", response_class=HTMLResponse)
def make_package(
    request: Request,
    case_id: UUID,
    session: SessionDep,
    actor: WebActor,
    csrf_token: Annotated[str, Form()],
    clip_ids: Annotated[list[str] | None, Form()] = None,
    redaction_ids: Annotated[list[str] | None, Form()] = None,
) -> Response:
    """The chosen clips; beside each, the clip itself (an empty choice) or one of its redacted copies."""
    check_csrf(request, csrf_token)

    def make() -> Any:
        try:
            chosen = [UUID(value) for value in clip_ids or []]
        except ValueError as exc:
            raise RuleViolation("clip_ids", "choose clips of this case only") from exc
        if not chosen:
            raise RuleViolation("clip_ids", "choose at least one clip")
        try:
            copies = [UUID(value) for value in redaction_ids or [] if value.strip()]
        except ValueError as exc:
            raise RuleViolation("redaction_ids", "choose finished redacted copies of this case's clips only") from exc
        return service.make_package(session, actor, case_id, chosen, locale_of(request), redaction_ids=copies)

    return form_action(
        session,
        make,
        done=lambda d: RedirectResponse(f"/disclosure/cases/{case_id}#package-{d.id}", status_code=303),
        again=lambda error: _case_page(request, session, actor, case_id, error=error),
        raised=(404,),
        locale=locale_of(request),
    )


@router.get("/disclosure/packages/{disclosure_id}/package.zip")
def package_zip(request: Request, disclosure_id: UUID, session: SessionDep, actor: WebActor) -> Response:
    disclosure, files = service.open_package(session, actor, disclosure_id)
    return StreamingResponse(
        service.stream_zip(files),
        media_type="application/zip",
        headers={"Content-Disposition": content_disposition(f"disclosure-{str(disclosure.id)[:8]}.zip")},
    )


@router.get("/disclosure/packages/{disclosure_id}/receipt.pdf")
def receipt_pdf(request: Request, disclosure_id: UUID, session: SessionDep, actor: WebActor) -> Response:
    disclosure = service.get_disclosure(session, actor, disclosure_id)
    return Response(
        disclosure.receipt_pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": content_disposition("receipt.pdf")},
    )


@router.post("/disclosure/packages/{disclosure_id}/acknowledge", response_class=HTMLResponse)
def acknowledge(
    request: Request,
    disclosure_id: UUID,
    session: SessionDep,
    actor: WebActor,
    csrf_token: Annotated[str, Form()],
    name: Annotated[str, Form()] = "",
) -> Response:
    check_csrf(request, csrf_token)
    disclosure = service.get_disclosure(session, actor, disclosure_id)
    case_id = disclosure.case_id
    return form_action(
        session,
        lambda: service.acknowledge(session, actor, disclosure_id, name),
        done=lambda d: RedirectResponse(f"/disclosure/cases/{case_id}#package-{d.id}", status_code=303),
        again=lambda error: _case_page(request, session, actor, case_id, error=error),
        raised=(404,),
        locale=locale_of(request),
    )


# -- the supervisor's side ---------------------------------------------------------------------------------
def _grants_page(request: Request, session: Session, actor: Actor, case_id: UUID, **extra: Any) -> Response:
    case = cases.get_case(session, actor, case_id)
    rows = grants.list_grants(session, actor, case_id)
    names = load_names(session, users={g.grantee_id for g in rows} | {g.granted_by for g in rows})
    locale = locale_of(request)
    now = clock.now()
    shown = [
        {
            "id": g.id,
            "grantee": names.person(g.grantee_id, locale),
            "granted_by": names.person(g.granted_by, locale),
            "granted_at": g.granted_at,
            "expires_at": g.expires_at,
            "reason": g.reason,
            "revoked_at": g.revoked_at,
            "live": g.revoked_at is None and g.expires_at > now,
        }
        for g in rows
    ]
    default_end = (now + timedelta(days=30)).astimezone().strftime("%Y-%m-%d")
    return render(request, "case_grants.html", {"case": case, "grants": shown, "default_end": default_end, **extra})


@router.get("/cases/{case_id}/grants", response_class=HTMLResponse)
def grants_page(request: Request, case_id: UUID, session: SessionDep, actor: WebActor) -> Response:
    return _grants_page(request, session, actor, case_id)


@router.post("/cases/{case_id}/grants", response_class=HTMLResponse)
def add_grant(
    request: Request,
    case_id: UUID,
    session: SessionDep,
    actor: WebActor,
    csrf_token: Annotated[str, Form()],
    grantee_email: Annotated[str, Form()] = "",
    until: Annotated[str, Form()] = "",
    reason: Annotated[str, Form()] = "",
) -> Response:
    """A grant until the end of the chosen day, in the case's local time."""
    check_csrf(request, csrf_token)

    def add() -> Any:
        from datetime import date, datetime, time
        from zoneinfo import ZoneInfo

        try:
            day = date.fromisoformat(until.strip())
        except ValueError as exc:
            raise RuleViolation("expires_at", "choose the last day of the grant") from exc
        expires = datetime.combine(day, time(23, 59, 59), ZoneInfo(ZONE))
        return grants.grant_case(session, actor, case_id, grantee_email, expires, reason)

    return form_action(
        session,
        add,
        done=lambda _: RedirectResponse(f"/cases/{case_id}/grants", status_code=303),
        again=lambda error: _grants_page(request, session, actor, case_id, error=error),
        raised=(404,),
        locale=locale_of(request),
    )


@router.post("/grants/{grant_id}/revoke", response_class=HTMLResponse)
def revoke(
    request: Request, grant_id: UUID, session: SessionDep, actor: WebActor, csrf_token: Annotated[str, Form()]
) -> Response:
    check_csrf(request, csrf_token)
    grant = grants.revoke_grant(session, actor, grant_id)
    return RedirectResponse(f"/cases/{grant.case_id}/grants", status_code=303)
