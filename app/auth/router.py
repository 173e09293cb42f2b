from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Form, Request
from fastapi.security import OAuth2PasswordRequestForm

from app.auth import service, throttle, two_factor
from app.auth.models import User
from app.auth.permissions import Actor, CurrentActor, allow, client_address
from app.auth.schemas import (
    MeRead,
    Page,
    PasswordResetRead,
    TokenRead,
    UnitCreate,
    UnitRead,
    UnitUpdate,
    UserCreate,
    UserRead,
    UserUpdate,
)
from app.core.db import SessionDep
from app.core.pagination import PageDep

router = APIRouter(prefix="/api/v1", tags=["identity"])


@router.post(
    "/auth/token",
    response_model=TokenRead,
    dependencies=[Depends(throttle.rate_limited(throttle.TOKEN))],
)
def token(
    request: Request,
    session: SessionDep,
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    totp_code: Annotated[
        str | None,
        Form(max_length=32, description="The authenticator app's current code (or a recovery code), when required."),
    ] = None,
) -> TokenRead:
    """Sign in with email and password, and `totp_code` for accounts with two-factor sign-in: without it 401
    `totp-code-required`, wrong 401 `totp-code-wrong`; an account that must have it but has not set it up yet
    gets 403 `totp-enrolment-required` (it is set up on the sign-in page)."""
    access_token, expires_in = service.login(
        session, form.username, form.password, client_address(request), totp_code=totp_code
    )
    return TokenRead(access_token=access_token, expires_in=expires_in)


@router.post("/auth/logout", status_code=204)
def logout(session: SessionDep, actor: Annotated[Actor, Depends(allow("auth.logout"))]) -> None:
    assert actor.user_id is not None
    service.revoke_tokens(session, actor.user_id, actor.client_address)


@router.get("/me", response_model=MeRead)
def me(session: SessionDep, actor: CurrentActor) -> User:
    assert actor.user_id is not None
    return service.get_user(session, actor.user_id)


@router.post("/units", response_model=UnitRead, status_code=201)
def create_unit(body: UnitCreate, session: SessionDep, _: Annotated[Actor, Depends(allow("units.write"))]) -> Any:
    return service.create_unit(session, body)


@router.get("/units", response_model=Page[UnitRead])
def list_units(session: SessionDep, page: PageDep, _: Annotated[Actor, Depends(allow("units.read"))]) -> Any:
    items, total = service.list_units(session, page.limit, page.offset)
    return {"items": items, "total": total}


@router.post("/users", response_model=UserRead, status_code=201)
def create_user(body: UserCreate, session: SessionDep, _: Annotated[Actor, Depends(allow("users.write"))]) -> Any:
    return service.create_user(session, body)


@router.get("/users", response_model=Page[UserRead])
def list_users(session: SessionDep, page: PageDep, _: Annotated[Actor, Depends(allow("users.read"))]) -> Any:
    items, total = service.list_users(session, page.limit, page.offset)
    return {"items": items, "total": total}


@router.get("/users/{user_id}", response_model=UserRead)
def get_user(user_id: UUID, session: SessionDep, _: Annotated[Actor, Depends(allow("users.read"))]) -> Any:
    return service.get_user(session, user_id)


@router.patch("/users/{user_id}", response_model=UserRead)
def update_user(
    user_id: UUID, body: UserUpdate, session: SessionDep, actor: Annotated[Actor, Depends(allow("users.write"))]
) -> Any:
    return service.update_user(session, user_id, body, actor.user_id, actor.client_address)


@router.post("/users/{user_id}/deactivate", response_model=UserRead)
def deactivate_user(
    user_id: UUID, session: SessionDep, actor: Annotated[Actor, Depends(allow("users.deactivate"))]
) -> Any:
    return service.deactivate_user(session, user_id, actor.user_id, actor.client_address)


@router.post("/users/{user_id}/reactivate", response_model=UserRead)
def reactivate_user(
    user_id: UUID, session: SessionDep, actor: Annotated[Actor, Depends(allow("users.deactivate"))]
) -> Any:
    return service.reactivate_user(session, user_id, actor.user_id, actor.client_address)


@router.post("/users/{user_id}/password-reset", response_model=PasswordResetRead, status_code=201)
def password_reset(
    user_id: UUID, session: SessionDep, actor: Annotated[Actor, Depends(allow("users.reset_password"))]
) -> PasswordResetRead:
    reset = service.start_password_reset(session, user_id, actor.user_id, actor.client_address)
    return PasswordResetRead(user_id=reset.user.id, email=reset.user.email, url=reset.url, expires_at=reset.expires_at)


@router.patch("/units/{unit_id}", response_model=UnitRead)
def update_unit(
    unit_id: UUID, body: UnitUpdate, session: SessionDep, actor: Annotated[Actor, Depends(allow("units.write"))]
) -> Any:
    """Require (or not) a TOTP code of the unit's investigators and supervisors when they sign in."""
    return two_factor.set_unit_requirement(session, unit_id, body.totp_required, actor.user_id, actor.client_address)


@router.post("/users/{user_id}/totp/reset", response_model=UserRead)
def reset_totp(user_id: UUID, session: SessionDep, actor: Annotated[Actor, Depends(allow("users.reset_totp"))]) -> Any:
    """Clear a user's two-factor sign-in (a lost phone): their tokens are revoked and they enrol again."""
    return two_factor.reset(session, user_id, actor.user_id, actor.client_address)
