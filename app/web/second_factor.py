"""The second step of a staff sign-in on the pages: the authenticator's code (/login/code), or setting the
authenticator up the first time (/login/enrol: QR code, the key as text, then the recovery codes, shown once).

Between the password and the code the browser holds a short-lived pending cookie (a token signed under a key of
its own, bound to the user's token version), and its forms a CSRF token bound to that cookie. The session cookie
is set only once every factor checked.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from app.auth import service as auth
from app.auth import throttle, tokens, two_factor
from app.auth.models import User
from app.auth.permissions import client_address
from app.core.config import get_settings
from app.core.db import SessionDep
from app.core.errors import DomainError
from app.web.forms import error_text
from app.web.investigator_requests import qr_svg
from app.web.messages import FORM_EXPIRED, gettext
from app.web.pages import PRE_SESSION_COOKIE, local_path, locale_of, render, set_session_cookie

router = APIRouter(include_in_schema=False)

PENDING_COOKIE = "footage_pending"
PENDING_MINUTES = 10


def next_step(session: Session, user: User, target: str) -> Response | None:
    """After the right password: the page of the second step for a user who has or needs one, else None."""
    if user.totp_enabled_at is not None:
        path = "/login/code"
    elif two_factor.required(session, user):
        path = "/login/enrol"
    else:
        return None
    response = RedirectResponse(f"{path}?{urlencode({'next': target})}", status_code=303)
    pending = tokens.issue_pending(user.id, user.token_version, timedelta(minutes=PENDING_MINUTES))
    response.set_cookie(
        PENDING_COOKIE,
        pending,
        max_age=PENDING_MINUTES * 60,
        httponly=True,
        samesite="lax",
        secure=get_settings().public_base_url.startswith("https://"),
    )
    return response


def _pending_user(request: Request, session: Session) -> User | None:
    token = request.cookies.get(PENDING_COOKIE)
    claims = tokens.decode_pending(token) if token else None
    user = session.get(User, claims.user_id) if claims else None
    if claims is None or user is None or not user.is_active or user.token_version != claims.version:
        return None
    return user


def _csrf(request: Request) -> str:
    return tokens.csrf_token("pending:" + request.cookies.get(PENDING_COOKIE, ""))


def _csrf_valid(request: Request, submitted: str | None) -> bool:
    import hmac

    return bool(submitted) and hmac.compare_digest(_csrf(request), submitted or "")


def _back_to_sign_in(target: str) -> Response:
    return RedirectResponse(f"/login?{urlencode({'next': target})}", status_code=303)


def _signed_in(session: Session, request: Request, user: User, target: str, page: Response | None = None) -> Response:
    hours = get_settings().web_session_hours
    token, _ = auth.complete_sign_in(session, user, client_address(request), ttl=timedelta(hours=hours))
    response = page or RedirectResponse(target, status_code=303)
    set_session_cookie(response, token)
    response.delete_cookie(PENDING_COOKIE)
    response.delete_cookie(PRE_SESSION_COOKIE)
    return response


def _refused(request: Request, template: str, context: dict[str, object], exc: DomainError) -> Response:
    page = render(request, template, {**context, "error": error_text(exc, locale_of(request))}, status=exc.status)
    if exc.headers and "Retry-After" in exc.headers:
        page.headers["Retry-After"] = exc.headers["Retry-After"]
    return page


# -- the code ----------------------------------------------------------------------------------------------
@router.get("/login/code", response_class=HTMLResponse)
def code_page(request: Request, session: SessionDep, next: str | None = None) -> Response:
    target = local_path(next)
    user = _pending_user(request, session)
    if user is None:
        return _back_to_sign_in(target)
    if user.totp_enabled_at is None:
        return RedirectResponse(f"/login/enrol?{urlencode({'next': target})}", status_code=303)
    return render(request, "login_code.html", {"next": target, "step_csrf": _csrf(request)})


@router.post(
    "/login/code", response_class=HTMLResponse, dependencies=[Depends(throttle.rate_limited(throttle.SIGN_IN))]
)
def code_submit(
    request: Request,
    session: SessionDep,
    code: Annotated[str, Form(max_length=32)] = "",
    next: Annotated[str | None, Form()] = None,
    csrf_token: Annotated[str | None, Form()] = None,
) -> Response:
    target = local_path(next)
    user = _pending_user(request, session)
    if user is None:
        return _back_to_sign_in(target)
    context: dict[str, object] = {"next": target, "step_csrf": _csrf(request)}
    if not _csrf_valid(request, csrf_token):
        context["error"] = gettext(locale_of(request), FORM_EXPIRED)
        return render(request, "login_code.html", context, status=403)
    address = client_address(request)
    try:
        auth.second_factor_wait(session, user, address)
        two_factor.check(session, user, code, address)
    except DomainError as exc:
        return _refused(request, "login_code.html", context, exc)
    return _signed_in(session, request, user, target)


# -- setting the authenticator up ----------------------------------------------------------------------------
def _key_groups(secret: str) -> str:
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def _enrol_context(request: Request, enrolment: two_factor.Enrolment, target: str) -> dict[str, object]:
    return {
        "next": target,
        "step_csrf": _csrf(request),
        "qr": qr_svg(enrolment.uri),
        "key": _key_groups(enrolment.secret),
    }


@router.get("/login/enrol", response_class=HTMLResponse)
def enrol_page(request: Request, session: SessionDep, next: str | None = None) -> Response:
    target = local_path(next)
    user = _pending_user(request, session)
    if user is None:
        return _back_to_sign_in(target)
    if user.totp_enabled_at is not None:
        return RedirectResponse(f"/login/code?{urlencode({'next': target})}", status_code=303)
    enrolment = two_factor.begin_enrolment(session, user)
    return render(request, "login_enrol.html", _enrol_context(request, enrolment, target))


@router.post(
    "/login/enrol", response_class=HTMLResponse, dependencies=[Depends(throttle.rate_limited(throttle.SIGN_IN))]
)
def enrol_submit(
    request: Request,
    session: SessionDep,
    code: Annotated[str, Form(max_length=32)] = "",
    next: Annotated[str | None, Form()] = None,
    csrf_token: Annotated[str | None, Form()] = None,
) -> Response:
    target = local_path(next)
    user = _pending_user(request, session)
    if user is None:
        return _back_to_sign_in(target)
    enrolment = two_factor.pending_enrolment(user)
    if enrolment is None:
        return RedirectResponse(f"/login/enrol?{urlencode({'next': target})}", status_code=303)
    context = _enrol_context(request, enrolment, target)
    if not _csrf_valid(request, csrf_token):
        context["error"] = gettext(locale_of(request), FORM_EXPIRED)
        return render(request, "login_enrol.html", context, status=403)
    address = client_address(request)
    try:
        auth.second_factor_wait(session, user, address)
        codes = two_factor.finish_enrolment(session, user, code, address)
    except DomainError as exc:
        return _refused(request, "login_enrol.html", context, exc)
    page = render(request, "login_recovery.html", {"codes": codes, "next": target})
    page.headers["Cache-Control"] = "no-store"  # the recovery codes are shown once: keep them out of caches
    return _signed_in(session, request, user, target, page=page)
