"""Clips of accepted video submissions: an accepted submission is an original of its case, and its clips are
`clips` rows of the case, cut as a request's clips are (app.footage.cutting: stream copy, the parent's hash, the
exact commands) and placed on the true timeline by the recording's start — the time the sender stated, or an
investigator's correction (kept as the clip's clock offset from the stated time)."""

from __future__ import annotations

import shutil
import tempfile
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.appeals.models import Submission, SubmissionKind, SubmissionStatus
from app.appeals.service import get_submission, original_of
from app.auth.permissions import Actor, ensure_role
from app.core import clock, media
from app.core.config import get_settings
from app.core.errors import Conflict, NotFound, RuleViolation
from app.core.storage import get_storage
from app.custody.rows import row_state
from app.custody.service import append_event
from app.footage import cutting
from app.footage.models import Clip, ClipParent, ClockOffsetSource, Original
from app.footage.previews import queue_previews

MAX_CLIP = timedelta(hours=2)
MAX_CORRECTION = timedelta(days=7)  # as far as a recorder's clock offset may go (ck_originals_clock_offset_finite)


def _placed(original: Original, offset_s: float) -> Original:
    """The original as the cutter reads it, with the investigator's correction as its clock offset (a copy never
    added to a session: the original row is never changed)."""
    return Original(
        id=original.id,
        object_key=original.object_key,
        version_id=original.version_id,
        filename=original.filename,
        media=original.media,
        recording_start_recorder=original.recording_start_recorder,
        clock_offset_s=offset_s,
    )


def _sha256(path: Path) -> str:
    import hashlib

    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1024 * 1024), b""):
            digest.update(block)
    return digest.hexdigest()


def clip_view(clip: Clip, submission: Submission, original: Original) -> dict[str, Any]:
    """A clip of the case as the appeal's pages and API show it: with its submission and the start it was placed by."""
    return {
        **{c: getattr(clip, c) for c in clip.__table__.columns.keys()},  # noqa: SIM118 - Columns, not a dict
        "submission_id": submission.id,
        "recording_start": original.recording_start_recorder - timedelta(seconds=clip.clock_offset_s),
    }


def clips_of(session: Session, actor: Actor, submission_id: UUID) -> list[dict[str, Any]]:
    submission = get_submission(session, actor, submission_id)
    original = original_of(session, submission.id)
    if original is None:
        return []
    found = session.scalars(select(Clip).where(Clip.original_id == original.id).order_by(Clip.created_at))
    return [clip_view(clip, submission, original) for clip in found]


def make_clip(
    session: Session,
    actor: Actor,
    submission_id: UUID,
    window_start: datetime,
    window_end: datetime,
    recording_start: datetime | None,
) -> dict[str, Any]:
    """Cut [window_start, window_end) from an accepted video submission (an original of the case); the same
    window again returns the clip already made. The clip is locked like its parent and logged with the commands
    that made it."""
    ensure_role(actor, "appeals.triage")
    submission = get_submission(session, actor, submission_id, lock=True)
    original = original_of(session, submission.id)
    if original is None or submission.status != SubmissionStatus.accepted or submission.kind != SubmissionKind.video:
        raise Conflict("only an accepted video is cut into clips", extra={"status": submission.status})
    if window_end <= window_start:
        raise RuleViolation("window_end", "must be after window_start")
    if window_end - window_start > MAX_CLIP:
        raise RuleViolation("window_end", "a clip covers at most 2 hours")
    if recording_start is None and submission.taken_at is None:
        raise RuleViolation("recording_start", "the sender did not say when it was taken: state the first frame's time")
    start = recording_start or original.recording_start_recorder
    correction = original.recording_start_recorder - start
    if abs(correction) > MAX_CORRECTION:
        raise RuleViolation("recording_start", "at most 7 days from the time the sender stated or the file arrived")
    offset_s = correction.total_seconds()
    existing = session.scalar(
        select(Clip).where(
            Clip.original_id == original.id,
            Clip.requested_start == window_start,
            Clip.requested_end == window_end,
        )
    )
    if existing is not None:
        if abs(existing.clock_offset_s - offset_s) > 1e-6:
            raise Conflict("this window was already cut, placed by another recording start")
        return clip_view(existing, submission, original)
    parent = _placed(original, offset_s)
    plan = cutting.plan_cut(parent, window_start, window_end)
    if plan is None:
        raise RuleViolation("window_start", "the video does not cover this window (placed by its recording start)")
    store = get_storage()
    workdir = Path(tempfile.mkdtemp(prefix="submission-clip-"))
    try:
        label = f"s3://{store.bucket}/{original.object_key}?versionId={original.version_id}"
        source: Path | str
        if get_settings().clip_source == "presigned_url" and cutting.cuts_directly(parent):
            source = store.presign_get(original.object_key, original.version_id, timedelta(hours=1))
        else:
            source = workdir / ("original" + Path(original.filename).suffix)
            store.download(original.object_key, original.version_id, source)
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
    store.lock(key, stored.version_id, mode=original.retention_mode, until=original.retain_until)  # type: ignore[arg-type]
    store.set_legal_hold(key, stored.version_id, True)
    clip = Clip(
        id=clip_id,
        original_id=original.id,
        request_id=None,
        case_id=submission.case_id,
        parent_sha256=original.sha256,
        sha256=sha,
        size=size,
        object_key=key,
        version_id=stored.version_id,
        container=result.container,
        requested_start=window_start,
        requested_end=window_end,
        actual_start=start + timedelta(seconds=result.first_s),
        actual_end=start + timedelta(seconds=result.last_end_s),
        first_pts_s=result.start_pts_s,  # the clip starts at media time 0, as every clip now does
        # The investigator's correction of the stated start, as a recorder's offset is kept (stated minus true).
        clock_offset_s=offset_s,
        clock_offset_source=ClockOffsetSource.none if recording_start is None else ClockOffsetSource.header,
        shortfall=plan.shortfall,
        tool="ffmpeg",
        tool_version=media.ffmpeg_version(),
        command=[" ".join(c) for c in result.commands],
        created_at=clock.now(),
        retention_mode=original.retention_mode,
        retain_until=original.retain_until,
        legal_hold=True,
    )
    session.add(clip)
    session.flush()
    session.add(ClipParent(clip_id=clip.id, original_id=original.id, position=0, sha256=original.sha256))
    session.flush()
    details: dict[str, Any] = {
        "object_key": key,  # with the version and hash: custody verification re-hashes the stored clip
        "size": size,
        "parent_id": str(original.id),
        "parent_sha256": original.sha256,
        "submission_id": str(submission.id),
        "recording_start": start.isoformat(),
        "recording_start_source": "stated_by_sender" if recording_start is None else "investigator",
        "requested": [window_start.isoformat(), window_end.isoformat()],
        "actual": [clip.actual_start.isoformat(), clip.actual_end.isoformat()],
        "tool": "ffmpeg",
        "tool_version": clip.tool_version,
        "command": clip.command,
        "retain_until": clip.retain_until.isoformat(),
        "legal_hold": True,
        "row": row_state("clips", clip),
    }
    append_event(
        session,
        actor=actor.label,
        action="submission_clip.made",
        object_type="clip",
        object_id=clip.id,
        sha256=clip.sha256,
        version_id=clip.version_id,
        case_id=submission.case_id,
        where=actor.where(),
        details=details,
    )
    queue_previews(session, clip.id)  # its poster and keyframe strip, as for every clip of the case
    return clip_view(clip, submission, original)


def download_link(session: Session, actor: Actor, clip_id: UUID, purpose: str) -> dict[str, Any]:
    """A short link to an appeal clip's exact version, for the case's unit; each one is a custody event."""
    clip = session.get(Clip, clip_id)
    original = session.get(Original, clip.original_id) if clip is not None else None
    if clip is None or original is None or original.appeal_submission_id is None:
        raise NotFound(f"clip {clip_id} not found")
    get_submission(session, actor, original.appeal_submission_id)  # the unit's, else 404
    minutes = get_settings().download_link_minutes
    expires_at = clock.now() + timedelta(minutes=minutes)
    url = get_storage().presign_get(
        clip.object_key, clip.version_id, timedelta(minutes=minutes), filename=f"clip.{clip.container}"
    )
    append_event(
        session,
        actor=actor.label,
        action="submission_clip.download_link_issued",
        object_type="clip",
        object_id=clip.id,
        sha256=clip.sha256,
        version_id=clip.version_id,
        case_id=clip.case_id,
        reason=purpose,
        where=actor.where(),
        details={"expires_at": expires_at.isoformat()},
    )
    return {"url": url, "expires_at": expires_at, "sha256": clip.sha256, "version_id": clip.version_id}
