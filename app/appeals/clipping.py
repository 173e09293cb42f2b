"""Clips of accepted video submissions: the same stream-copy cut as a request's clip (app.footage.cutting), placed
on the true timeline by the recording's start — the time the sender stated, or an investigator's correction."""

from __future__ import annotations

import shutil
import tempfile
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.appeals.models import Submission, SubmissionClip, SubmissionKind, SubmissionStatus
from app.appeals.service import get_submission
from app.auth.permissions import Actor, ensure_role
from app.core import clock, media
from app.core.config import get_settings
from app.core.errors import Conflict, RuleViolation
from app.core.storage import get_storage
from app.custody.service import append_event
from app.footage import cutting
from app.footage.models import Original

MAX_CLIP = timedelta(hours=2)


def _as_original(submission: Submission, recording_start: datetime) -> Original:
    """The submission as the cutter reads an original (never added to a session: no original row is made)."""
    return Original(
        id=submission.id,
        object_key=submission.object_key,
        version_id=submission.version_id,
        filename=submission.filename,
        media=submission.media,
        recording_start_recorder=recording_start,
        clock_offset_s=0.0,
    )


def _sha256(path: Path) -> str:
    import hashlib

    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1024 * 1024), b""):
            digest.update(block)
    return digest.hexdigest()


def clips_of(session: Session, actor: Actor, submission_id: UUID) -> list[SubmissionClip]:
    submission = get_submission(session, actor, submission_id)
    return list(
        session.scalars(
            select(SubmissionClip)
            .where(SubmissionClip.submission_id == submission.id)
            .order_by(SubmissionClip.created_at)
        )
    )


def make_clip(
    session: Session,
    actor: Actor,
    submission_id: UUID,
    window_start: datetime,
    window_end: datetime,
    recording_start: datetime | None,
) -> SubmissionClip:
    """Cut [window_start, window_end) from an accepted video submission; the same window again returns the clip
    already made. The clip is locked like its parent and logged with the commands that made it."""
    ensure_role(actor, "appeals.triage")
    submission = get_submission(session, actor, submission_id, lock=True)
    if submission.status != SubmissionStatus.accepted or submission.kind != SubmissionKind.video:
        raise Conflict("only an accepted video is cut into clips", extra={"status": submission.status})
    if window_end <= window_start:
        raise RuleViolation("window_end", "must be after window_start")
    if window_end - window_start > MAX_CLIP:
        raise RuleViolation("window_end", "a clip covers at most 2 hours")
    start = recording_start or submission.taken_at
    if start is None:
        raise RuleViolation("recording_start", "the sender did not say when it was taken: state the first frame's time")
    existing = session.scalar(
        select(SubmissionClip).where(
            SubmissionClip.submission_id == submission.id,
            SubmissionClip.requested_start == window_start,
            SubmissionClip.requested_end == window_end,
            SubmissionClip.recording_start == start,
        )
    )
    if existing is not None:
        return existing
    parent = _as_original(submission, start)
    plan = cutting.plan_cut(parent, window_start, window_end)
    if plan is None:
        raise RuleViolation("window_start", "the video does not cover this window (placed by its recording start)")
    store = get_storage()
    workdir = Path(tempfile.mkdtemp(prefix="submission-clip-"))
    try:
        label = f"s3://{store.bucket}/{submission.object_key}?versionId={submission.version_id}"
        source: Path | str
        if get_settings().clip_source == "presigned_url" and cutting.cuts_directly(parent):
            source = store.presign_get(submission.object_key, submission.version_id, timedelta(hours=1))
        else:
            source = workdir / ("original" + Path(submission.filename).suffix)
            store.download(submission.object_key, submission.version_id, source)
        result = cutting.cut(source, parent, plan, workdir, source_label=label)
        clip_id = uuid4()
        # Beside its parent under appeals/ (the orphan sweep's appeals kinds cover it), not under clips/.
        key = f"appeals/{submission.appeal_id}/{submission.id}/clips/{clip_id}.{result.container}"
        sha = _sha256(result.path)
        stored = store.put_file(key, result.path, content_type=f"video/{result.container}")
        size = result.path.stat().st_size
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    # Locked as long as its parent, held while the case is open: before the row, so no row names an unlocked clip.
    store.lock(key, stored.version_id, mode=submission.retention_mode, until=submission.retain_until)  # type: ignore[arg-type]
    store.set_legal_hold(key, stored.version_id, True)
    clip = SubmissionClip(
        id=clip_id,
        submission_id=submission.id,
        case_id=submission.case_id,
        parent_sha256=submission.sha256,
        sha256=sha,
        size=size,
        object_key=key,
        version_id=stored.version_id,
        container=result.container,
        recording_start=start,
        requested_start=window_start,
        requested_end=window_end,
        actual_start=start + timedelta(seconds=result.first_s),
        actual_end=start + timedelta(seconds=result.last_end_s),
        shortfall=plan.shortfall,
        tool="ffmpeg",
        tool_version=media.ffmpeg_version(),
        command=result.commands,
        created_by=actor.label,
        created_at=clock.now(),
        retention_mode=submission.retention_mode,
        retain_until=submission.retain_until,
        legal_hold=True,
    )
    session.add(clip)
    session.flush()
    details: dict[str, Any] = {
        "submission_id": str(submission.id),
        "object_key": key,  # with the version and hash: custody verification re-hashes the stored clip
        "size": size,
        "parent_sha256": submission.sha256,
        "recording_start": start.isoformat(),
        "recording_start_source": "stated_by_sender" if recording_start is None else "investigator",
        "requested": [window_start.isoformat(), window_end.isoformat()],
        "actual": [clip.actual_start.isoformat(), clip.actual_end.isoformat()],
        "tool_version": clip.tool_version,
        "command": result.commands,
        "retain_until": clip.retain_until.isoformat(),
    }
    append_event(
        session,
        actor=actor.label,
        action="submission_clip.made",
        object_type="submission_clip",
        object_id=clip.id,
        sha256=clip.sha256,
        version_id=clip.version_id,
        case_id=clip.case_id,
        where=actor.where(),
        details=details,
    )
    return clip


def download_link(session: Session, actor: Actor, clip_id: UUID, purpose: str) -> dict[str, Any]:
    """A short link to a submission clip's exact version, for the case's unit; each one is a custody event."""
    clip = session.get(SubmissionClip, clip_id)
    get_submission(session, actor, clip.submission_id if clip else clip_id)  # the unit's, else 404
    assert clip is not None
    minutes = get_settings().download_link_minutes
    expires_at = clock.now() + timedelta(minutes=minutes)
    url = get_storage().presign_get(
        clip.object_key, clip.version_id, timedelta(minutes=minutes), filename=f"clip.{clip.container}"
    )
    append_event(
        session,
        actor=actor.label,
        action="submission_clip.download_link_issued",
        object_type="submission_clip",
        object_id=clip.id,
        sha256=clip.sha256,
        version_id=clip.version_id,
        case_id=clip.case_id,
        reason=purpose,
        where=actor.where(),
        details={"expires_at": expires_at.isoformat()},
    )
    return {"url": url, "expires_at": expires_at, "sha256": clip.sha256, "version_id": clip.version_id}
