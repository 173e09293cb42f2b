"""Admin pages: users (create, edit, deactivate, reactivate, password reset), units and the camera import.
Admins only; everyone else gets 403. Also the page a password-reset link opens (no sign-in: the link is the key)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any
from urllib.parse import urlencode
from uuid import UUID

from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from app.auth import service as auth
from app.auth import throttle, two_factor, unlock
from app.auth.models import Role
from app.auth.permissions import client_address, ensure_role
from app.auth.schemas import UnitCreate, UserCreate, UserUpdate
from app.core.db import SessionDep
from app.core.pagination import MAX_OFFSET
from app.registry import importer
from app.web.forms import form_action
from app.web.labels import N_
from app.web.owner_requests import page_gettext
from app.web.pages import WebActor, check_csrf, locale_of, render

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 100
UNIT_CHOICES = 500  # units offered in the user form's list


def _pages(offset: int, total: int, search: str) -> dict[str, Any]:
    """Offsets of the previous and next pages (None at either end), the search kept in their links."""
    return {
        "offset": offset,
        "search": search,
        "search_query": urlencode({"q": search}) if search else "",
        "previous_offset": max(offset - PAGE_SIZE, 0) if offset > 0 else None,
        "next_offset": offset + PAGE_SIZE if offset + PAGE_SIZE < total else None,
    }


def _optional_uuid(name: str, value: str) -> UUID | None:
    try:
        return UUID(value) if value.strip() else None
    except ValueError:
        raise ValueError(f"{name}: not a valid id") from None


# -- users ---------------------------------------------------------------------------------------
def _render_users(
    request: Request, session: Session, *, status: int = 200, offset: int = 0, search: str = "", **extra: Any
) -> Response:
    users, total = auth.list_users(session, PAGE_SIZE, offset, search.strip() or None)
    units, _ = auth.list_units(session, UNIT_CHOICES, 0)
    context = {
        "users": users,
        "total": total,
        "units": {u.id: u for u in units},
        "roles": [r.value for r in Role],
        **_pages(offset, total, search),
    }
    # Only a user who exists is announced as created (the address comes back in the redirect's query).
    created = extra.pop("created", "")
    context["created"] = created if any(u.email == created for u in users) else ""
    return render(request, "admin_users.html", {**context, **extra}, status=status)


@router.get("/admin/users", response_class=HTMLResponse)
def users_page(
    request: Request,
    session: SessionDep,
    actor: WebActor,
    created: Annotated[str, Query(max_length=320)] = "",
    q: Annotated[str, Query(max_length=200)] = "",
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> Response:
    ensure_role(actor, "users.read")
    # A new user is looked up by address, so the announcement finds them whatever page they would fall on.
    return _render_users(request, session, created=created, search=q or created, offset=offset)


@router.post("/admin/users", response_class=HTMLResponse)
def user_create(
    request: Request,
    session: SessionDep,
    actor: WebActor,
    csrf_token: Annotated[str, Form()],
    email: Annotated[str, Form()] = "",
    full_name: Annotated[str, Form()] = "",
    role: Annotated[str, Form()] = "",
    unit_id: Annotated[str, Form()] = "",
    owner_id: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
) -> Response:
    """Create a user; the role must be chosen (the form offers none by default)."""
    check_csrf(request, csrf_token)
    ensure_role(actor, "users.write")
    # The password is not sent back into the page.
    form = {"email": email, "full_name": full_name, "role": role, "unit_id": unit_id, "owner_id": owner_id}
    return form_action(
        session,
        lambda: auth.create_user(
            session,
            UserCreate(
                email=email.strip(),
                full_name=full_name.strip(),
                role=role,  # validated into a Role by the schema
                unit_id=_optional_uuid("unit_id", unit_id),
                owner_id=_optional_uuid("owner_id", owner_id),
                password=password,
            ),
        ),
        done=lambda user: RedirectResponse(f"/admin/users?{urlencode({'created': user.email})}", status_code=303),
        again=lambda error: _render_users(request, session, error=error, form=form),
    )


def _render_user(request: Request, session: Session, user_id: UUID, **extra: Any) -> Response:
    user = auth.get_user(session, user_id)
    units, _ = auth.list_units(session, UNIT_CHOICES, 0)
    context = {"user": user, "units": units, "roles": [r.value for r in Role if r != Role.owner]}
    return render(request, "admin_user.html", {**context, **extra})


@router.get("/admin/users/{user_id}", response_class=HTMLResponse)
def user_page(
    request: Request,
    session: SessionDep,
    actor: WebActor,
    user_id: UUID,
    saved: Annotated[str, Query(max_length=20)] = "",
) -> Response:
    ensure_role(actor, "users.read")
    return _render_user(request, session, user_id, saved=saved)


@router.post("/admin/users/{user_id}", response_class=HTMLResponse)
def user_update(
    request: Request,
    session: SessionDep,
    actor: WebActor,
    user_id: UUID,
    csrf_token: Annotated[str, Form()],
    full_name: Annotated[str, Form()] = "",
    role: Annotated[str, Form()] = "",
    unit_id: Annotated[str, Form()] = "",
) -> Response:
    check_csrf(request, csrf_token)
    ensure_role(actor, "users.write")
    form = {"full_name": full_name, "role": role, "unit_id": unit_id}
    return form_action(
        session,
        lambda: auth.update_user(
            session,
            user_id,
            UserUpdate.model_validate(
                {"full_name": full_name.strip(), "role": role or None, "unit_id": _optional_uuid("unit_id", unit_id)}
            ),
            actor.user_id,
            actor.client_address,
        ),
        done=lambda user: RedirectResponse(f"/admin/users/{user.id}?saved=details", status_code=303),
        again=lambda error: _render_user(request, session, user_id, error=error, form=form),
        raised=(404,),
    )


@router.post("/admin/users/{user_id}/deactivate", response_class=HTMLResponse)
def user_deactivate(
    request: Request, session: SessionDep, actor: WebActor, user_id: UUID, csrf_token: Annotated[str, Form()]
) -> Response:
    check_csrf(request, csrf_token)
    ensure_role(actor, "users.deactivate")
    return form_action(
        session,
        lambda: auth.deactivate_user(session, user_id, actor.user_id, actor.client_address),
        done=lambda user: RedirectResponse(f"/admin/users/{user.id}?saved=deactivated", status_code=303),
        again=lambda error: _render_user(request, session, user_id, error=error),
        raised=(404,),
    )


@router.post("/admin/users/{user_id}/reactivate", response_class=HTMLResponse)
def user_reactivate(
    request: Request, session: SessionDep, actor: WebActor, user_id: UUID, csrf_token: Annotated[str, Form()]
) -> Response:
    check_csrf(request, csrf_token)
    ensure_role(actor, "users.deactivate")
    return form_action(
        session,
        lambda: auth.reactivate_user(session, user_id, actor.user_id, actor.client_address),
        done=lambda user: RedirectResponse(f"/admin/users/{user.id}?saved=reactivated", status_code=303),
        again=lambda error: _render_user(request, session, user_id, error=error),
        raised=(404,),
    )


@router.post("/admin/users/{user_id}/totp-reset", response_class=HTMLResponse)
def user_totp_reset(
    request: Request, session: SessionDep, actor: WebActor, user_id: UUID, csrf_token: Annotated[str, Form()]
) -> Response:
    """A lost authenticator: the user's second factor is cleared and they set it up again at the next sign-in."""
    check_csrf(request, csrf_token)
    ensure_role(actor, "users.reset_totp")
    return form_action(
        session,
        lambda: two_factor.reset(session, user_id, actor.user_id, actor.client_address),
        done=lambda user: RedirectResponse(f"/admin/users/{user.id}?saved=totp_reset", status_code=303),
        again=lambda error: _render_user(request, session, user_id, error=error),
        raised=(404,),
    )


@router.post("/admin/users/{user_id}/password-reset", response_class=HTMLResponse)
def user_password_reset(
    request: Request, session: SessionDep, actor: WebActor, user_id: UUID, csrf_token: Annotated[str, Form()]
) -> Response:
    """The link is shown once, on this answer (not in a redirect the browser could replay)."""
    check_csrf(request, csrf_token)
    ensure_role(actor, "users.reset_password")
    return form_action(
        session,
        lambda: auth.start_password_reset(session, user_id, actor.user_id, actor.client_address, locale_of(request)),
        done=lambda reset: _render_user(request, session, user_id, reset=reset),
        again=lambda error: _render_user(request, session, user_id, error=error),
        raised=(404,),
    )


# -- the page a reset link opens -----------------------------------------------------------------
@router.get(
    "/reset-password/{token}",
    response_class=HTMLResponse,
    dependencies=[Depends(throttle.rate_limited(throttle.RESET_LINKS))],
)
def reset_page(request: Request, session: SessionDep, token: str) -> Response:
    try:
        user = auth.reset_target(session, token)
    except auth.ResetLinkInvalid:
        return render(request, "reset_password.html", {"invalid": True}, status=410)
    return render(request, "reset_password.html", {"email": user.email, "token": token})


@router.post(
    "/reset-password/{token}",
    response_class=HTMLResponse,
    dependencies=[Depends(throttle.rate_limited(throttle.RESET_LINKS))],
)
def reset_submit(
    request: Request,
    session: SessionDep,
    token: str,
    password: Annotated[str, Form()] = "",
    confirm: Annotated[str, Form()] = "",
) -> Response:
    """No CSRF token here: the form is its own credential (the unguessable link), and it signs nobody in."""
    gettext = page_gettext(request)
    if len(password) < 10 or len(password) > 200:
        error = gettext("The password needs at least 10 characters.")
    elif password != confirm:
        error = gettext("The two passwords differ; type the same password twice.")
    else:
        try:
            auth.finish_password_reset(session, token, password, client_address(request))
        except auth.ResetLinkInvalid:
            return render(request, "reset_password.html", {"invalid": True}, status=410)
        return render(request, "reset_password.html", {"done": True})
    try:
        user = auth.reset_target(session, token)
    except auth.ResetLinkInvalid:
        return render(request, "reset_password.html", {"invalid": True}, status=410)
    return render(request, "reset_password.html", {"email": user.email, "token": token, "error": error}, status=422)


# -- units ---------------------------------------------------------------------------------------
def _render_units(
    request: Request, session: Session, *, status: int = 200, offset: int = 0, search: str = "", **extra: Any
) -> Response:
    units, total = auth.list_units(session, PAGE_SIZE, offset, search.strip() or None)
    context = {"units": units, "total": total, **_pages(offset, total, search), **extra}
    return render(request, "admin_units.html", context, status=status)


@router.get("/admin/units", response_class=HTMLResponse)
def units_page(
    request: Request,
    session: SessionDep,
    actor: WebActor,
    q: Annotated[str, Query(max_length=200)] = "",
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> Response:
    ensure_role(actor, "units.write")
    return _render_units(request, session, search=q, offset=offset)


@router.post("/admin/units", response_class=HTMLResponse)
def unit_create(
    request: Request,
    session: SessionDep,
    actor: WebActor,
    csrf_token: Annotated[str, Form()],
    name: Annotated[str, Form()] = "",
    code: Annotated[str, Form()] = "",
    phone: Annotated[str, Form()] = "",
) -> Response:
    check_csrf(request, csrf_token)
    ensure_role(actor, "units.write")
    return form_action(
        session,
        lambda: auth.create_unit(
            session, UnitCreate(name=name.strip(), code=code.strip(), phone=phone.strip() or None)
        ),
        done=lambda _: RedirectResponse(f"/admin/units?{urlencode({'q': code.strip()})}", status_code=303),
        again=lambda error: _render_units(
            request, session, error=error, form={"name": name, "code": code, "phone": phone}
        ),
    )


# -- camera import -------------------------------------------------------------------------------
def _render_import(request: Request, **extra: Any) -> Response:
    gettext = page_gettext(request)
    result = extra.get("result")
    if result:
        extra["error_rows"] = [
            {"row": e["row"], "field": e["field"], "message": import_error_text(e, gettext)} for e in result["errors"]
        ]
    context = {"columns": IMPORT_COLUMNS, "required_labels": REQUIRED_LABELS, "result": None}
    return render(request, "admin_import.html", {**context, **extra})


@router.get("/admin/cameras/import", response_class=HTMLResponse)
def import_page(request: Request, actor: WebActor) -> Response:
    ensure_role(actor, "cameras.import")
    return _render_import(request)


@router.post("/admin/cameras/import", response_class=HTMLResponse)
def import_cameras(
    request: Request,
    session: SessionDep,
    actor: WebActor,
    csrf_token: Annotated[str, Form()],
    file: Annotated[UploadFile, File()],
) -> Response:
    """The uploaded file is spooled to disk by the form parser and read row by row by the importer."""
    check_csrf(request, csrf_token)
    ensure_role(actor, "cameras.import")
    return form_action(
        session,
        lambda: importer.import_file(session, actor, file.file),
        done=lambda result: _render_import(request, result=result, filename=file.filename),
        again=lambda error: _render_import(request, error=error),
    )


# The import's columns: name, what it means, whether it is required, an example (shown as a table, and the CSV
# template's header and first row).
IMPORT_COLUMNS: list[tuple[str, str, str, str]] = [
    (
        "external_id",
        N_("Your own id for the camera; a camera already imported with it is updated"),
        "yes",
        "Q1-BN-0001",
    ),
    ("label", N_("Camera name shown to officers"), "yes", "Cổng nhà thuốc Minh Châu"),
    ("lat", N_("Latitude (WGS84, decimal point)"), "yes", "10.77310"),
    ("lon", N_("Longitude (WGS84, decimal point)"), "yes", "106.70050"),
    ("retention_days", N_("Days the recorder keeps footage before overwriting it"), "yes", "14"),
    ("owner_phone", N_("Owner's phone: the owner with this phone, or a new owner"), "owner", "0903123456"),
    ("owner_external_id", N_("Owner's register number: matched before the phone"), "owner", "CH-000123"),
    ("owner_name", N_("Owner's name, needed when the owner is new"), "new owner", "Nhà thuốc Minh Châu"),
    (
        "owner_kind",
        N_("person, household, business, school, agency, community or police (default household)"),
        "no",
        "business",
    ),
    ("owner_email", N_("Owner's email, for a new owner"), "no", "minhchau@example.org"),
    ("owner_address", N_("Owner's address, for a new owner"), "no", "12 Lê Lợi, Bến Nghé"),
    ("address", N_("Where the camera is"), "no", "12 Lê Lợi"),
    ("ward", N_("Ward"), "no", "Bến Nghé"),
    ("district", N_("District"), "no", "Quận 1"),
    ("province", N_("Province or city"), "no", "Hồ Chí Minh"),
    ("direction_deg", N_("Direction the camera faces, degrees from north (0–359)"), "no", "90"),
    ("fov_deg", N_("Field of view, degrees"), "no", "90"),
    ("range_m", N_("How far it sees, metres"), "no", "30"),
    ("indoor", N_("true for an indoor camera"), "no", "false"),
    ("recorder_make", N_("Recorder make"), "no", "Hikvision"),
    ("recorder_model", N_("Recorder model"), "no", "DS-7608NI"),
    ("timezone", N_("Recorder's time zone (default Asia/Ho_Chi_Minh)"), "no", "Asia/Ho_Chi_Minh"),
    ("programme", N_("private, or police for a police-managed camera"), "no", "private"),
    ("owner_id", N_("Older files: the owner's id in this system, instead of the owner columns"), "no", ""),
]
REQUIRED_LABELS = {
    "yes": N_("required"),
    "owner": N_("one of the two"),
    "new owner": N_("for a new owner"),
    "no": N_("optional"),
}
TEMPLATE_COLUMNS = [c for c in IMPORT_COLUMNS if c[0] != "owner_id"]


@router.get("/admin/cameras/import/template.csv")
def import_template(actor: WebActor) -> Response:
    ensure_role(actor, "cameras.import")
    import csv
    import io

    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([c[0] for c in TEMPLATE_COLUMNS])
    writer.writerow([c[3] for c in TEMPLATE_COLUMNS])
    return Response(
        "\ufeff" + out.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="cameras-template.csv"'},
    )


@router.get("/admin/cameras/import/example.geojson")
def import_example(actor: WebActor) -> Response:
    ensure_role(actor, "cameras.import")
    import json

    properties: dict[str, Any] = {c[0]: c[3] for c in TEMPLATE_COLUMNS if c[0] not in {"lat", "lon"}}
    properties |= {"retention_days": 14, "direction_deg": 90, "fov_deg": 90, "range_m": 30, "indoor": False}
    feature = {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [106.7005, 10.7731]},
        "properties": properties,
    }
    body = json.dumps({"type": "FeatureCollection", "features": [feature]}, ensure_ascii=False, indent=2)
    return Response(
        body,
        media_type="application/geo+json",
        headers={"Content-Disposition": 'attachment; filename="cameras-example.geojson"'},
    )


def import_error_text(error: dict[str, Any], gettext: Callable[[str], str]) -> str:
    """An importer error in the page's language, from its code (the API keeps the English message)."""
    params = error.get("params") or {}
    code = error.get("code") or "invalid"
    limit = next((params[k] for k in ("le", "ge", "lt", "gt") if k in params), "")
    messages = {
        "missing": gettext("This column is required."),
        "owner_missing": gettext("Name the owner with owner_phone or owner_external_id."),
        "owner_name_missing": gettext("This owner is new: fill in owner_name."),
        "owner_ambiguous": gettext("Several owners have this phone; use owner_external_id."),
        "owner_unknown": gettext("No owner has this id."),
        "phone_invalid": gettext("This is not a phone number; write it as 0903 123 456 or +84 903 123 456."),
        "owner_id_invalid": gettext("This is not an owner id."),
        "owner_kind": gettext("Use one of: person, household, business, school, agency, community, police."),
        "row_cells": gettext("This row has a different number of cells from the header row."),
        "row_unreadable": gettext("This row cannot be read; check its quotation marks."),
        "float_parsing": gettext("This must be a number, with a decimal point."),
        "int_parsing": gettext("This must be a whole number."),
        "int_from_float": gettext("This must be a whole number."),
        "bool_parsing": gettext("Write true or false."),
        "less_than_equal": gettext("The value is too large; the largest allowed is %(limit)s.") % {"limit": limit},
        "less_than": gettext("The value must be less than %(limit)s.") % {"limit": limit},
        "greater_than_equal": gettext("The value is too small; the smallest allowed is %(limit)s.") % {"limit": limit},
        "greater_than": gettext("The value must be greater than %(limit)s.") % {"limit": limit},
        "string_too_long": gettext("The text is too long."),
        "string_pattern_mismatch": gettext("The value is not in the expected form (see the example)."),
        "literal_error": gettext("The value is not one of those allowed (see the column list)."),
        "value_error": gettext("The value is not valid (see the example)."),
    }
    return messages.get(code, gettext("The value is not valid (see the example)."))


# -- the page an unlock link opens (sent to staff held by the sign-in wait) ---------------------------
@router.get(
    "/unlock/{token}",
    response_class=HTMLResponse,
    dependencies=[Depends(throttle.rate_limited(throttle.RESET_LINKS))],
)
def unlock_page(request: Request, session: SessionDep, token: str) -> Response:
    """Opening the link changes nothing (mail scanners open links); the button does."""
    try:
        user = unlock.target(session, token)
    except unlock.UnlockLinkInvalid:
        return render(request, "unlock.html", {"invalid": True}, status=410)
    return render(request, "unlock.html", {"email": user.email, "token": token})


@router.post(
    "/unlock/{token}",
    response_class=HTMLResponse,
    dependencies=[Depends(throttle.rate_limited(throttle.RESET_LINKS))],
)
def unlock_submit(request: Request, session: SessionDep, token: str) -> Response:
    """No CSRF token here: the link is its own credential, and it signs nobody in."""
    try:
        unlock.finish(session, token, client_address(request))
    except unlock.UnlockLinkInvalid:
        return render(request, "unlock.html", {"invalid": True}, status=410)
    return render(request, "unlock.html", {"done": True})
