"""Pages. Each handler parses the form, calls one service, renders a template."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from app.auth import service as auth
from app.auth import throttle
from app.auth.permissions import actor_from_token, client_address, may
from app.core.config import get_settings
from app.core.db import SessionDep
from app.core.errors import TooManyRequests, Unauthorized
from app.web import i18n, investigator, second_factor
from app.web.forms import error_text
from app.web.messages import FORM_EXPIRED, gettext
from app.web.pages import (
    LANG_COOKIE,
    PRE_SESSION_COOKIE,
    SESSION_COOKIE,
    WebActor,
    check_csrf,
    local_path,
    locale_of,
    pre_session_csrf,
    pre_session_csrf_valid,
    render,
    set_session_cookie,
)

router = APIRouter(include_in_schema=False)


_local_path = local_path


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, next: str | None = None) -> Response:
    return _login_form(request, {"next": _local_path(next)})


def _login_form(request: Request, context: Mapping[str, object], status: int = 200) -> Response:
    """The sign-in form, with a CSRF token bound to this browser's pre-session cookie."""
    response = Response()
    csrf = pre_session_csrf(request, response)
    page = render(request, "login.html", {**context, "login_csrf": csrf}, status=status)
    for key, value in response.headers.items():
        if key.lower() == "set-cookie":
            page.headers.append(key, value)
    return page


@router.post("/login", response_class=HTMLResponse, dependencies=[Depends(throttle.rate_limited(throttle.SIGN_IN))])
def login_submit(
    request: Request,
    session: SessionDep,
    email: Annotated[str, Form()],
    password: Annotated[str, Form()],
    next: Annotated[str | None, Form()] = None,
    csrf_token: Annotated[str | None, Form()] = None,
) -> Response:
    hours = get_settings().web_session_hours
    target = _local_path(next)
    locale = locale_of(request)
    if not pre_session_csrf_valid(request, csrf_token):
        # A sign-in posted from another site (login CSRF) or a form kept open too long: show a fresh form.
        error = gettext(locale, FORM_EXPIRED)
        return _login_form(request, {"error": error, "email": email, "next": target}, status=403)
    address = client_address(request)
    try:
        user = auth.check_password(session, email, password, address)
    except (Unauthorized, TooManyRequests) as exc:
        context = {"error": error_text(exc, locale), "email": email, "next": target}
        page = _login_form(request, context, status=exc.status)
        if exc.headers and "Retry-After" in exc.headers:
            page.headers["Retry-After"] = exc.headers["Retry-After"]
        return page
    second_step = second_factor.next_step(session, user, target)
    if second_step is not None:
        return second_step  # the code, or setting up the authenticator, before the session starts
    token, _ = auth.complete_sign_in(session, user, address, ttl=timedelta(hours=hours))
    response = RedirectResponse(target, status_code=303)
    set_session_cookie(response, token)
    response.delete_cookie(PRE_SESSION_COOKIE)
    return response


@router.post("/logout")
def logout(request: Request, session: SessionDep, actor: WebActor, csrf_token: Annotated[str, Form()]) -> Response:
    check_csrf(request, csrf_token)
    assert actor.user_id is not None
    auth.revoke_tokens(session, actor.user_id, actor.client_address)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response


@router.get("/lang/{code}")
def switch_language(request: Request, code: str, session: SessionDep) -> Response:
    """Switch the pages' language: for this browser (a cookie) and, when signed in, for the user everywhere."""
    back = request.headers.get("referer") or "/"
    response = RedirectResponse(back if back.startswith(("/", get_settings().public_base_url)) else "/", 303)
    if code in i18n.LOCALES:
        response.set_cookie(LANG_COOKIE, code, max_age=365 * 86400, samesite="lax")
        token = request.cookies.get(SESSION_COOKIE)
        actor = actor_from_token(session, token, client_address(request)) if token else None
        if actor is not None and actor.user_id is not None:
            auth.set_locale(session, actor.user_id, code)
    return response


@router.get("/", response_class=HTMLResponse)
def home(request: Request, session: SessionDep, actor: WebActor) -> Response:
    """Owners go to their requests; a unit's staff see its open requests, the ones at risk first."""
    if may(actor, "owner.pages"):
        return RedirectResponse("/owner/requests", status_code=303)  # an owner's home is their requests
    if may(actor, "prosecutor.pages"):
        return RedirectResponse("/disclosure", status_code=303)  # a prosecutor's home is the cases shared with them
    context: dict[str, object] = {"role": actor.role}
    if actor.unit_id is not None and may(actor, "cases.read"):
        context.update(investigator.dashboard(session, actor))
    return render(request, "home.html", context)


def install(app: FastAPI) -> None:
    """Mount the pages, their static files, and the sign-in redirect for page requests."""
    from pathlib import Path

    from fastapi.staticfiles import StaticFiles

    from app.web import (
        admin,
        admin_registry,
        appeals_pages,
        appeals_public,
        auditor,
        disclosure_pages,
        error_pages,
        investigator_requests,
        owner,
        owner_registry,
        owner_requests,
        owner_uploads,
        player,
        redaction_pages,
        staff_pages,
        stats_pages,
        timeline,
    )
    from app.web.pages import LoginRequired

    app.include_router(router)
    app.include_router(second_factor.router)
    app.include_router(investigator.router)
    app.include_router(investigator_requests.router)
    app.include_router(owner.router)
    app.include_router(owner_requests.router)
    app.include_router(owner_uploads.router)
    app.include_router(owner_registry.router)
    app.include_router(auditor.router)
    app.include_router(player.router)
    app.include_router(redaction_pages.router)
    app.include_router(timeline.router)
    app.include_router(admin.router)
    app.include_router(admin_registry.router)
    app.include_router(staff_pages.router)
    app.include_router(appeals_public.router)
    app.include_router(appeals_pages.router)
    app.include_router(stats_pages.router)
    app.include_router(disclosure_pages.router)
    app.mount("/static", StaticFiles(directory=str(Path(__file__).parent / "static")), name="static")

    async def to_login(request: Request, exc: Exception) -> Response:
        return RedirectResponse(f"/login?next={request.url.path}", status_code=303)

    app.add_exception_handler(LoginRequired, to_login)
    error_pages.install(app)
