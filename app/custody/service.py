"""Writing the custody log. Every domain appends through :func:`append_event`, inside its own transaction."""

from __future__ import annotations

import json
import math
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from app.core import clock
from app.custody.entry import entry_parts
from app.custody.models import CustodyEvent, CustodyLogHead


def _json_safe(value: dict[str, Any]) -> dict[str, Any]:
    # Store exactly what JSONB will give back, so the leaf can be recomputed from the row.
    if _comes_back_as_is(value):
        return value

    def default(obj: object) -> str:
        if isinstance(obj, datetime):
            return obj.isoformat()
        if isinstance(obj, UUID | bytes):
            return obj.hex() if isinstance(obj, bytes) else str(obj)
        raise TypeError(f"custody details cannot hold {type(obj).__name__}")

    loaded: dict[str, Any] = _as_jsonb_returns(json.loads(json.dumps(value, default=default)))
    return loaded


def _comes_back_as_is(value: Any) -> bool:
    """True when the JSON round trip below would return an equal value (the usual details: str keys, strings,
    ints, small or fractional floats), so it can be skipped."""
    kind = type(value)
    if kind is str or kind is int or kind is bool or value is None:
        return True
    if kind is float:
        # Not NaN or infinities, large integral values or -0.0: see _as_jsonb_returns.
        negative_zero = value == 0 and math.copysign(1.0, value) < 0
        return math.isfinite(value) and not (value.is_integer() and abs(value) >= 1e16) and not negative_zero
    try:
        if kind is dict:
            return all(type(k) is str and _comes_back_as_is(v) for k, v in value.items())
        if kind is list:
            return all(_comes_back_as_is(v) for v in value)
    except RecursionError:  # nested too deep (or circular): the round trip says what is wrong
        return False
    return False


def _as_jsonb_returns(value: Any) -> Any:
    # JSONB stores numbers as exact decimals and prints an integral float of 1e16 or more without exponent
    # or fraction (2.5e16 comes back as 25000000000000000, an int): store it as that int from the start.
    # A decimal has no sign on zero: -0.0 comes back as 0.0, so it is stored as 0.0. JSON has no NaN or
    # infinity at all (PostgreSQL refuses them): they are kept as the strings Python's json module writes.
    if isinstance(value, float):
        if not math.isfinite(value):
            return json.dumps(value)
        if value.is_integer():
            return int(value) if abs(value) >= 1e16 else value + 0.0
    if isinstance(value, dict):
        return {k: _as_jsonb_returns(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_as_jsonb_returns(v) for v in value]
    return value


_INSERT_PENDING = "INSERT INTO custody_pending (entry_head, entry_tail) VALUES (%s, %s)"
_INSERT_PENDING_CASE = "INSERT INTO custody_pending (entry_head, entry_mid, entry_tail) VALUES (%s, %s, %s)"


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
) -> None:
    """Append one event to the log inside the caller's transaction; it takes its seq as the transaction commits.

    The event waits in custody_pending; at commit a deferred trigger locks the log head, gives it the next seq,
    hashes its leaf and advances the Merkle frontier, so appends serialise only for that moment. Sequences stay
    gap-free (a rolled back transaction leaves no pending row and takes no seq), events of one transaction keep
    their order, and the running root never forks. Use :func:`append_event_sequenced` when the seq is needed
    before the commit.
    """
    entry_head, entry_mid, entry_tail = entry_parts(
        at=clock.now(),
        actor=actor,
        action=action,
        object_type=object_type,
        object_id=object_id,
        sha256=sha256,
        version_id=version_id,
        case_id=case_id,
        reason=reason,
        where=_json_safe(where or {}),
        outcome=outcome,
        details=_json_safe(details or {}),
    )
    # The entry is all the trigger needs: it reads the event's columns back from it. One statement, two
    # parameters, sent as the driver's own SQL (nothing for SQLAlchemy to compile or bind).
    # An event of a case also takes its place in the case's chain at commit: the trigger puts the case's previous
    # event (seq and leaf hash) between head and mid.
    if entry_mid is None:
        session.connection().exec_driver_sql(_INSERT_PENDING, (entry_head, entry_tail))
    else:
        session.connection().exec_driver_sql(_INSERT_PENDING_CASE, (entry_head, entry_mid, entry_tail))


def append_event_sequenced(session: Session, **event: Any) -> CustodyEvent:
    """:func:`append_event`, then sequence this transaction's events at once and return this one. From here to
    the commit the transaction holds the log head, so appends elsewhere wait: only for callers that must name
    the seq before committing (an export that ships the proof of its own event)."""
    append_event(session, **event)
    session.execute(text("SET CONSTRAINTS custody_pending_sequence IMMEDIATE"))
    seq = session.execute(select(CustodyLogHead.tree_size).where(CustodyLogHead.id == 1)).scalar_one()
    return session.execute(
        select(CustodyEvent).where(CustodyEvent.seq == seq).execution_options(populate_existing=True)
    ).scalar_one()


def log_head(session: Session) -> CustodyLogHead:
    """The current tree size, frontier and root (without locking)."""
    return session.execute(select(CustodyLogHead).where(CustodyLogHead.id == 1)).scalar_one()
