"""Reading the custody log within the reader's scope: the event browser, and an owner's ledger of who touched
what they handed over."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.orm import Session

from app.auth.permissions import Actor, Reach, may, unit_reach, unit_scope
from app.cases.models import Case
from app.custody.bundle_parts import exported_event
from app.custody.models import CustodyEvent
from app.extractions.models import ExtractionRequest
from app.footage.models import Clip, Original


def _scope(actor: Actor) -> ColumnElement[bool]:
    """Auditors and admins read the whole log; investigators and supervisors the events of their unit's cases."""
    within_units = unit_scope(actor, Case.unit_id)
    if unit_reach(actor)[0] == Reach.all:
        return within_units  # events of no case too
    return CustodyEvent.case_id.in_(select(Case.id).where(within_units))


def list_events(
    session: Session,
    actor: Actor,
    *,
    case_id: UUID | None,
    object_id: UUID | None,
    since_seq: int | None,
    action: str | None,
    limit: int,
    offset: int,
    actor_label: str | None = None,
    at_from: datetime | None = None,
    at_until: datetime | None = None,
) -> tuple[list[dict[str, Any]], int]:
    """Events within the reader's scope matching every filter given, by seq; `at_until` is exclusive."""
    from sqlalchemy import func

    conditions = [_scope(actor)]
    if case_id is not None:
        conditions.append(CustodyEvent.case_id == case_id)
    if object_id is not None:
        conditions.append(CustodyEvent.object_id == object_id)
    if since_seq is not None:
        conditions.append(CustodyEvent.seq > since_seq)
    if action:
        conditions.append(CustodyEvent.action == action)
    if actor_label:
        conditions.append(CustodyEvent.actor == actor_label)
    if at_from is not None:
        conditions.append(CustodyEvent.at >= at_from)
    if at_until is not None:
        conditions.append(CustodyEvent.at < at_until)
    total = session.scalar(select(func.count()).select_from(CustodyEvent).where(*conditions)) or 0
    rows = session.scalars(
        select(CustodyEvent).where(*conditions).order_by(CustodyEvent.seq).limit(limit).offset(offset)
    )
    return [exported_event(e) for e in rows], total


def owner_ledger(session: Session, actor: Actor, limit: int, offset: int) -> tuple[list[dict[str, Any]], int]:
    """Every event on the footage an owner provided and on what was derived from it (views, downloads, clips)."""
    from sqlalchemy import func

    if not may(actor, "custody.ledger") or actor.owner_id is None:
        return [], 0
    requests = select(ExtractionRequest.id).where(ExtractionRequest.owner_id == actor.owner_id)
    originals = select(Original.id).where(Original.request_id.in_(requests))
    clips = select(Clip.id).where(Clip.original_id.in_(originals))
    condition = or_(
        CustodyEvent.object_id.in_(originals), CustodyEvent.object_id.in_(clips), CustodyEvent.object_id.in_(requests)
    )
    total = session.scalar(select(func.count()).select_from(CustodyEvent).where(condition)) or 0
    rows = session.scalars(select(CustodyEvent).where(condition).order_by(CustodyEvent.seq).limit(limit).offset(offset))
    return [exported_event(e) for e in rows], total


def verify_and_record(session: Session, actor: Actor, component: str = "api") -> dict[str, Any]:
    """Recompute the whole log (leaves, root, signed checkpoints) and re-hash every stored object version, in a
    snapshot of its own; that it ran, and what it found, is a custody event in the caller's transaction."""
    from app.auth.permissions import ensure_role
    from app.core.db import read_session
    from app.custody.service import append_event
    from app.custody.verify import verify_log

    ensure_role(actor, "custody.verify")
    with read_session() as snapshot:
        result = verify_log(snapshot, include_objects=True, workers=1).as_record()
    append_event(
        session,
        actor=actor.label,
        action="custody.verified",
        where=actor.where(component),
        outcome="ok" if result["ok"] else "problems",
        details={
            "tree_size": result["tree_size"],
            "root_hash": result["root_hash"],
            "problems": len(result["problems"]),
            "objects_checked": result["objects_checked"],
        },
    )
    return result
