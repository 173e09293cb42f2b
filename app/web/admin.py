"""Admin pages: users, units and the camera import. Admins only; everyone else gets 403."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode
from uuid import UUID

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from app.auth import service as auth
from app.auth.models import Role
from app.auth.permissions import ensure_role
from app.auth.schemas import UnitCreate, UserCreate
from app.core.db import SessionDep
from app.core.pagination import MAX_OFFSET
from app.registry import importer
from app.web.forms import form_action
from app.web.pages import WebActor, check_csrf, render

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
) -> Response:
    check_csrf(request, csrf_token)
    ensure_role(actor, "units.write")
    return form_action(
        session,
        lambda: auth.create_unit(session, UnitCreate(name=name.strip(), code=code.strip())),
        done=lambda _: RedirectResponse(f"/admin/units?{urlencode({'q': code.strip()})}", status_code=303),
        again=lambda error: _render_units(request, session, error=error, form={"name": name, "code": code}),
    )


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
    return form_action(
        session,
        lambda: importer.import_file(session, actor, file.file),
        done=lambda result: render(request, "admin_import.html", {"result": result, "filename": file.filename}),
        again=lambda error: render(request, "admin_import.html", {"result": None, "error": error}),
    )
