"""Pages for camera owners with an account: my cameras and consent history, and the ledger of who touched
the footage I handed over."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any
from uuid import UUID
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Form, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from app.auth.permissions import Actor
from app.core import clock
from app.core.config import get_settings
from app.core.db import SessionDep
from app.extractions import consent_effects
from app.registry import receipts as receipt_records
from app.registry import service as registry
from app.registry.schemas import ConsentCreate, WithdrawIn
from app.reports import custody_view, receipts
from app.web.forms import DEFAULT_TZ, FormError, form_action, stated_reason
from app.web.owner_requests import OwnerActor, local_field, page_gettext
from app.web.pages import check_csrf, locale_of, render

router = APIRouter(include_in_schema=False)
LEDGER_PAGE = 100


def _render_cameras(request: Request, session: Session, actor: Actor, *, status: int = 200, **extra: Any) -> Response:
    assert actor.owner_id is not None
    cameras, _ = registry.list_cameras(session, actor, limit=500, offset=0)
    now = clock.now()
    consents = list(reversed(registry.consent_history(session, actor, actor.owner_id)))
    context = {
        "cameras": cameras,
        "consent_now": {c.id: registry.consent_state(session, c, now) for c in cameras},
        "consents": consents,
        "receipts": {k.id: receipt_records.receipts_of(session, k) for k in consents},
        "camera_labels": {c.id: c.label for c in cameras},
        "today": now.astimezone(ZoneInfo(DEFAULT_TZ)).strftime("%Y-%m-%dT%H:%M"),
        "tz": DEFAULT_TZ,
        "terms_version": get_settings().programme_terms_version,
        "terms_text": get_settings().programme_terms_text,
    }
    return render(request, "owner_cameras.html", {**context, **extra}, status)


@router.get("/owner/cameras", response_class=HTMLResponse)
def my_cameras(request: Request, session: SessionDep, actor: OwnerActor) -> Response:
    return _render_cameras(request, session, actor)


SCOPES = ("on_request", "auto_approve")


def _consent_from_form(
    actor: Actor, cameras: dict[str, UUID], form: dict[str, str], gettext: Callable[[str], str]
) -> ConsentCreate:
    """The consent an owner gives on the page, under the programme's current terms (filled in here, never typed);
    each field that makes no sense is refused in words the owner acts on."""
    if form["agree"] != "yes":
        raise FormError(gettext("Tick the box to say you have read and accept the programme's terms."))
    if form["scope"] not in SCOPES:
        raise FormError(gettext("Choose when the police may have your footage: each time you agree, or always."))
    if form["camera_id"] and form["camera_id"] not in cameras:
        raise FormError(gettext("Choose one of your cameras, or all of them."))
    valid_from = local_field(form["valid_from"], DEFAULT_TZ, gettext("Valid from"), gettext)
    valid_until = (
        local_field(form["valid_until"], DEFAULT_TZ, gettext("Valid until"), gettext) if form["valid_until"] else None
    )
    if valid_until is not None and valid_until <= valid_from:
        raise FormError(gettext("The end date must come after the start date (or leave it empty)."))
    settings = get_settings()
    return ConsentCreate(
        camera_id=cameras[form["camera_id"]] if form["camera_id"] else None,
        scope="auto_approve" if form["scope"] == "auto_approve" else "on_request",
        valid_from=valid_from,
        valid_until=valid_until,
        terms_version=settings.programme_terms_version,
        legal_basis=settings.programme_legal_basis,
    )


@router.post("/owner/consents", response_class=HTMLResponse)
def give_consent(
    request: Request,
    session: SessionDep,
    actor: OwnerActor,
    csrf_token: Annotated[str | None, Form()] = None,
    scope: Annotated[str, Form()] = "",
    valid_from: Annotated[str, Form()] = "",
    camera_id: Annotated[str, Form()] = "",
    valid_until: Annotated[str, Form()] = "",
    agree: Annotated[str, Form()] = "",
) -> Response:
    """Consent for all my cameras (no camera chosen) or one of them, under the programme's current terms (their
    version and legal basis recorded by the system); times read in Asia/Ho_Chi_Minh."""
    check_csrf(request, csrf_token)
    assert actor.owner_id is not None
    owner_id = actor.owner_id
    gettext = page_gettext(request)
    form = {
        "camera_id": camera_id.strip(),
        "scope": scope.strip(),
        "valid_from": valid_from.strip(),
        "valid_until": valid_until.strip(),
        "agree": agree.strip(),
    }

    def give() -> None:
        cameras, _ = registry.list_cameras(session, actor, limit=500, offset=0)
        body = _consent_from_form(actor, {str(c.id): c.id for c in cameras}, form, gettext)
        registry.give_consent(session, actor, owner_id, body)

    return form_action(
        session,
        give,
        done=lambda _: RedirectResponse("/owner/cameras#consents", status_code=303),
        again=lambda error: _render_cameras(request, session, actor, error=error, form=form),
    )


@router.post("/owner/consents/{consent_id}/withdraw", response_class=HTMLResponse)
def withdraw_consent(
    request: Request,
    consent_id: UUID,
    session: SessionDep,
    actor: OwnerActor,
    csrf_token: Annotated[str | None, Form()] = None,
    reason: Annotated[str, Form()] = "",
) -> Response:
    check_csrf(request, csrf_token)
    refusal = page_gettext(request)("Reason: please say briefly why you withdraw (at least 3 characters).")
    form = {"withdraw_id": str(consent_id), "withdraw_reason": reason}
    return form_action(
        session,
        lambda: consent_effects.withdraw_consent(
            session, actor, consent_id, WithdrawIn(reason=stated_reason(reason, refusal)).reason
        ),
        done=lambda _: RedirectResponse("/owner/cameras#consents", status_code=303),
        again=lambda error: _render_cameras(request, session, actor, error=error, form=form),
        raised=(404,),  # not theirs, or no such consent: nothing to show the form for
    )


@router.get("/owner/consents/{consent_id}/receipts/{seq}.pdf")
def consent_receipt_pdf(
    consent_id: UUID, seq: Annotated[int, Path(ge=1, le=2**63 - 1)], session: SessionDep, actor: OwnerActor
) -> Response:
    """The receipt of one change of my consent, as a Vietnamese PDF to keep."""
    body = receipts.receipt_pdf(session, actor, consent_id, seq, get_settings().programme_terms_text)
    return Response(
        body,
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="bien-nhan-dong-y-{seq}.pdf"'},
    )


@router.get("/owner/ledger", response_class=HTMLResponse)
def my_ledger(
    request: Request, session: SessionDep, actor: OwnerActor, offset: Annotated[int, Query(ge=0, le=10**9)] = 0
) -> Response:
    """Who touched what I handed over, oldest first, in my cameras' time zone (Asia/Ho_Chi_Minh if they differ)."""
    items, total = custody_view.owner_ledger(session, actor, LEDGER_PAGE, offset, locale_of(request))
    cameras, _ = registry.list_cameras(session, actor, limit=500, offset=0)
    zones = {c.timezone for c in cameras}
    events = [{**item, "at": datetime.fromisoformat(item["at"])} for item in items]
    return render(
        request,
        "owner_ledger.html",
        {
            "events": events,
            "total": total,
            "offset": offset,
            "page": LEDGER_PAGE,
            "tz": zones.pop() if len(zones) == 1 else DEFAULT_TZ,
        },
    )
