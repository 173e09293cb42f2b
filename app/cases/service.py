"""Cases: open, read, amend and close, each change written to the custody log in the same transaction."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.auth.models import User
from app.auth.permissions import Actor, case_scope, ensure_may, ensure_visible, may_lead_cases
from app.cases.models import Case, CaseStatus, RetentionCategory
from app.cases.schemas import CaseClose, CaseCreate, CaseUpdate, RetentionCategoryCreate
from app.core import clock, queue
from app.core.errors import Conflict, RuleViolation
from app.custody.rows import row_state
from app.custody.service import append_event
from app.extractions.closing import settle_case_requests
from app.registry.districts import known_district


def _check_window(start: datetime, end: datetime) -> None:
    if end <= start:
        raise RuleViolation("incident_end", "must be after incident_start")


def _lead(session: Session, unit_id: UUID, lead_id: UUID) -> UUID:
    """The lead investigator must be an active investigator of the case's unit."""
    lead = session.get(User, lead_id)
    if lead is None or not lead.is_active or not may_lead_cases(lead.role) or lead.unit_id != unit_id:
        raise RuleViolation("lead_investigator_id", "must be an active investigator of the case's unit")
    return lead.id


def _number_taken(session: Session, number: str, except_id: UUID | None = None) -> Case | None:
    query = select(Case).where(Case.number == number)
    if except_id is not None:
        query = query.where(Case.id != except_id)
    return session.scalar(query)


def _flush_unique(session: Session, number: str) -> None:
    # The unique index is the real guard; a racing duplicate becomes the same 409 as the pre-check.
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError as exc:
        if "uq_cases_number" in str(exc.orig):
            raise Conflict(f"case number {number!r} already exists", extra={"field": "number"}) from exc
        raise


def _record(session: Session, actor: Actor, action: str, case: Case, details: dict[str, Any]) -> None:
    append_event(
        session,
        actor=actor.label,
        action=action,
        object_type="case",
        object_id=case.id,
        case_id=case.id,
        where=actor.where(),
        details={**details, "row": row_state("cases", case)},
    )


def create_case(session: Session, actor: Actor, body: CaseCreate) -> Case:
    """Open a case in the creating investigator's unit; its number must be unique (409 otherwise)."""
    ensure_may(actor, "cases.write")
    if actor.unit_id is None or actor.user_id is None:
        raise RuleViolation("unit_id", "only an investigator with a unit may open a case")
    _check_window(body.incident_start, body.incident_end)
    existing = _number_taken(session, body.number)
    if existing is not None:
        raise Conflict(f"case number {body.number!r} already exists", extra={"field": "number"})
    lead_id = _lead(session, actor.unit_id, body.lead_investigator_id or actor.user_id)
    now = clock.now()
    case = Case(
        number=body.number,
        title=body.title,
        offence=body.offence,
        incident_lat=body.incident_lat,
        incident_lon=body.incident_lon,
        incident_start=body.incident_start,
        incident_end=body.incident_end,
        district=known_district(session, "district", body.district),
        ward=(body.ward or "").strip() or None,
        unit_id=actor.unit_id,
        lead_investigator_id=lead_id,
        status=CaseStatus.open,
        created_by=actor.user_id,
        created_at=now,
        updated_at=now,
    )
    session.add(case)
    _flush_unique(session, body.number)
    _record(
        session,
        actor,
        "case_created",
        case,
        {
            "number": case.number,
            "offence": case.offence,
            "unit_id": case.unit_id,
            "lead_investigator_id": case.lead_investigator_id,
            "incident_start": case.incident_start,
            "incident_end": case.incident_end,
        },
    )
    return case


def get_case(session: Session, actor: Actor, case_id: UUID, *, for_update: bool = False) -> Case:
    """The case, if the actor's scope covers it (own unit for investigators and supervisors); else 404."""
    query = select(Case).where(Case.id == case_id)
    if for_update:
        query = query.with_for_update()
    case = session.scalar(query)
    if case is None:
        ensure_visible(False, actor, "case", case_id)
    assert case is not None
    ensure_may(actor, "cases.read", case)
    return case


def list_cases(
    session: Session,
    actor: Actor,
    *,
    limit: int,
    offset: int,
    status: CaseStatus | None = None,
    number: str | None = None,
) -> tuple[list[Case], int]:
    """Cases the actor may see, newest first."""
    ensure_may(actor, "cases.read")
    conditions = [case_scope(actor, Case.unit_id, Case.id)]
    if status is not None:
        conditions.append(Case.status == status.value)
    if number:
        conditions.append(Case.number == number.strip())
    total = session.scalar(select(func.count()).select_from(Case).where(*conditions)) or 0
    rows = session.scalars(
        select(Case).where(*conditions).order_by(Case.created_at.desc(), Case.id).limit(limit).offset(offset)
    ).all()
    return list(rows), total


def _ensure_open(case: Case) -> None:
    if case.status != CaseStatus.open:
        raise Conflict(f"case {case.id} is closed and can no longer change", extra={"status": case.status})


def update_case(session: Session, actor: Actor, case_id: UUID, body: CaseUpdate) -> Case:
    """Amend an open case of the actor's unit; the incident window stays ordered and the number unique."""
    case = get_case(session, actor, case_id, for_update=True)
    ensure_may(actor, "cases.write", case)
    _ensure_open(case)
    changes = {name: getattr(body, name) for name in body.model_fields_set}
    for name, value in changes.items():
        if value is None:
            raise RuleViolation(name, "may not be null; leave the field out to keep it")
    start = changes.get("incident_start", case.incident_start)
    end = changes.get("incident_end", case.incident_end)
    _check_window(start, end)
    if "number" in changes and changes["number"] != case.number and _number_taken(session, changes["number"], case.id):
        raise Conflict(f"case number {changes['number']!r} already exists", extra={"field": "number"})
    if "lead_investigator_id" in changes:
        _lead(session, case.unit_id, changes["lead_investigator_id"])
    if "retention_category" in changes and session.get(RetentionCategory, changes["retention_category"]) is None:
        raise RuleViolation("retention_category", "is not a known retention category; see GET /retention-categories")
    if "district" in changes:
        changes["district"] = known_district(session, "district", changes["district"])
    if "ward" in changes:
        changes["ward"] = changes["ward"].strip() or None
    diff: dict[str, Any] = {}
    for name, value in changes.items():
        old = getattr(case, name)
        if old != value:
            diff[name] = {"from": old, "to": value}
            setattr(case, name, value)
    if not diff:
        return case
    case.updated_at = clock.now()
    _flush_unique(session, case.number)
    _record(session, actor, "case_updated", case, {"changes": diff})
    if "retention_category" in diff:  # its stored evidence is locked at least as long as the new category says
        queue.defer_after_commit(
            session, RETENTION_FOLLOW_TASK, queueing_lock=f"{RETENTION_FOLLOW_TASK}:{case.id}", case_id=str(case.id)
        )
    return case


def close_case(session: Session, actor: Actor, case_id: UUID, body: CaseClose) -> Case:
    """Close an open case with its outcome and whether footage contributed; closing twice is a 409."""
    case = get_case(session, actor, case_id, for_update=True)
    ensure_may(actor, "cases.write", case)
    _ensure_open(case)
    now = clock.now()
    case.status = CaseStatus.closed
    case.outcome = body.outcome
    case.footage_contributed = body.footage_contributed
    case.closed_at = now
    case.closed_by = actor.user_id
    case.updated_at = now
    session.flush()
    # each settled request is a move with its own history row and custody event
    settle_case_requests(session, actor, case.id, outcome=body.outcome, footage_contributed=body.footage_contributed)
    _record(
        session,
        actor,
        "case_closed",
        case,
        {"outcome": body.outcome, "footage_contributed": body.footage_contributed},
    )
    return case


# -- manual legal hold ------------------------------------------------------------------------------------
# The task that makes a case's stored evidence follow its retention category (queued when the category changes;
# the hourly retention sweep does the same for every case, so a lost job only delays it).
RETENTION_FOLLOW_TASK = "retention.follow_case"


def set_manual_hold(session: Session, actor: Actor, case_id: UUID, reason: str, *, on: bool) -> Case:
    """Place (`on`) or release the manual legal hold of a case: a supervisor of the case's unit or an admin, with
    a reason; placing twice or releasing what is not placed is a 409. The objects follow in app.footage.holds."""
    ensure_may(actor, "cases.hold")
    case = get_case(session, actor, case_id, for_update=True)
    ensure_may(actor, "cases.hold", case)
    if on and case.manual_hold_reason is not None:
        raise Conflict(
            f"case {case.number} is already under a manual legal hold", extra={"reason": case.manual_hold_reason}
        )
    if not on and case.manual_hold_reason is None:
        raise Conflict(f"case {case.number} has no manual legal hold to release")
    previous = case.manual_hold_reason
    case.manual_hold_reason = reason if on else None
    case.manual_hold_at = clock.now() if on else None
    case.manual_hold_by = actor.label if on else None
    case.updated_at = clock.now()
    session.flush()
    append_event(
        session,
        actor=actor.label,
        action="case.legal_hold_placed" if on else "case.legal_hold_released",
        object_type="case",
        object_id=case.id,
        case_id=case.id,
        reason=reason,
        where=actor.where(),
        details={**({} if on else {"placed_for": previous}), "row": row_state("cases", case)},
    )
    return case


# -- retention categories ------------------------------------------------------------------------------


def list_retention_categories(session: Session) -> list[dict[str, Any]]:
    rows = session.scalars(select(RetentionCategory).order_by(RetentionCategory.retention_seconds))
    return [_category(row) for row in rows]


def create_retention_category(session: Session, actor: Actor, body: RetentionCategoryCreate) -> dict[str, Any]:
    """A new category (codes are unique and never change: cases and locked evidence refer to them)."""
    ensure_may(actor, "retention.write")
    if session.get(RetentionCategory, body.code) is not None:
        raise Conflict(f"retention category {body.code!r} already exists", extra={"field": "code"})
    row = RetentionCategory(
        code=body.code,
        name=body.name,
        retention_seconds=max(1, round(body.retention_days * 86400)),
        mode=body.mode,
        description=body.description,
        created_at=clock.now(),
    )
    session.add(row)
    session.flush()
    append_event(
        session,
        actor=actor.label,
        action="retention_category.created",
        object_type="retention_category",
        reason=body.name,
        where=actor.where(),
        details=_category(row),
    )
    return _category(row)


def _category(row: RetentionCategory) -> dict[str, Any]:
    return {
        "code": row.code,
        "name": row.name,
        "retention_days": row.retention_seconds / 86400,
        "mode": row.mode,
        "description": row.description,
    }
