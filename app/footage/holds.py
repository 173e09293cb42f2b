"""Manual legal holds on a case's evidence: placed and released with a reason, each object's hold logged.

A supervisor of the case's unit or an admin places one (e.g. during an appeal): every live original, clip and
redacted copy (with its mask file) of the case gets the S3 legal hold (already on while the case is open) and a
custody event `legal_hold.placed`.
Releasing it never releases the hold an open case keeps: while the case is open each object's hold stays on and
its event `legal_hold.manual_released` says so; on a closed case the hold comes off in S3, then the row and the
event `legal_hold.released` record it. The retention sweep (app/footage/retention.py) releases nothing of a case
under a manual hold.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.auth.permissions import Actor
from app.cases import service as cases
from app.cases.models import Case, CaseStatus
from app.core.storage import get_storage
from app.custody.rows import row_state
from app.custody.service import append_event
from app.footage.models import Clip, Original
from app.footage.redaction_models import Redaction
from app.footage.service import case_column, with_request
from app.footage.shared_objects import object_changed


def live_evidence(session: Session, case_id: UUID) -> list[Original | Clip]:
    """The case's originals and clips still stored (not deleted at the end of retention), locked for update: its
    requests' and those it has without a request (an appeal's originals and their clips)."""
    found: list[Original | Clip] = []
    for model in (Original, Clip):
        found.extend(
            session.scalars(
                with_request(select(model), model)
                .where(case_column(model) == case_id, model.deleted_at.is_(None))
                .order_by(model.id)
                .with_for_update(of=model)
            )
        )
    return found


def _record(
    session: Session, actor: Actor, action: str, case: Case, row: Original | Clip, reason: str, **details: Any
) -> None:
    table = "clips" if isinstance(row, Clip) else "originals"
    append_event(
        session,
        actor=actor.label,
        action=action,
        object_type=table[:-1],
        object_id=row.id,
        sha256=row.sha256,
        version_id=row.version_id,
        case_id=case.id,
        reason=reason,
        where=actor.where(),
        details={"object_key": row.object_key, **details, "row": row_state(table, row)},
    )


def _shared(session: Session, actor: Actor, row: Original | Clip, reason: str) -> None:
    if isinstance(row, Original):  # an appeal's original shares its submission's object: the submission follows
        object_changed(session, row, "legal_hold", actor.label, reason, actor.where())


def place_case_hold(session: Session, actor: Actor, case_id: UUID, reason: str) -> dict[str, Any]:
    """Place a manual legal hold on every stored object of the case (S3 first, then row and event per object)."""
    case = cases.set_manual_hold(session, actor, case_id, reason, on=True)
    rows = live_evidence(session, case.id)
    store = get_storage()
    for row in rows:
        store.set_legal_hold(row.object_key, row.version_id, True)
        row.legal_hold = True
        _record(session, actor, "legal_hold.placed", case, row, reason, manual=True)
        _shared(session, actor, row, reason)
    for copy in _live_redactions(session, case.id):
        _hold_redaction(session, actor, "legal_hold.placed", case, copy, reason, True, manual=True)
    return _summary(case, rows)


def release_case_hold(session: Session, actor: Actor, case_id: UUID, reason: str) -> dict[str, Any]:
    """Release the manual legal hold; an open case keeps its objects held, a closed case's come off."""
    case = cases.set_manual_hold(session, actor, case_id, reason, on=False)
    rows = live_evidence(session, case.id)
    store = get_storage()
    keep = case.status == CaseStatus.open.value
    for row in rows:
        if keep:
            _record(session, actor, "legal_hold.manual_released", case, row, reason, kept="the case is open")
            continue
        store.set_legal_hold(row.object_key, row.version_id, False)
        row.legal_hold = False
        _record(session, actor, "legal_hold.released", case, row, reason, manual=True)
        _shared(session, actor, row, reason)
    for copy in _live_redactions(session, case.id):
        if keep:
            _hold_redaction(session, actor, "legal_hold.manual_released", case, copy, reason, True, kept="open case")
        else:
            _hold_redaction(session, actor, "legal_hold.released", case, copy, reason, False, manual=True)
    return _summary(case, rows)


def _live_redactions(session: Session, case_id: UUID) -> list[Redaction]:
    """The case's redacted copies still stored, locked for update."""
    return list(
        session.scalars(
            select(Redaction)
            .where(Redaction.case_id == case_id, Redaction.status == "ready", Redaction.deleted_at.is_(None))
            .order_by(Redaction.id)
            .with_for_update()
        )
    )


def _hold_redaction(
    session: Session, actor: Actor, action: str, case: Case, row: Redaction, reason: str, on: bool, **details: Any
) -> None:
    """A redacted copy and its mask file held (or released) together: S3 first, then the row and one event."""
    parts = [(row.object_key, row.version_id), (row.mask_object_key, row.mask_version_id)]
    for key, version in parts:
        assert key and version
        get_storage().set_legal_hold(key, version, on)
    row.legal_hold = on
    session.flush()
    append_event(
        session,
        actor=actor.label,
        action=action,
        object_type="redaction",
        object_id=row.id,
        sha256=row.sha256,
        version_id=row.version_id,
        case_id=case.id,
        reason=reason,
        where=actor.where(),
        details={
            "objects": [{"object_key": k, "version_id": v} for k, v in parts],
            **details,
            "row": row_state("redactions", row),
        },
    )


def _summary(case: Case, rows: list[Original | Clip]) -> dict[str, Any]:
    return {
        "case_id": case.id,
        "manual_hold": case.manual_hold_reason is not None,
        "reason": case.manual_hold_reason,
        "objects": [
            {"object_type": "clip" if isinstance(r, Clip) else "original", "id": r.id, "legal_hold": r.legal_hold}
            for r in rows
        ],
    }
