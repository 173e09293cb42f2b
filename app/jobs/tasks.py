"""The task table: every durable background task, the name it runs under and its schedule.

Each name is a constant of the domain that owns the work, which defers it by that name (app.core.queue.defer);
only the worker entry points import this module.
"""

from __future__ import annotations

import logging

from app.appeals.retention import DECLINED_SWEEP_TASK
from app.cases.service import RETENTION_FOLLOW_TASK
from app.core.db import read_session, session_factory, write_session
from app.core.queue import queue
from app.custody.checkpoints import CHECKPOINT_TASK
from app.extractions.alerts import ALERT_TASK
from app.extractions.reminders import REMINDER_TASK
from app.extractions.service import EXPIRE_TASK
from app.footage.claims import FINISH_LOCKS_TASK
from app.footage.clip_queue import CLIP_TASK
from app.footage.cutting import CLIP_SWEEP_TASK
from app.footage.orphans import ORPHAN_SWEEP_TASK
from app.footage.playable import PLAYABLE_SWEEP_TASK, PLAYABLE_TASK
from app.footage.previews import PREVIEW_SWEEP_TASK, PREVIEW_TASK
from app.footage.redaction import DETECT_TASK, RENDER_TASK
from app.footage.redaction import SWEEP_TASK as REDACTION_SWEEP_TASK
from app.footage.retention import RETENTION_SWEEP_TASK
from app.footage.uploads import UPLOAD_SWEEP_TASK
from app.notifications import service as notifications

log = logging.getLogger(__name__)


@queue.periodic(cron="* * * * *", periodic_id="deliver-notifications")
@queue.task(name=notifications.DELIVERY_TASK, queueing_lock=notifications.DELIVERY_TASK)
def deliver_notifications(timestamp: int) -> dict[str, int]:
    """Send every notification that is due: each minute, and at once when a transaction that queued one commits
    (app.notifications.service); retries follow the outbox's own backoff."""
    report = notifications.deliver_due(session_factory())
    if report.sent or report.retried or report.failed:
        log.info("notifications: %d sent, %d to retry, %d failed", report.sent, report.retried, report.failed)
    return {"sent": report.sent, "retried": report.retried, "failed": report.failed}


@queue.periodic(cron="* * * * *", periodic_id="expire-requests")
@queue.task(name=EXPIRE_TASK, queueing_lock=EXPIRE_TASK)
def expire_requests(timestamp: int) -> int:
    """Requests still unanswered at their overwrite deadline become expired."""
    from app.extractions import service as extractions

    with write_session() as session:
        expired = extractions.expire_unanswered(session)
    if expired:
        log.info("requests: %d expired unanswered", len(expired))
    return len(expired)


@queue.task(name=CLIP_TASK, retry=3, queueing_lock=CLIP_TASK)
def make_clip(request_id: str) -> str | None:
    """Cut the clip of a request whose footage arrived (idempotent: a retry finds the clip already made)."""
    from uuid import UUID

    from app.footage import clip_failures
    from app.footage.cutting import make_clip as cut_clip

    try:
        clip = cut_clip(session_factory(), UUID(request_id))
    except Exception as exc:
        clip_failures.record(session_factory(), UUID(request_id), exc)
        raise
    return str(clip.id) if clip else None


@queue.periodic(cron="* * * * *", periodic_id="sweep-clips")
@queue.task(name=CLIP_SWEEP_TASK, queueing_lock=CLIP_SWEEP_TASK)
def sweep_clips(timestamp: int) -> int:
    """Make clips for requests whose footage arrived but whose clip job was lost (crash, queue unreachable) or
    failed: a failed one waits longer after each failure (app/footage/clip_failures.py)."""
    from app.footage import clip_failures
    from app.footage.cutting import make_clip as cut_clip

    with read_session() as session:
        waiting = clip_failures.due(session)
    for request_id in waiting:
        try:
            cut_clip(session_factory(), request_id)
        except Exception as exc:
            log.exception("clip for request %s failed; it will be retried", request_id)
            clip_failures.record(session_factory(), request_id, exc)
    return len(waiting)


@queue.task(name=PREVIEW_TASK, retry=3)
def make_previews(clip_id: str) -> int:
    """The poster frame and keyframe strip of a clip just cut (idempotent: a retry finds them made)."""
    from uuid import UUID

    from app.footage.previews import make_previews as make

    return len(make(session_factory(), UUID(clip_id)))


@queue.periodic(cron="*/10 * * * *", periodic_id="sweep-previews")
@queue.task(name=PREVIEW_SWEEP_TASK, queueing_lock=PREVIEW_SWEEP_TASK)
def sweep_previews(timestamp: int) -> int:
    """Every 10 minutes: previews for clips whose preview job was lost (or cut before previews existed)."""
    from app.footage.previews import sweep

    return sweep(session_factory())


@queue.task(name=PLAYABLE_TASK, retry=3)
def make_playback_copy(original_id: str) -> str | None:
    """The MP4 playback copy (stream copy) of an original a browser cannot play as it came (idempotent)."""
    from uuid import UUID

    from app.footage.playable import make_copy, record_failure

    try:
        copy = make_copy(session_factory(), UUID(original_id))
    except Exception as exc:
        record_failure(session_factory(), UUID(original_id), exc)
        raise
    return str(copy.id) if copy else None


@queue.periodic(cron="*/10 * * * *", periodic_id="sweep-playback-copies")
@queue.task(name=PLAYABLE_SWEEP_TASK, queueing_lock=PLAYABLE_SWEEP_TASK)
def sweep_playback_copies(timestamp: int) -> int:
    """Every 10 minutes: playback copies of originals whose copy job was lost (or recorded before copies)."""
    from app.footage.playable import sweep

    return sweep(session_factory())


@queue.task(name=DETECT_TASK, retry=2)
def detect_redaction_faces(redaction_id: str) -> str | None:
    """Search a redaction's clip for faces and put it under review (a failure is recorded on the redaction)."""
    from uuid import UUID

    from app.footage import redaction

    done = redaction.detect_faces(session_factory(), UUID(redaction_id))
    return done.status if done else None


@queue.task(name=RENDER_TASK, retry=2)
def render_redaction(redaction_id: str) -> str | None:
    """Render a reviewed redaction into its redacted copy (progress on the redaction, failure recorded there)."""
    from uuid import UUID

    from app.footage import redaction

    done = redaction.render(session_factory(), UUID(redaction_id))
    return done.status if done else None


@queue.periodic(cron="*/5 * * * *", periodic_id="sweep-redactions")
@queue.task(name=REDACTION_SWEEP_TASK, queueing_lock=REDACTION_SWEEP_TASK)
def sweep_redactions(timestamp: int) -> dict[str, int]:
    """Every 5 minutes: a redaction's detection or render whose job was lost (silent past the settings'
    redaction_stuck_minutes) is queued again; after redaction_max_requeues tries the redaction fails, saying so."""
    from app.footage import redaction

    report = redaction.requeue_stuck(session_factory())
    return {"requeued": len(report.requeued), "gave_up": len(report.gave_up)}


@queue.periodic(cron="*/5 * * * *", periodic_id="remind-owners")
@queue.task(name=REMINDER_TASK, queueing_lock=REMINDER_TASK)
def remind_owners(timestamp: int) -> dict[str, int]:
    """Remind owners before the overwrite deadline and before their link expires."""
    from app.extractions import reminders

    with write_session() as session:
        return reminders.send_due_reminders(session)


@queue.periodic(cron="*/5 * * * *", periodic_id="staff-alerts")
@queue.task(name=ALERT_TASK, queueing_lock=ALERT_TASK)
def staff_alerts(timestamp: int) -> dict[str, int]:
    """Tell investigators of owners' links that expired unanswered and of unanswered requests whose overwrite
    deadline is within 48 hours (each once per request and person)."""
    from app.extractions import alerts

    with write_session() as session:
        return alerts.raise_due(session)


@queue.periodic(cron="*/15 * * * *", periodic_id="custody-checkpoint")
@queue.task(name=CHECKPOINT_TASK, queueing_lock=CHECKPOINT_TASK)
def checkpoint_custody(timestamp: int) -> int | None:
    """Sign a checkpoint of the custody log every 15 minutes, when it grew since the last one, and have the
    Time-Stamp Authority (TSA_URL) time-stamp it."""
    from app.custody.checkpoints import issue_checkpoint_if_grown
    from app.custody.timestamps import timestamp_checkpoint

    with write_session() as session:
        issued = issue_checkpoint_if_grown(session)
    if issued is None:
        return None
    with write_session() as session:  # the TSA is asked outside the transaction that stored the checkpoint
        timestamp_checkpoint(session, issued)
    return issued.tree_size


@queue.periodic(cron="* * * * *", periodic_id="finish-locks")
@queue.task(name=FINISH_LOCKS_TASK, queueing_lock=FINISH_LOCKS_TASK)
def finish_locks(timestamp: int) -> dict[str, int]:
    """Every minute: originals recorded whose object is not locked yet (the upload died between its commit and
    the lock) get their retention and legal hold, each with a custody event."""
    from app.footage.claims import finish_locks as finish

    report = finish(write_session)
    return {"locked": len(report.locked), "failed": len(report.failed)}


@queue.periodic(cron="17 * * * *", periodic_id="sweep-orphans")
@queue.task(name=ORPHAN_SWEEP_TASK, queueing_lock=ORPHAN_SWEEP_TASK)
def sweep_orphans(timestamp: int) -> dict[str, int]:
    """Hourly: evidence objects without rows and rows without objects, each recorded in custody; unlocked orphan
    versions from crashed uploads are removed after the grace period."""
    from app.appeals import evidence
    from app.footage.orphans import sweep_orphans as sweep

    with write_session() as session:
        report = sweep(session, kinds=evidence.KINDS)
    return {
        "objects_without_rows": len(report.objects_without_rows),
        "rows_without_objects": len(report.rows_without_objects),
        "removed": len(report.removed),
    }


@queue.periodic(cron="*/15 * * * *", periodic_id="sweep-uploads")
@queue.task(name=UPLOAD_SWEEP_TASK, queueing_lock=UPLOAD_SWEEP_TASK)
def sweep_uploads(timestamp: int) -> dict[str, int]:
    """Every 15 minutes: resumable uploads past their expiry are aborted with their parts, and their rows go."""
    from app.footage.uploads import sweep_expired

    report = sweep_expired()
    return {"expired": report.expired, "strays": report.strays}


@queue.periodic(cron="41 * * * *", periodic_id="sweep-retention")
@queue.task(name=RETENTION_SWEEP_TASK, queueing_lock=RETENTION_SWEEP_TASK)
def sweep_retention(timestamp: int | None = None) -> dict[str, int]:
    """Hourly (and when a case closes): release legal holds of closed cases' evidence, delete versions past
    retention that are free of holds; each a custody event."""
    from app.footage.retention import sweep_retention as sweep

    report = sweep(session_factory())
    if report.refused:
        log.warning("retention: %d objects refused: %s", len(report.refused), report.refused[:5])
    return {"released": len(report.released), "deleted": len(report.deleted), "refused": len(report.refused)}


@queue.task(name=RETENTION_FOLLOW_TASK, retry=3)
def follow_case_retention(case_id: str) -> int:
    """When a case's retention category changes: extend the locks of its stored evidence (never shorten them)."""
    from uuid import UUID

    from app.footage.retention import follow_case_retention as follow

    return len(follow(session_factory(), UUID(case_id)))


@queue.periodic(cron="41 * * * *", periodic_id="sweep-declined-submissions")
@queue.task(name=DECLINED_SWEEP_TASK, queueing_lock=DECLINED_SWEEP_TASK)
def sweep_declined_submissions(timestamp: int) -> int:
    """Hourly: declined appeal submissions past their short quarantine lock are deleted, and accepted ones (with
    their clips) of closed cases lose their legal hold; each a custody event."""
    from app.appeals.retention import release_closed, sweep_declined

    with write_session() as session:
        return len(sweep_declined(session)) + len(release_closed(session))
