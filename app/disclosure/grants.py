"""Case grants: a supervisor of the case's unit (or an admin) gives a prosecutor sight of one case for a term,
and may take it back. Each grant and revocation is a custody event of the case."""

from __future__ import annotations

from datetime import datetime, timedelta
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.auth.grants import CaseGrant
from app.auth.models import Role, User
from app.auth.permissions import Actor, ensure_may, ensure_visible
from app.cases import service as cases
from app.core import clock
from app.core.errors import Conflict, RuleViolation
from app.custody.service import append_event

LONGEST_TERM = timedelta(days=366)


def grant_case(
    session: Session, actor: Actor, case_id: UUID, grantee_email: str, expires_at: datetime, reason: str
) -> CaseGrant:
    """Give the prosecutor account `grantee_email` sight of the case until `expires_at` (at most a year ahead)."""
    case = cases.get_case(session, actor, case_id)
    ensure_may(actor, "grants.manage", case)
    grantee = session.scalar(select(User).where(User.email == grantee_email.strip().lower()))
    if grantee is None or grantee.role != Role.prosecutor or not grantee.is_active:
        raise RuleViolation("grantee_email", "no active prosecutor account has this email")
    now = clock.now()
    if expires_at.tzinfo is None:
        raise RuleViolation("expires_at", "needs a UTC offset, e.g. 2026-12-31T17:00:00+07:00")
    if not now < expires_at <= now + LONGEST_TERM:
        raise RuleViolation("expires_at", "must be in the future and at most a year from now")
    reason = reason.strip()
    if not 1 <= len(reason) <= 500:
        raise RuleViolation("reason", "say why the prosecutor needs the case (1 to 500 characters)")
    assert actor.user_id is not None
    grant = CaseGrant(
        case_id=case.id,
        grantee_id=grantee.id,
        granted_by=actor.user_id,
        granted_at=now,
        expires_at=expires_at,
        reason=reason,
    )
    session.add(grant)
    session.flush()
    append_event(
        session,
        actor=actor.label,
        action="case.access_granted",
        object_type="case",
        object_id=case.id,
        case_id=case.id,
        reason=reason,
        where=actor.where(),
        details={"grant_id": str(grant.id), "grantee": f"user:{grantee.id}", "expires_at": expires_at.isoformat()},
    )
    return grant


def revoke_grant(session: Session, actor: Actor, grant_id: UUID) -> CaseGrant:
    """End a grant now; the prosecutor loses sight of the case at once."""
    grant = session.scalar(select(CaseGrant).where(CaseGrant.id == grant_id).with_for_update())
    if grant is None:
        ensure_visible(False, actor, "grant", grant_id)
    assert grant is not None
    case = cases.get_case(session, actor, grant.case_id)
    ensure_may(actor, "grants.manage", case)
    if grant.revoked_at is not None:
        raise Conflict("the grant is already revoked")
    grant.revoked_at = clock.now()
    grant.revoked_by = actor.user_id
    append_event(
        session,
        actor=actor.label,
        action="case.access_revoked",
        object_type="case",
        object_id=case.id,
        case_id=case.id,
        where=actor.where(),
        details={"grant_id": str(grant.id), "grantee": f"user:{grant.grantee_id}"},
    )
    return grant


def list_grants(session: Session, actor: Actor, case_id: UUID) -> list[CaseGrant]:
    """A case's grants, newest first (for the supervisor who manages them)."""
    case = cases.get_case(session, actor, case_id)
    ensure_may(actor, "grants.manage", case)
    return list(
        session.scalars(
            select(CaseGrant).where(CaseGrant.case_id == case.id).order_by(CaseGrant.granted_at.desc(), CaseGrant.id)
        )
    )


def live_grant(session: Session, actor: Actor, case_id: UUID) -> CaseGrant:
    """The actor's live grant on the case (the case is already seen through it); 404 when none."""
    now = clock.now()
    grant = session.scalar(
        select(CaseGrant)
        .where(
            CaseGrant.case_id == case_id,
            CaseGrant.grantee_id == actor.user_id,
            CaseGrant.revoked_at.is_(None),
            CaseGrant.expires_at > now,
        )
        .order_by(CaseGrant.expires_at.desc())
        .limit(1)
    )
    if grant is None:
        ensure_visible(False, actor, "case", case_id)
    assert grant is not None
    return grant
