"""What a declined submission keeps: only its short quarantine lock. Once that lock has passed, the hourly sweep
deletes the version and records the deletion (`retention.deleted`, so verification expects it gone); the row
stays as the record, with `deleted_at`. Accepted submissions and their clips are kept with their case."""

from __future__ import annotations

import logging

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.appeals.models import Submission, SubmissionStatus
from app.core import clock
from app.core.storage import StorageError, get_storage
from app.custody.service import append_event

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
            details={"object_key": submission.object_key, "category": str(submission.decline_category)},
        )
        deleted.append(str(submission.id))
    return deleted
