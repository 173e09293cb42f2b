"""The public side of an appeal: its page (phone first, Vietnamese first) and its QR codes. No account, no
cookie needed; nothing here shows the case, the unit's people or any other resident's upload."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from app.appeals import intake, qr
from app.appeals import service as appeals
from app.auth import throttle
from app.core.config import get_settings
from app.core.db import SessionDep
from app.web.messages import gettext
from app.web.pages import locale_of, render

router = APIRouter(include_in_schema=False)


def _messages(locale: str) -> dict[str, str]:
    """What the API may answer an upload with, in the reader's words, for the page's script."""
    words = {m: gettext(locale, m) for m in intake.MESSAGES}
    words[intake.TOO_LARGE] = words[intake.TOO_LARGE] % {"mb": get_settings().appeal_max_upload_bytes // 1024**2}
    return words


@router.get("/a/{slug}", response_class=HTMLResponse, dependencies=[Depends(throttle.rate_limited(throttle.APPEALS))])
def appeal_page(request: Request, slug: str, session: SessionDep) -> Response:
    appeal = appeals.public_appeal(session, slug)
    settings = get_settings()
    locale = locale_of(request)
    context: dict[str, Any] = {
        "appeal": appeal,
        "open": appeals.is_open(appeal),
        "attestation_version": intake.ATTESTATION_VERSION,
        "max_mb": settings.appeal_max_upload_bytes // 1024**2,
        "max_bytes": settings.appeal_max_upload_bytes,
        "tile_url": settings.map_tile_url,
        "tile_attribution": settings.map_tile_attribution,
        "messages": _messages(locale),
        "too_large": intake.TOO_LARGE,
    }
    response = render(request, "appeal_public.html", context)
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


@router.get("/a/{slug}/qr.png")
def appeal_qr_png(slug: str, session: SessionDep) -> Response:
    appeal = appeals.public_appeal(session, slug)
    return Response(qr.png(appeals.public_url(appeal)), media_type="image/png")


@router.get("/a/{slug}/qr.svg")
def appeal_qr_svg(slug: str, session: SessionDep) -> Response:
    appeal = appeals.public_appeal(session, slug)
    return Response(qr.svg(appeals.public_url(appeal)), media_type="image/svg+xml")
