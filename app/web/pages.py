"""Rendering plumbing for pages: templates with the request's locale, the signed-in web actor, CSRF."""

from __future__ import annotations

import hmac
import secrets
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, Response
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader, select_autoescape

from app.auth import service as auth
from app.auth import tokens
from app.auth.permissions import Actor, actor_from_token, client_address, may
from app.core import phones
from app.core.config import get_settings
from app.core.db import SessionDep
from app.core.errors import DomainError
from app.footage.uploads import part_size
from app.notifications import staff
from app.web import i18n

SESSION_COOKIE = "footage_session"
# Before sign-in there is no session to bind a CSRF token to: the sign-in form gets a random cookie of its own and
# a token bound to it (an attacker's page can neither read the cookie nor forge the token).
PRE_SESSION_COOKIE = "footage_presession"
PRE_SESSION_MINUTES = 60
LANG_COOKIE = "lang"
TEMPLATES = Path(__file__).parent / "templates"


@lru_cache(maxsize=len(i18n.LOCALES))
def templates_for(locale: str) -> Jinja2Templates:
    """One environment per locale, translations installed once (requests of other locales never share it)."""
    env = Environment(
        loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(), extensions=["jinja2.ext.i18n"]
    )
    env.install_gettext_translations(i18n.translations(locale), newstyle=True)  # type: ignore[attr-defined]
    env.filters["phone"] = phones.display  # stored in E.164, shown as people write it
    env.globals["upload_part_bytes"] = part_size  # the tus client's request size: whole parts, no tail kept
    return Jinja2Templates(env=env)


class LoginRequired(DomainError):
    status, slug, title = 401, "login-required", "Sign-in required"


class CsrfRejected(DomainError):
    status, slug, title = 403, "csrf", "Form expired"


def local_path(target: str | None) -> str:
    """Where to go after sign-in: a path of this site only (never another host, as `//host` would be)."""
    if target and target.startswith("/") and not target.startswith(("//", "/\\")):
        return target
    return "/"


def set_session_cookie(response: Response, token: str) -> None:
    """Sign the browser in: the session cookie (HttpOnly, SameSite), for WEB_SESSION_HOURS."""
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=get_settings().web_session_hours * 3600,
        httponly=True,
        samesite="lax",
        secure=get_settings().public_base_url.startswith("https://"),
    )


def locale_of(request: Request) -> str:
    """The page's language: the signed-in user's saved choice (read by `web_actor`), else the browser's switch."""
    return i18n.pick_locale(request.cookies.get(LANG_COOKIE), getattr(request.state, "user_locale", None))


def render(request: Request, template: str, context: dict[str, Any] | None = None, status: int = 200) -> HTMLResponse:
    locale = locale_of(request)
    actor: Actor | None = getattr(request.state, "actor", None)
    session_token = request.cookies.get(SESSION_COOKIE)
    base = {
        "locale": locale,
        "locales": i18n.LOCALES,
        "csrf_token": tokens.csrf_token(session_token) if session_token else "",
        "fmt_time": lambda value, tz="Asia/Ho_Chi_Minh": i18n.format_local(value, tz, locale),
        "actor": actor,
        # what the page offers follows the role table: may("action") is POLICY's answer for the signed-in actor
        "may": lambda action: actor is not None and may(actor, action),
        # the signed-in staff member's unread notifications (None where the page has no such reader)
        "unread": getattr(request.state, "unread_notifications", None),
        "user_name": getattr(request.state, "user_name", None),
    }
    response: HTMLResponse = templates_for(locale).TemplateResponse(
        request, template, {**base, **(context or {})}, status_code=status
    )
    return response


def web_actor(request: Request, session: SessionDep) -> Actor:
    """The user signed in to the pages (session cookie); pages redirect to /login otherwise."""
    token = request.cookies.get(SESSION_COOKIE)
    actor = actor_from_token(session, token, client_address(request)) if token else None
    if actor is None:
        raise LoginRequired("Sign in to continue.")
    request.state.actor = actor
    if actor.user_id is not None:
        user = auth.get_user(session, actor.user_id)
        request.state.user_locale = user.locale if user.locale in auth.LOCALES else None
        request.state.user_name = user.full_name  # the header names the person, not the sign-in email
        if may(actor, "notifications.read"):
            request.state.unread_notifications = staff.unread_count(session, actor.user_id)
    return actor


WebActor = Annotated[Actor, Depends(web_actor)]


def pre_session_csrf(request: Request, response: Response) -> str:
    """The CSRF token of a form shown before sign-in; sets the pre-session cookie it is bound to when missing."""
    value = request.cookies.get(PRE_SESSION_COOKIE)
    if not value or len(value) > 64:
        value = secrets.token_urlsafe(24)
        response.set_cookie(
            PRE_SESSION_COOKIE,
            value,
            max_age=PRE_SESSION_MINUTES * 60,
            httponly=True,
            samesite="lax",
            secure=get_settings().public_base_url.startswith("https://"),
        )
    return tokens.csrf_token("pre-session:" + value)


def pre_session_csrf_valid(request: Request, submitted: str | None) -> bool:
    """Whether a form posted before sign-in carries the token bound to this browser's pre-session cookie."""
    value = request.cookies.get(PRE_SESSION_COOKIE, "")
    if not value or not submitted or len(value) > 64:
        return False
    return hmac.compare_digest(tokens.csrf_token("pre-session:" + value), submitted)


def check_csrf(request: Request, submitted: str | None) -> None:
    """Forms and htmx posts must carry the CSRF token bound to the session cookie."""
    session_token = request.cookies.get(SESSION_COOKIE, "")
    supplied = submitted or request.headers.get("x-csrf-token", "")
    if not session_token or not hmac.compare_digest(tokens.csrf_token(session_token), supplied):
        raise CsrfRejected("The form has expired or did not come from this site; reload the page and try again.")
