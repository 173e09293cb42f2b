"""What a declined submission keeps: only its short quarantine lock. Once that lock has passed, the hourly sweep
deletes the version and records the deletion (`retention.deleted`, so verification expects it gone); the row
stays as the record, with `deleted_at`. Accepted submissions (and the originals they became, and their clips)
are kept with their case, and like the case's other originals carry a legal hold only while the case is open and
not manually held."""

from __future__ import annotations

import logging

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.appeals.models import Submission, SubmissionStatus
from app.cases.models import Case, CaseStatus
from app.core import clock
from app.core.storage import StorageError, get_storage
from app.custody.rows import row_state
from app.custody.service import append_event
from app.footage.models import Clip, Original
from app.footage.shared_objects import Change, listen

log = logging.getLogger(__name__)
DECLINED_SWEEP_TASK = "appeals.sweep_declined"
ACTOR = "system:appeal-retention"
# The action custody verification reads as "this version is gone on purpose" (app.custody.recompute).
DELETED_ACTION = "retention.deleted"


def sweep_declined(session: Session) -> list[str]:
    """Delete the stored versions of declined submissions whose quarantine lock has passed; each deletion is a
    custody event in this transaction. A version the server still refuses to delete is left for the next run."""
    now = clock.now()
    due = session.scalars(
        select(Submission)
        .where(
            Submission.status == SubmissionStatus.declined,
            Submission.deleted_at.is_(None),
            Submission.legal_hold.is_(False),
            Submission.retain_until <= now,
        )
        .with_for_update(skip_locked=True)
    )
    deleted: list[str] = []
    store = get_storage()
    for submission in due:
        try:
            store.remove_version(submission.object_key, submission.version_id)
        except StorageError as exc:
            log.info("declined submission %s not deleted yet: %s", submission.id, exc)
            continue
        submission.deleted_at = now
        append_event(
            session,
            actor=ACTOR,
            action=DELETED_ACTION,
            object_type="appeal_submission",
            object_id=submission.id,
            sha256=submission.sha256,
            version_id=submission.version_id,
            case_id=submission.case_id,
            reason="declined submission past its quarantine lock",
            where={"component": "worker", "task": DECLINED_SWEEP_TASK},
            details={
                "object_key": submission.object_key,
                "category": str(submission.decline_category),
                "row": row_state("appeal_submissions", submission),
            },
        )
        deleted.append(str(submission.id))
    return deleted


HOLD_RELEASED = "retention.hold_released"


def release_closed(session: Session) -> list[str]:
    """Release the legal hold of accepted submissions, the originals they became and those originals' clips whose
    case is closed and under no manual hold; their Object Lock retention still runs its period. The submission
    and its original share one stored object: one release in S3, each row's change an event."""
    closed = select(Case.id).where(Case.status == CaseStatus.closed, Case.manual_hold_reason.is_(None))
    held: list[Submission | Original | Clip] = [
        *session.scalars(
            select(Submission).where(
                Submission.status == SubmissionStatus.accepted,
                Submission.legal_hold.is_(True),
                Submission.case_id.in_(closed),
            )
        ),
        *session.scalars(
            select(Original).where(
                Original.appeal_submission_id.is_not(None),
                Original.legal_hold.is_(True),
                Original.case_id.in_(closed),
            )
        ),
        *session.scalars(
            select(Clip).where(Clip.request_id.is_(None), Clip.legal_hold.is_(True), Clip.case_id.in_(closed))
        ),
    ]
    released: list[str] = []
    store = get_storage()
    for item in held:
        try:
            store.set_legal_hold(item.object_key, item.version_id, False)
        except StorageError as exc:
            log.warning("legal hold of %s not released: %s", item.id, exc)
            continue
        item.legal_hold = False
        table, noun = _table(item)
        append_event(
            session,
            actor=ACTOR,
            action=HOLD_RELEASED,
            object_type=noun,
            object_id=item.id,
            sha256=item.sha256,
            version_id=item.version_id,
            case_id=item.case_id,
            reason="case closed",
            where={"component": "worker", "task": DECLINED_SWEEP_TASK},
            details={
                "object_key": item.object_key,
                "retain_until": item.retain_until.isoformat(),
                "row": row_state(table, item),
            },
        )
        if not isinstance(item, Original):  # the original shares its submission's object: counted once
            released.append(str(item.id))
    return released


def _table(item: Submission | Original | Clip) -> tuple[str, str]:
    if isinstance(item, Submission):
        return "appeal_submissions", "appeal_submission"
    return ("originals", "original") if isinstance(item, Original) else ("clips", "clip")


MIRRORED = {"retain_until": "retention.extended", "deleted": DELETED_ACTION}


@listen
def mirror_submission(
    session: Session, original: Original, change: Change, actor: str, reason: str, where: dict[str, str | None]
) -> None:
    """The original an accepted submission became changed its (shared) object: a case's manual hold, the
    retention sweep's release or deletion, a lock extended with the case's category. The submission's row follows
    in the same transaction, with its own custody event (verification compares each row with the object)."""
    submission = session.get(Submission, original.appeal_submission_id, with_for_update=True)
    if submission is None or (submission.object_key, submission.version_id) != (
        original.object_key,
        original.version_id,
    ):
        return
    if change == "legal_hold":
        if submission.legal_hold == original.legal_hold:
            return
        submission.legal_hold = original.legal_hold
    elif change == "retain_until":
        if submission.retain_until >= original.retain_until:
            return
        submission.retain_until = original.retain_until
    else:
        if submission.deleted_at is not None:
            return
        submission.deleted_at = original.deleted_at or clock.now()
    append_event(
        session,
        actor=actor,
        action=("legal_hold.placed" if submission.legal_hold else "legal_hold.released")
        if change == "legal_hold"
        else MIRRORED[change],
        object_type="appeal_submission",
        object_id=submission.id,
        sha256=None if change == "deleted" else submission.sha256,
        version_id=submission.version_id,
        case_id=submission.case_id,
        reason=reason,
        where=where,
        details={
            "object_key": submission.object_key,
            "original_id": str(original.id),
            "legal_hold": submission.legal_hold,
            "retain_until": submission.retain_until.isoformat(),
            **({"sha256": submission.sha256} if change == "deleted" else {}),
            "row": row_state("appeal_submissions", submission),
        },
    )
