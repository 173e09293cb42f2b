"""Errors on pages are pages: a browser that asked for HTML gets the problem rendered in the layout, in the
reader's language, with the same status and headers the API's problem+json carries. API clients, scripts
and the upload requests of the pages (which ask for JSON) keep problem+json."""

from __future__ import annotations

import inspect
import json
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import Response

from app.web import i18n
from app.web.labels import N_
from app.web.pages import LANG_COOKIE, LoginRequired, render

# What a reader is told, by status; the problem's own detail follows it.
EXPLANATIONS = {
    400: N_("The request could not be read."),
    403: N_("Your role may not open this page or do this."),
    404: N_("This page or item does not exist, or it is outside what you may see."),
    405: N_("This page cannot be used that way."),
    409: N_("This conflicts with the current state; reload the page to see it."),
    413: N_("What was sent is larger than allowed."),
    422: N_("Something in the form is missing or not valid."),
    410: N_("This link has expired or the item is no longer kept."),
    429: N_("Too many attempts; wait a moment and try again."),
    500: N_("The server failed; the error was logged."),
    503: N_("The service is briefly unavailable; try again in a few seconds."),
}
# The problems' titles, for the catalogues (the page shows them translated).
TITLES = (
    N_("Not found"),
    N_("Not Found"),
    N_("Conflict"),
    N_("Not authenticated"),
    N_("Forbidden"),
    N_("Form expired"),
    N_("Too many requests"),
    N_("Payload too large"),
    N_("Service unavailable"),
    N_("Rule violated"),
    N_("Invalid request"),
    N_("Method Not Allowed"),
    N_("Internal error"),
    N_("Authenticator code required"),
    N_("Authenticator code wrong"),
    N_("Two-factor sign-in not set up"),
    N_("Gone"),
)
PASSED_ON = ("retry-after", "allow")
# Refusals an owner meets while handing footage over, worded for them (app.footage.ingest_flow, app.auth.links);
# the answers to the owners' uploads and links carry them in the reader's language.
OWNER_REFUSALS = (
    N_("The file is empty: nothing arrived. Choose the recording file again and upload it."),
    N_(
        "This file does not play as a video. Choose another file: the whole export as the recorder made it, "
        "not a photo, a shortcut or a piece of it."
    ),
    N_(
        "The file ends before its last frame, as when a copy or download stops early. Copy or export it again from "
        "the recorder and upload the whole file."
    ),
    N_("This link no longer opens: it is unknown, expired or withdrawn. Call the police unit that sent it."),
    N_("This request has been answered through this link; the link now only shows what happened."),
    N_(
        "state the recorder's clock at the first frame (ISO 8601, e.g. 2026-11-24T21:15:00): neither the file nor "
        "its name carries it"
    ),
)
# An evidence link refused (app.footage.viewing), worded for whoever opened it in a browser or player.
LINK_REFUSALS = (
    N_("This link has expired. Ask for a new one from the clip's page."),
    N_("No such link."),
)
# The paths whose refusals are given in the reader's language though they answer problem+json.
OWNER_PATHS = ("/api/v1/respond/", "/api/v1/uploads", "/owner/requests/", "/api/v1/links/")

Handler = Callable[[Request, Any], Response | Awaitable[Response]]


def wants_page(request: Request) -> bool:
    path = request.url.path
    return not path.startswith(("/api/", "/static/")) and "text/html" in request.headers.get("accept", "")


def _in_readers_language(request: Request, answer: Response) -> Response:
    """An owner's upload or link refused: the problem's words in the language the reader's browser asked for
    (its language cookie or Accept-Language), when the catalogue has them; other clients keep the API's words."""
    if not request.url.path.startswith(OWNER_PATHS):
        return answer
    if LANG_COOKIE not in request.cookies and "accept-language" not in request.headers:
        return answer
    gettext = i18n.translations(
        i18n.pick_locale(request.cookies.get(LANG_COOKIE), request.headers.get("accept-language"))
    ).gettext
    problem: dict[str, Any] = json.loads(bytes(answer.body))
    errors = problem.get("errors") or []
    said = [str(e.get("message", "")) for e in errors] if errors else [str(problem.get("detail", ""))]
    worded = [str(gettext(message)) for message in said]
    if worded == said:
        return answer
    problem["detail"] = " ".join(worded)
    for error, words in zip(errors, worded, strict=False):
        error["message"] = words
    body = json.dumps(problem, ensure_ascii=False).encode("utf-8")
    headers = {k: v for k, v in answer.headers.items() if k.lower() != "content-length"}
    return Response(body, status_code=answer.status_code, headers=headers, media_type=answer.media_type)


def _as_page(api_handler: Handler) -> Handler:
    async def handler(request: Request, exc: Exception) -> Response:
        answer = api_handler(request, exc)
        if inspect.isawaitable(answer):
            answer = await answer
        assert isinstance(answer, Response)
        if not wants_page(request):
            return _in_readers_language(request, answer)
        problem: dict[str, Any] = json.loads(bytes(answer.body))
        page = render(
            request,
            "error.html",
            {"problem": problem, "explanation": EXPLANATIONS.get(answer.status_code)},
            status=answer.status_code,
        )
        for name in PASSED_ON:
            if name in answer.headers:
                page.headers[name] = answer.headers[name]
        return page

    return handler


def install(app: FastAPI) -> None:
    """Wrap every problem+json handler already installed (call after the API's handlers)."""
    for exc_class, api_handler in list(app.exception_handlers.items()):
        if exc_class is LoginRequired:
            continue
        app.add_exception_handler(exc_class, _as_page(api_handler))
