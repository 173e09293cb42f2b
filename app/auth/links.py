"""One-time owner links: a 256-bit random token, only its SHA-256 stored, scoped to one request.

A link is usable for viewing, approving, denying and uploading until it expires, is revoked by the
investigator, or is completed (the request has left the owner's hands). A completed link still opens, read-only,
until it expires: the owner sees what was asked, what they answered and what became of it, and can act no more.
Each use is audited with the client address. Whether the request is still in the owner's hands is the requests
domain's rule: it calls :func:`complete` when that happens, and :func:`reopen` when it comes back (the footage
did not cover the window and the owner may upload again).
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from typing import Annotated
from uuid import UUID

from fastapi import Depends, Path, Request
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.auth import audit, throttle
from app.auth.models import OwnerLink
from app.auth.permissions import Actor, ActorKind, client_address
from app.core import clock
from app.core.config import get_settings
from app.core.db import SessionDep
from app.core.errors import Conflict, NotFound

# What a holder of a dead link reads (the page words it in the reader's language, with whom to call).
GONE = "This link no longer opens: it is unknown, expired or withdrawn. Call the police unit that sent it."
USED = "This request has been answered through this link; the link now only shows what happened."


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("ascii", "replace")).hexdigest()


def issue(
    session: Session, request_id: UUID, created_by: UUID | None, ttl: timedelta | None = None
) -> tuple[OwnerLink, str]:
    """Create a link for `request_id`; return it and the raw token (shown once, never stored)."""
    token = secrets.token_urlsafe(32)  # 256 bits
    now = clock.now()
    link = OwnerLink(
        request_id=request_id,
        token_hash=_digest(token),
        created_by=created_by,
        created_at=now,
        expires_at=now + (ttl or timedelta(days=get_settings().owner_link_ttl_days)),
    )
    session.add(link)
    session.flush()
    return link, token


def link_url(token: str) -> str:
    return f"{get_settings().public_base_url.rstrip('/')}/respond/{token}"


def refusal_reason(link: OwnerLink | None) -> str | None:
    if link is None:
        return "unknown"
    now = clock.now()
    if link.revoked_at is not None:
        return "revoked"
    if link.expires_at <= now:
        return "expired"
    if link.completed_at is not None:
        return "completed"
    return None


def resolve(
    session: Session, token: str, address: str | None, path: str | None = None, *, read_only: bool = False
) -> OwnerLink:
    """The link behind `token`, its use recorded. Unknown, expired and revoked links are a 404; a completed link
    opens only to read (`read_only`), and an attempt to act through it is a 409."""
    link = session.scalar(select(OwnerLink).where(OwnerLink.token_hash == _digest(token)).with_for_update())
    reason = refusal_reason(link)
    if reason is not None and not (reason == "completed" and read_only):
        # Counted per address, not a row per probe: guessing links must not flood the trail.
        audit.tally_now(
            "owner_link_refused",
            client_address=address,
            path=path,
            details={"reason": reason, "link_id": str(link.id) if link else None},
        )
        if reason == "completed":
            raise Conflict(USED, extra={"link": "completed"})
        raise NotFound(GONE, extra={"link": reason})
    assert link is not None
    link.last_used_at = clock.now()
    link.use_count += 1
    details = {"link_id": str(link.id), "request_id": str(link.request_id)}
    audit.record(
        session,
        "owner_link_used",
        client_address=address,
        path=path,
        details={**details, "read_only": True} if reason == "completed" else details,
    )
    return link


def revoke(session: Session, link_id: UUID) -> OwnerLink:
    link = session.get(OwnerLink, link_id)
    if link is None:
        raise NotFound(f"owner link {link_id} not found")
    if link.revoked_at is None:
        link.revoked_at = clock.now()
    return link


def complete(session: Session, request_id: UUID) -> None:
    """Close every live link of a request once it has left the owner's hands (answered and delivered)."""
    now = clock.now()
    for link in session.scalars(
        select(OwnerLink).where(OwnerLink.request_id == request_id, OwnerLink.completed_at.is_(None))
    ):
        link.completed_at = now


def reopen(session: Session, request_id: UUID) -> None:
    """The request is back in the owner's hands (its footage missed the window): the links it completed, neither
    revoked nor expired, act again, so the owner uploads another file through the link they already have."""
    now = clock.now()
    for link in session.scalars(
        select(OwnerLink).where(
            OwnerLink.request_id == request_id,
            OwnerLink.completed_at.is_not(None),
            OwnerLink.revoked_at.is_(None),
            OwnerLink.expires_at > now,
        )
    ):
        link.completed_at = None


def link_actor(
    request: Request, session: SessionDep, token: Annotated[str, Path(min_length=20, max_length=100)]
) -> Actor:
    """Dependency for the /respond/{token} routes that act: the owner holding a live link, as an Actor."""
    throttle.check(throttle.OWNER_LINKS, client_address(request), request.url.path)
    link = resolve(session, token, client_address(request), request.url.path)
    return Actor(
        kind=ActorKind.link, link_id=link.id, link_request_id=link.request_id, client_address=client_address(request)
    )


def link_viewer(
    request: Request, session: SessionDep, token: Annotated[str, Path(min_length=20, max_length=100)]
) -> Actor:
    """Dependency for the /respond/{token} routes that only read: a live link, or one whose request was answered
    (completed), which keeps showing what happened until it expires."""
    throttle.check(throttle.OWNER_LINKS, client_address(request), request.url.path)
    link = resolve(session, token, client_address(request), request.url.path, read_only=True)
    return Actor(
        kind=ActorKind.link, link_id=link.id, link_request_id=link.request_id, client_address=client_address(request)
    )


LinkActor = Annotated[Actor, Depends(link_actor)]
LinkViewer = Annotated[Actor, Depends(link_viewer)]
