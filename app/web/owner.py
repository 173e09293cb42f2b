"""Owner pages: the one-time link page (no account, phone-first) for answering and uploading."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from app.auth.links import LinkActor
from app.core.db import SessionDep
from app.extractions import service as extractions
from app.extractions.schemas import ApproveIn
from app.footage import service as footage
from app.web.forms import form_action, local_to_utc, stated_reason
from app.web.pages import render

router = APIRouter(include_in_schema=False)


def _page(request: Request, session: SessionDep, actor: LinkActor, token: str, **extra: object) -> Response:
    assert actor.link_request_id is not None
    detail = footage.request_detail(session, actor, actor.link_request_id)
    return render(
        request, "respond.html", {"req": detail, "token": token, **extra}, status=422 if "error" in extra else 200
    )


@router.get("/respond/{token}", response_class=HTMLResponse)
def respond_page(request: Request, token: str, session: SessionDep, actor: LinkActor) -> Response:
    return _page(request, session, actor, token)


@router.post("/respond/{token}/approve", response_class=HTMLResponse)
def respond_approve(
    request: Request,
    token: str,
    session: SessionDep,
    actor: LinkActor,
    approved_start: Annotated[str | None, Form()] = None,
    approved_end: Annotated[str | None, Form()] = None,
    reason: Annotated[str | None, Form()] = None,
) -> Response:
    request_id = actor.link_request_id
    assert request_id is not None

    def approve() -> None:
        tz = extractions.get_request(session, actor, request_id).camera_timezone
        body = ApproveIn(
            reason=reason or None,
            approved_start=local_to_utc(approved_start, tz) if approved_start else None,
            approved_end=local_to_utc(approved_end, tz) if approved_end else None,
        )
        extractions.approve(session, actor, request_id, body)

    return form_action(
        session,
        approve,
        done=lambda _: RedirectResponse(f"/respond/{token}", status_code=303),
        again=lambda error: _page(request, session, actor, token, error=error),
    )


@router.post("/respond/{token}/deny", response_class=HTMLResponse)
def respond_deny(
    request: Request, token: str, session: SessionDep, actor: LinkActor, reason: Annotated[str, Form()] = ""
) -> Response:
    request_id = actor.link_request_id
    assert request_id is not None
    refusal = "reason: please say briefly why you refuse"
    return form_action(
        session,
        lambda: extractions.deny(session, actor, request_id, stated_reason(reason, refusal)),
        done=lambda _: RedirectResponse(f"/respond/{token}", status_code=303),
        again=lambda error: _page(request, session, actor, token, error=error),
    )
