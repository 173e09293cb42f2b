"""Admin pages: users, units and the camera import. Admins only; everyone else gets 403."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from app.auth import service as auth
from app.auth.models import Role
from app.auth.permissions import ensure_role
from app.auth.schemas import UnitCreate, UserCreate
from app.core.db import SessionDep
from app.core.errors import DomainError
from app.registry import importer
from app.web.forms import error_text
from app.web.pages import WebActor, check_csrf, render

router = APIRouter(include_in_schema=False)

LISTED = 500  # rows shown on one admin list; the API pages through more


def _optional_uuid(name: str, value: str) -> UUID | None:
    try:
        return UUID(value) if value.strip() else None
    except ValueError:
        raise ValueError(f"{name}: not a valid id") from None


# -- users ---------------------------------------------------------------------------------------
def _render_users(request: Request, session: Session, *, status: int = 200, **extra: Any) -> Response:
    users, total = auth.list_users(session, LISTED, 0)
    units, _ = auth.list_units(session, LISTED, 0)
    context = {"users": users, "total": total, "units": {u.id: u for u in units}, "roles": [r.value for r in Role]}
    return render(request, "admin_users.html", {**context, **extra}, status=status)


@router.get("/admin/users", response_class=HTMLResponse)
def users_page(request: Request, session: SessionDep, actor: WebActor, created: str = "") -> Response:
    ensure_role(actor, "users.read")
    return _render_users(request, session, created=created[:320])


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
    check_csrf(request, csrf_token)
    ensure_role(actor, "users.write")
    try:
        body = UserCreate(
            email=email.strip(),
            full_name=full_name.strip(),
            role=role,  # validated into a Role by the schema
            unit_id=_optional_uuid("unit_id", unit_id),
            owner_id=_optional_uuid("owner_id", owner_id),
            password=password,
        )
        user = auth.create_user(session, body)
    except (DomainError, ValidationError, ValueError) as exc:
        session.rollback()
        # The password is not sent back into the page.
        form = {"email": email, "full_name": full_name, "role": role, "unit_id": unit_id, "owner_id": owner_id}
        return _render_users(request, session, status=422, error=error_text(exc), form=form)
    return RedirectResponse(f"/admin/users?created={user.email}", status_code=303)


# -- units ---------------------------------------------------------------------------------------
def _render_units(request: Request, session: Session, *, status: int = 200, **extra: Any) -> Response:
    units, total = auth.list_units(session, LISTED, 0)
    return render(request, "admin_units.html", {"units": units, "total": total, **extra}, status=status)


@router.get("/admin/units", response_class=HTMLResponse)
def units_page(request: Request, session: SessionDep, actor: WebActor) -> Response:
    ensure_role(actor, "units.write")
    return _render_units(request, session)


@router.post("/admin/units", response_class=HTMLResponse)
def unit_create(
    request: Request,
    session: SessionDep,
    actor: WebActor,
    csrf_token: Annotated[str, Form()],
    name: Annotated[str, Form()] = "",
    code: Annotated[str, Form()] = "",
) -> Response:
    check_csrf(request, csrf_token)
    ensure_role(actor, "units.write")
    try:
        auth.create_unit(session, UnitCreate(name=name.strip(), code=code.strip()))
    except (DomainError, ValidationError) as exc:
        session.rollback()
        return _render_units(request, session, status=422, error=error_text(exc), form={"name": name, "code": code})
    return RedirectResponse("/admin/units", status_code=303)


# -- camera import -------------------------------------------------------------------------------
@router.get("/admin/cameras/import", response_class=HTMLResponse)
def import_page(request: Request, actor: WebActor) -> Response:
    ensure_role(actor, "cameras.import")
    return render(request, "admin_import.html", {"result": None})


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
    try:
        result = importer.import_file(session, actor, file.file)
    except DomainError as exc:
        session.rollback()
        return render(request, "admin_import.html", {"result": None, "error": error_text(exc)}, status=422)
    return render(request, "admin_import.html", {"result": result, "filename": file.filename})
