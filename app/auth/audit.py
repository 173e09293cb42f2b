"""The security trail: logins, lock-outs, denials and owner-link uses, in the append-only `security_events`.

Denials are written in their own transaction: the request that was refused rolls back, its record must not.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from sqlalchemy.orm import Session

from app.auth.models import SecurityEvent
from app.core import clock
from app.core.db import write_session


def record(
    session: Session,
    kind: str,
    *,
    user_id: UUID | None = None,
    email: str | None = None,
    client_address: str | None = None,
    method: str | None = None,
    path: str | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    """Add a security event to `session` (committed with the caller's transaction)."""
    session.add(
        SecurityEvent(
            at=clock.now(),
            kind=kind,
            user_id=user_id,
            email=email,
            client_address=client_address,
            method=method,
            path=path,
            details=details or {},
        )
    )


def record_now(kind: str, **fields: Any) -> None:
    """Record a security event in a transaction of its own (survives the caller's rollback)."""
    with write_session() as session:
        record(session, kind, **fields)
