"""Admin pages for the registry: owners (search, create, edit), each owner's cameras (edit) and consents recorded
on the owner's behalf from a signed paper form. Admins only."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode
from uuid import UUID
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from app.auth.permissions import Actor, ensure_role
from app.core import clock
from app.core.db import SessionDep
from app.core.pagination import MAX_OFFSET
from app.registry import service as registry
from app.registry.models import CAMERA_STATUSES, OWNER_KINDS, PROGRAMMES
from app.registry.schemas import CameraUpdate, ConsentCreate, OwnerCreate, OwnerUpdate
from app.web.forms import DEFAULT_TZ, FormError, form_action, local_to_utc
from app.web.labels import N_
from app.web.owner_requests import page_gettext
from app.web.pages import WebActor, check_csrf, render

router = APIRouter(include_in_schema=False)

REGISTRY_LABELS = (
    N_("owner_kind_person"),
    N_("owner_kind_household"),
    N_("owner_kind_business"),
    N_("owner_kind_school"),
    N_("owner_kind_agency"),
    N_("owner_kind_community"),
    N_("owner_kind_police"),
    N_("programme_police"),
    N_("programme_private"),
    N_("camera_status_active"),
    N_("camera_status_inactive"),
    N_("camera_status_decommissioned"),
)

PAGE_SIZE = 50
CAMERAS_SHOWN = 500
PAPER_TERMS = "2025-01"  # the terms printed on the programme's current paper consent form
OWNER_FIELDS = ("name", "kind", "phone", "email", "address", "external_id", "locale")
CAMERA_TEXT = ("label", "address", "province", "district", "ward", "recorder_make", "recorder_model", "timezone")
CAMERA_NUMBERS = ("lat", "lon", "direction_deg", "fov_deg", "range_m", "retention_days")


def _blank_to_none(value: str) -> str | None:
    return value.strip() or None


def _number(value: str) -> float | None:
    """A number typed with a decimal point or comma; blank is none."""
    value = value.strip().replace(",", ".")
    return float(value) if value else None


# -- owners ----------------------------------------------------------------------------------------
def _render_owners(
    request: Request, session: Session, actor: Actor, *, offset: int = 0, search: str = "", **extra: Any
) -> Response:
    owners, total = registry.list_owners(session, actor, PAGE_SIZE, offset, search.strip() or None)
    context = {
        "owners": owners,
        "total": total,
        "kinds": OWNER_KINDS,
        "offset": offset,
        "search": search,
        "search_query": urlencode({"q": search}) if search else "",
        "previous_offset": max(offset - PAGE_SIZE, 0) if offset > 0 else None,
        "next_offset": offset + PAGE_SIZE if offset + PAGE_SIZE < total else None,
    }
    return render(request, "admin_owners.html", {**context, **extra})


@router.get("/admin/owners", response_class=HTMLResponse)
def owners_page(
    request: Request,
    session: SessionDep,
    actor: WebActor,
    q: Annotated[str, Query(max_length=200)] = "",
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> Response:
    ensure_role(actor, "owners.write")
    return _render_owners(request, session, actor, search=q, offset=offset)


def _owner_form(form: dict[str, str]) -> dict[str, Any]:
    values: dict[str, Any] = {name: _blank_to_none(form.get(name, "")) for name in OWNER_FIELDS}
    values["locale"] = values["locale"] or "vi"
    return values


@router.post("/admin/owners", response_class=HTMLResponse)
def owner_create(
    request: Request,
    session: SessionDep,
    actor: WebActor,
    csrf_token: Annotated[str, Form()],
    name: Annotated[str, Form()] = "",
    kind: Annotated[str, Form()] = "",
    phone: Annotated[str, Form()] = "",
    email: Annotated[str, Form()] = "",
    address: Annotated[str, Form()] = "",
    external_id: Annotated[str, Form()] = "",
    locale: Annotated[str, Form()] = "vi",
) -> Response:
    check_csrf(request, csrf_token)
    ensure_role(actor, "owners.write")
    form = {"name": name, "kind": kind, "phone": phone, "email": email, "address": address}
    form |= {"external_id": external_id, "locale": locale}
    return form_action(
        session,
        lambda: registry.create_owner(session, OwnerCreate.model_validate(_owner_form(form))),
        done=lambda owner: RedirectResponse(f"/admin/owners/{owner.id}?saved=1", status_code=303),
        again=lambda error: _render_owners(request, session, actor, error=error, form=form),
    )


def _render_owner(
    request: Request, session: Session, actor: Actor, owner_id: UUID, *, saved: str = "", **extra: Any
) -> Response:
    owner = registry.get_owner(session, actor, owner_id)
    cameras, camera_total = registry.list_cameras(session, actor, CAMERAS_SHOWN, 0, owner_id=owner.id)
    now = clock.now()
    context = {
        "owner": owner,
        "kinds": OWNER_KINDS,
        "cameras": cameras,
        "camera_total": camera_total,
        "consent_now": {c.id: registry.consent_state(session, c, now) for c in cameras},
        "consents": list(reversed(registry.consent_history(session, actor, owner.id))),
        "camera_labels": {c.id: c.label for c in cameras},
        "today": now.astimezone(ZoneInfo(DEFAULT_TZ)).strftime("%Y-%m-%d"),
        "terms": PAPER_TERMS,
        "tz": DEFAULT_TZ,
        "saved": saved,
    }
    return render(request, "admin_owner.html", {**context, **extra})


@router.get("/admin/owners/{owner_id}", response_class=HTMLResponse)
def owner_page(
    request: Request,
    session: SessionDep,
    actor: WebActor,
    owner_id: UUID,
    saved: Annotated[str, Query(max_length=20)] = "",
) -> Response:
    ensure_role(actor, "owners.write")
    return _render_owner(request, session, actor, owner_id, saved=saved)


@router.post("/admin/owners/{owner_id}", response_class=HTMLResponse)
def owner_update(
    request: Request,
    session: SessionDep,
    actor: WebActor,
    owner_id: UUID,
    csrf_token: Annotated[str, Form()],
    name: Annotated[str, Form()] = "",
    kind: Annotated[str, Form()] = "",
    phone: Annotated[str, Form()] = "",
    email: Annotated[str, Form()] = "",
    address: Annotated[str, Form()] = "",
    external_id: Annotated[str, Form()] = "",
    locale: Annotated[str, Form()] = "vi",
) -> Response:
    check_csrf(request, csrf_token)
    ensure_role(actor, "owners.write")
    form = {"name": name, "kind": kind, "phone": phone, "email": email, "address": address}
    form |= {"external_id": external_id, "locale": locale}
    return form_action(
        session,
        lambda: registry.update_owner(session, actor, owner_id, OwnerUpdate.model_validate(_owner_form(form))),
        done=lambda owner: RedirectResponse(f"/admin/owners/{owner.id}?saved=owner", status_code=303),
        again=lambda error: _render_owner(request, session, actor, owner_id, error=error, owner_form=form),
        raised=(404,),
    )


@router.post("/admin/owners/{owner_id}/consents", response_class=HTMLResponse)
def consent_on_behalf(
    request: Request,
    session: SessionDep,
    actor: WebActor,
    owner_id: UUID,
    csrf_token: Annotated[str, Form()],
    paper_reference: Annotated[str, Form()] = "",
    signed_by: Annotated[str, Form()] = "",
    signed_on: Annotated[str, Form()] = "",
    valid_until: Annotated[str, Form()] = "",
    scope: Annotated[str, Form()] = "on_request",
    camera_id: Annotated[str, Form()] = "",
    terms_version: Annotated[str, Form()] = PAPER_TERMS,
) -> Response:
    """A consent the owner signed on paper, recorded by an admin: the form's reference number goes into the
    legal basis and the signer into given-by, so the custody event names the paper it came from."""
    check_csrf(request, csrf_token)
    ensure_role(actor, "consents.write")
    gettext = page_gettext(request)
    form = {"paper_reference": paper_reference, "signed_by": signed_by, "signed_on": signed_on}
    form |= {"valid_until": valid_until, "scope": scope, "camera_id": camera_id, "terms_version": terms_version}

    def record() -> object:
        reference = paper_reference.strip()
        if len(reference) < 2:
            raise FormError(gettext("Enter the reference number printed on the paper form."))
        if not signed_on.strip():
            raise FormError(gettext("Enter the date the owner signed the paper form."))
        try:
            valid_from = local_to_utc(signed_on.strip() + "T00:00")
            until = local_to_utc(valid_until.strip() + "T00:00") if valid_until.strip() else None
        except ValueError:
            raise FormError(gettext("Dates are written as day, month and year.")) from None
        body = ConsentCreate(
            camera_id=UUID(camera_id) if camera_id.strip() else None,
            scope=scope,  # checked by the schema
            valid_from=valid_from,
            valid_until=until,
            terms_version=terms_version.strip() or PAPER_TERMS,
            # Stored words are the programme's language, as on the paper form itself.
            legal_basis=f"Phiếu đồng ý bằng giấy số {reference}",
            given_by=f"{signed_by.strip() or '-'} (phiếu giấy số {reference}, ghi nhận bởi {actor.email})",
        )
        return registry.give_consent(session, actor, owner_id, body)

    return form_action(
        session,
        record,
        done=lambda _: RedirectResponse(f"/admin/owners/{owner_id}?saved=consent#consents", status_code=303),
        again=lambda error: _render_owner(request, session, actor, owner_id, error=error, consent_form=form),
        raised=(404,),
    )


# -- cameras ---------------------------------------------------------------------------------------
def _render_camera(request: Request, session: Session, actor: Actor, camera_id: UUID, **extra: Any) -> Response:
    camera = registry.get_camera(session, actor, camera_id)
    owner = registry.get_owner(session, actor, camera.owner_id)
    context = {
        "camera": camera,
        "owner": owner,
        "programmes": PROGRAMMES,
        "statuses": CAMERA_STATUSES,
        "consent": registry.consent_state(session, camera, clock.now()),
    }
    return render(request, "admin_camera.html", {**context, **extra})


@router.get("/admin/cameras/{camera_id}", response_class=HTMLResponse)
def camera_page(
    request: Request,
    session: SessionDep,
    actor: WebActor,
    camera_id: UUID,
    saved: Annotated[str, Query(max_length=20)] = "",
) -> Response:
    ensure_role(actor, "owners.write")
    return _render_camera(request, session, actor, camera_id, saved=saved)


@router.post("/admin/cameras/{camera_id}", response_class=HTMLResponse)
def camera_update(
    request: Request,
    session: SessionDep,
    actor: WebActor,
    camera_id: UUID,
    csrf_token: Annotated[str, Form()],
    label: Annotated[str, Form()] = "",
    address: Annotated[str, Form()] = "",
    province: Annotated[str, Form()] = "",
    district: Annotated[str, Form()] = "",
    ward: Annotated[str, Form()] = "",
    recorder_make: Annotated[str, Form()] = "",
    recorder_model: Annotated[str, Form()] = "",
    timezone: Annotated[str, Form()] = DEFAULT_TZ,
    lat: Annotated[str, Form()] = "",
    lon: Annotated[str, Form()] = "",
    direction_deg: Annotated[str, Form()] = "",
    fov_deg: Annotated[str, Form()] = "",
    range_m: Annotated[str, Form()] = "",
    retention_days: Annotated[str, Form()] = "",
    programme: Annotated[str, Form()] = "private",
    status: Annotated[str, Form()] = "active",
    indoor: Annotated[str, Form()] = "",
) -> Response:
    check_csrf(request, csrf_token)
    ensure_role(actor, "owners.write")
    gettext = page_gettext(request)
    texts = {"label": label, "address": address, "province": province, "district": district, "ward": ward}
    texts |= {"recorder_make": recorder_make, "recorder_model": recorder_model, "timezone": timezone}
    numbers = {"lat": lat, "lon": lon, "direction_deg": direction_deg, "fov_deg": fov_deg, "range_m": range_m}
    numbers["retention_days"] = retention_days
    form = {**texts, **numbers, "programme": programme, "status": status, "indoor": indoor}

    def update() -> object:
        values: dict[str, Any] = {name: _blank_to_none(value) for name, value in texts.items()}
        try:
            values |= {name: _number(value) for name, value in numbers.items()}
        except ValueError:
            raise FormError(gettext("Coordinates, angles, range and days are numbers.")) from None
        values |= {"programme": programme, "status": status, "indoor": indoor == "on"}
        values["timezone"] = values["timezone"] or DEFAULT_TZ
        return registry.update_camera(session, actor, camera_id, CameraUpdate.model_validate(values))

    return form_action(
        session,
        update,
        done=lambda _: RedirectResponse(f"/admin/cameras/{camera_id}?saved=1", status_code=303),
        again=lambda error: _render_camera(request, session, actor, camera_id, error=error, form=form),
        raised=(404,),
    )
