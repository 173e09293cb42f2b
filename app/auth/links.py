"""One-time owner links: a 256-bit random token, only its SHA-256 stored, scoped to one request.

A link is usable for viewing, approving, denying and uploading until it expires, is revoked by the
investigator, or is completed (the request has left the owner's hands). Each use is audited with the client
address. Whether the request is still in the owner's hands is the requests domain's rule: it calls
:func:`complete` when that happens.
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

from app.auth import audit
from app.auth.models import OwnerLink
from app.auth.permissions import Actor, ActorKind, client_address
from app.core import clock
from app.core.config import get_settings
from app.core.db import SessionDep
from app.core.errors import NotFound


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
    if link.completed_at is not None:
        return "completed"
    if link.expires_at <= now:
        return "expired"
    return None


def resolve(session: Session, token: str, address: str | None, path: str | None = None) -> OwnerLink:
    """The live link behind `token`, its use recorded; 404 for unknown, expired, revoked or completed links."""
    link = session.scalar(select(OwnerLink).where(OwnerLink.token_hash == _digest(token)).with_for_update())
    reason = refusal_reason(link)
    if reason is not None:
        audit.record_now(
            "owner_link_refused",
            client_address=address,
            path=path,
            details={"reason": reason, "link_id": str(link.id) if link else None},
        )
        raise NotFound("This link is not valid: it is unknown, expired, revoked or already used.")
    assert link is not None
    link.last_used_at = clock.now()
    link.use_count += 1
    audit.record(
        session,
        "owner_link_used",
        client_address=address,
        path=path,
        details={"link_id": str(link.id), "request_id": str(link.request_id)},
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


def link_actor(
    request: Request, session: SessionDep, token: Annotated[str, Path(min_length=20, max_length=100)]
) -> Actor:
    """Dependency for /respond/{token} routes: the owner holding a live link, as an Actor."""
    link = resolve(session, token, client_address(request), request.url.path)
    return Actor(
        kind=ActorKind.link, link_id=link.id, link_request_id=link.request_id, client_address=client_address(request)
    )


LinkActor = Annotated[Actor, Depends(link_actor)]
