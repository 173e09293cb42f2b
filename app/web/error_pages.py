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

from app.web.labels import N_
from app.web.pages import LoginRequired, render

# What a reader is told, by status; the problem's own detail follows it.
EXPLANATIONS = {
    400: N_("The request could not be read."),
    403: N_("Your role may not open this page or do this."),
    404: N_("This page or item does not exist, or it is outside what you may see."),
    405: N_("This page cannot be used that way."),
    409: N_("This conflicts with the current state; reload the page to see it."),
    413: N_("What was sent is larger than allowed."),
    422: N_("Something in the form is missing or not valid."),
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
)
PASSED_ON = ("retry-after", "allow")

Handler = Callable[[Request, Any], Response | Awaitable[Response]]


def wants_page(request: Request) -> bool:
    path = request.url.path
    return not path.startswith(("/api/", "/static/")) and "text/html" in request.headers.get("accept", "")


def _as_page(api_handler: Handler) -> Handler:
    async def handler(request: Request, exc: Exception) -> Response:
        answer = api_handler(request, exc)
        if inspect.isawaitable(answer):
            answer = await answer
        assert isinstance(answer, Response)
        if not wants_page(request):
            return answer
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
