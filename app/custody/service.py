"""Writing the custody log. Every domain appends through :func:`append_event`, inside its own transaction."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.core import clock
from app.custody.entry import canonical_entry
from app.custody.merkle import frontier_append, frontier_root, leaf_hash
from app.custody.models import CustodyEvent, CustodyLogHead


def _json_safe(value: dict[str, Any]) -> dict[str, Any]:
    # Store exactly what JSONB will give back, so the leaf can be recomputed from the row.
    def default(obj: object) -> str:
        if isinstance(obj, datetime):
            return obj.isoformat()
        if isinstance(obj, UUID | bytes):
            return obj.hex() if isinstance(obj, bytes) else str(obj)
        raise TypeError(f"custody details cannot hold {type(obj).__name__}")

    loaded: dict[str, Any] = _as_jsonb_returns(json.loads(json.dumps(value, default=default)))
    return loaded


def _as_jsonb_returns(value: Any) -> Any:
    # JSONB stores numbers as exact decimals and prints an integral float of 1e16 or more without exponent
    # or fraction (2.5e16 comes back as 25000000000000000, an int): store it as that int from the start.
    if isinstance(value, float) and value.is_integer() and abs(value) >= 1e16:
        return int(value)
    if isinstance(value, dict):
        return {k: _as_jsonb_returns(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_as_jsonb_returns(v) for v in value]
    return value


def append_event(
    session: Session,
    *,
    actor: str,
    action: str,
    object_type: str | None = None,
    object_id: UUID | None = None,
    sha256: str | None = None,
    version_id: str | None = None,
    case_id: UUID | None = None,
    reason: str | None = None,
    where: dict[str, Any] | None = None,
    outcome: str = "ok",
    details: dict[str, Any] | None = None,
) -> CustodyEvent:
    """Append one event to the log inside the caller's transaction.

    The log head row is locked first, so concurrent writers serialise: sequences are gap-free (a rolled
    back transaction rolls back its sequence too) and the running Merkle root never forks.
    """
    head = session.execute(select(CustodyLogHead).where(CustodyLogHead.id == 1).with_for_update()).scalar_one()
    seq = head.tree_size + 1
    at = clock.now()
    where_safe = _json_safe(where or {})
    details_safe = _json_safe(details or {})
    leaf = leaf_hash(
        canonical_entry(
            seq=seq,
            at=at,
            actor=actor,
            action=action,
            object_type=object_type,
            object_id=object_id,
            sha256=sha256,
            version_id=version_id,
            case_id=case_id,
            reason=reason,
            where=where_safe,
            outcome=outcome,
            details=details_safe,
        )
    )
    frontier = frontier_append(head.frontier, head.tree_size, leaf)
    head.tree_size = seq
    head.frontier = frontier
    head.root_hash = frontier_root(frontier)
    event = CustodyEvent(
        seq=seq,
        at=at,
        actor=actor,
        action=action,
        object_type=object_type,
        object_id=object_id,
        sha256=sha256,
        version_id=version_id,
        case_id=case_id,
        reason=reason,
        where=where_safe,
        outcome=outcome,
        details=details_safe,
        leaf_hash=leaf,
    )
    session.add(event)
    session.flush()
    return event


def log_head(session: Session) -> CustodyLogHead:
    """The current tree size, frontier and root (without locking)."""
    return session.execute(select(CustodyLogHead).where(CustodyLogHead.id == 1)).scalar_one()
