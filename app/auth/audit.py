"""The security trail: logins, lock-outs, denials and owner-link uses, in the append-only `security_events`.

Denials are written in their own transaction: the request that was refused rolls back, its record must not.
Probes that anyone can repeat at will (unknown owner links, sign-ins refused while waiting, rate-limited calls) are
counted per kind and client address in `security_event_tallies` (count, first and last time, the last one's path
and details) rather than written a row each.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from sqlalchemy import text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from app.auth.models import SecurityEvent, SecurityEventTally
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


def tally_now(
    kind: str,
    *,
    client_address: str | None,
    email: str | None = None,
    path: str | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    """Count one probe of `kind` from `client_address`, in a transaction of its own (survives the rollback)."""
    now = clock.now()
    values = {
        "kind": kind,
        "client_address": client_address or "unknown",
        "count": 1,
        "first_at": now,
        "last_at": now,
        "last_email": email,
        "last_path": path,
        "last_details": details or {},
    }
    statement = insert(SecurityEventTally).values(**values)
    statement = statement.on_conflict_do_update(
        index_elements=["kind", "client_address"],
        set_={
            "count": SecurityEventTally.count + 1,
            "last_at": statement.excluded.last_at,
            "last_email": statement.excluded.last_email,
            "last_path": statement.excluded.last_path,
            "last_details": statement.excluded.last_details,
        },
    )
    with write_session() as session:
        session.execute(text("SET LOCAL synchronous_commit TO OFF"))  # a tally, not evidence: no wait for the disk
        session.execute(statement)
