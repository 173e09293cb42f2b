"""Playback copies of originals a browser cannot play: the same video packets, with the same timestamps, moved by
stream copy (no re-encoding) from a container browsers do not open (DHAV, program stream, TS, AVI, FLV, raw H.264)
into MP4 with its index first, made by a job after the original is recorded.

Only the container changes: an original whose video codec a browser cannot decode (HEVC, MPEG-4 Part 2) gets no
copy, since that would need transcoding. The original is read from its exact version with its hash checked and never
changed. The copy is a derivative: stored under playable/, locked as long as its original, recorded with the
original's version and hash, the tool, its version and the exact command, with a custody event in the same
transaction. Before it is stored, the copy's video frame times are compared with the original's, frame by frame, so
the player's true time of a frame is the original's. A periodic sweep makes the copies whose job was lost (or of
originals recorded before copies existed).
"""

from __future__ import annotations

import hashlib
import logging
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Any, cast
from uuid import UUID, uuid4

from sqlalchemy import delete, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session, sessionmaker

from app.auth.permissions import system_actor
from app.core import clock, media
from app.core.storage import RetentionMode, get_storage
from app.custody.service import append_event
from app.footage import failures, viewing
from app.footage.models import Original
from app.footage.playable_models import PlaybackCopy, PlaybackCopyAttempt
from app.footage.service import case_of

log = logging.getLogger(__name__)

PLAYABLE_TASK = "playable.make"
PLAYABLE_SWEEP_TASK = "playable.sweep"
PREFIX = "playable/"
BROWSER_AUDIO = ("aac", "mp3", "opus")  # audio a browser plays from MP4; other audio (G.711, ADPCM) is left out
# The copy's frame times may differ from the original's by the MP4 timescale's rounding, never more.
TIME_TOLERANCE_S = 0.002


def queue_copy(original_id: UUID) -> None:
    """Defer the copy job; if the queue cannot be reached, the periodic sweep makes the copy."""
    try:
        from app.core import queue  # loaded on first use: the API process needs no queue client until then

        queue.defer(PLAYABLE_TASK, queueing_lock=f"{PLAYABLE_TASK}:{original_id}", original_id=str(original_id))
    except Exception:  # noqa: BLE001 - the sweep is the fallback, the upload has succeeded
        log.warning("could not defer the playback copy of %s; the sweep will make it", original_id, exc_info=True)


def wants_media(probed: dict[str, Any]) -> bool:
    """The probed video's codec plays in a browser and its container does not."""
    container, codec = str(probed.get("container") or ""), str(probed.get("video_codec") or "")
    return viewing.codec_playable(codec) and not viewing.container_playable(container)


def wants_copy(original: Original) -> bool:
    """The original is stored and decodes, its video codec plays in a browser and its container does not."""
    return original.deleted_at is None and not original.needs_conversion and wants_media(original.media)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1024 * 1024), b""):
            digest.update(block)
    return digest.hexdigest()


def frame_times(
    path: Path,
    *,
    format: str | None = None,  # noqa: A002
    options: dict[str, str] | None = None,
) -> list[float | None]:
    """The presentation time of each video packet of the first video stream, in seconds, in the order stored
    (None where the container stamps none: a program stream stamps only some packets, raw H.264 none)."""
    import av

    with av.open(str(path), format=format, options=options or {}) as container:
        stream = container.streams.video[0]
        tb = stream.time_base
        return [
            float(p.pts * tb) if p.pts is not None and tb is not None else None
            for p in container.demux(stream)
            if p.size
        ]


def compare_times(original: list[float | None], copy: list[float | None]) -> dict[str, Any]:
    """The copy's frames against the original's, packet by packet in the order stored (a stream copy keeps it),
    each counted from the first frame the original stamps: the same number of frames, and each frame the
    original stamps at the same time in the copy within TIME_TOLERANCE_S. Raises MediaError otherwise."""
    timed = [t for t in copy if t is not None]
    if not timed or len(timed) != len(copy):
        raise media.MediaError("the playback copy holds video frames without a time")
    if len(original) != len(copy):
        raise media.MediaError(f"the playback copy holds {len(copy)} frames, the original {len(original)}")
    pairs = [(a, b) for a, b in zip(original, timed, strict=True) if a is not None]
    drift = 0.0
    if pairs:
        first_a, first_b = pairs[0]
        drift = max(abs((a - first_a) - (b - first_b)) for a, b in pairs)
        if drift > TIME_TOLERANCE_S:
            raise media.MediaError(f"the playback copy's frame times drift {drift:.6f} s from the original's")
    return {
        "frames": len(copy),
        "frames_timed_in_original": len(pairs),
        "first_frame_s": round(min(timed), 6),
        "max_frame_time_difference_s": round(drift, 6),
    }


def of_original(session: Session, original_id: UUID) -> PlaybackCopy | None:
    """The original's stored playback copy, if it has one."""
    return session.scalar(
        select(PlaybackCopy).where(PlaybackCopy.original_id == original_id, PlaybackCopy.deleted_at.is_(None))
    )


def make_copy(factory: sessionmaker[Session], original_id: UUID) -> PlaybackCopy | None:
    """Make, check, store, lock and record the original's playback copy; None when it needs none. Idempotent: an
    original with a copy keeps it."""
    actor = system_actor("playable")
    with factory() as session:
        original = session.get(Original, original_id)
        if original is None or not wants_copy(original):
            return None
        existing = session.scalar(select(PlaybackCopy).where(PlaybackCopy.original_id == original_id))
        if existing is not None:
            return existing
        session.expunge(original)
    store = get_storage()
    label = f"s3://{store.bucket}/{original.object_key}?versionId={original.version_id}"
    fmt, options = media.open_options(
        original.filename, float(original.media.get("frame_rate") or 25), original.media.get("native_format")
    )
    audio = str(original.media.get("audio_codec") or "")
    maps = ("0:v:0", "0:a:0") if audio in BROWSER_AUDIO else ("0:v:0",)
    with tempfile.TemporaryDirectory(prefix="footage-playable-") as tmp:
        workdir = Path(tmp)
        local = workdir / "original"
        out = workdir / "playback.mp4"
        store.download(original.object_key, original.version_id, local)
        if _sha256(local) != original.sha256:
            raise media.MediaError("the original read back does not match its recorded hash")
        args = media.remux_args(str(local), str(out), fmt, options, maps=maps, faststart=True)
        media.run_ffmpeg(args)
        timing = compare_times(frame_times(local, format=fmt, options=options), frame_times(out))
        info = media.probe(out)
        if not viewing.codec_playable(info.video_codec or ""):
            raise media.MediaError(f"the playback copy's video is {info.video_codec}")
        probed = {**info.as_dict(), **timing, "audio_left_out": audio or None if audio not in BROWSER_AUDIO else None}
        if _sha256(local) != original.sha256:  # ffmpeg only reads its input; checked all the same
            raise media.MediaError("the original changed while it was copied")
        key = f"{PREFIX}{original.id}/playback.mp4"
        stored = store.put_file(key, out, content_type="video/mp4")
        store.lock(
            key, stored.version_id, mode=cast(RetentionMode, original.retention_mode), until=original.retain_until
        )
        recorded = ["ffmpeg", *(label if a == str(local) else a for a in args)]
        recorded[-1] = Path(recorded[-1]).name
        row = PlaybackCopy(
            id=uuid4(),
            original_id=original.id,
            object_key=key,
            version_id=stored.version_id,
            sha256=_sha256(out),
            size=out.stat().st_size,
            media=probed,
            parent_sha256=original.sha256,
            parent_version_id=original.version_id,
            tool="ffmpeg",
            tool_version=media.ffmpeg_version(),
            command=recorded,
            retention_mode=original.retention_mode,
            retain_until=original.retain_until,
            created_at=clock.now(),
        )
    with factory() as session, session.begin():
        case_id = case_of(session, original)
        raced = session.scalar(select(PlaybackCopy).where(PlaybackCopy.original_id == original_id))
        if raced is not None:  # another run recorded one first; ours stays for the orphan sweep to report
            return raced
        session.execute(delete(PlaybackCopyAttempt).where(PlaybackCopyAttempt.original_id == original.id))
        append_event(
            session,
            actor=actor.label,
            action="original.read_for_playback_copy",
            object_type="original",
            object_id=original.id,
            sha256=original.sha256,
            version_id=original.version_id,
            case_id=case_id,
            where=actor.where("worker"),
            details={"object_key": original.object_key, "playback_copy_id": str(row.id)},
        )
        session.add(row)
        session.flush()
        append_event(
            session,
            actor=actor.label,
            action="playback_copy.created",
            object_type="playback_copy",
            object_id=row.id,
            sha256=row.sha256,
            version_id=row.version_id,
            case_id=case_id,
            where=actor.where("worker"),
            details={
                "original_id": str(original.id),
                "object_key": row.object_key,
                "size": row.size,
                "media": row.media,
                "parent_sha256": row.parent_sha256,
                "parent_version_id": row.parent_version_id,
                "tool": row.tool,
                "tool_version": row.tool_version,
                "command": row.command,
                "retention_mode": row.retention_mode,
                "retain_until": row.retain_until.isoformat(),
            },
        )
        session.flush()
        session.expunge(row)
    log.info("playback copy of original %s: %d frames", original_id, timing["frames"])
    return row


def originals_without_copies(session: Session, limit: int = 50, now: datetime | None = None) -> list[UUID]:
    """Originals that want a playback copy and have none (their job was lost, or they came before copies), but not
    those whose last failed attempt is too recent (failures.wait_after); never failed first, then the fewest
    failures: originals that keep failing do not hold back the others."""
    now = now or clock.now()
    have = select(PlaybackCopy.original_id)
    container, codec = Original.media.op("->>")("container"), Original.media.op("->>")("video_codec")
    rows = session.execute(
        select(Original.id, Original.media, PlaybackCopyAttempt.failures, PlaybackCopyAttempt.failed_at)
        .outerjoin(PlaybackCopyAttempt, PlaybackCopyAttempt.original_id == Original.id)
        .where(
            Original.deleted_at.is_(None),
            Original.needs_conversion.is_(False),
            Original.id.not_in(have),
            codec.in_(viewing.PLAYABLE_CODECS),
            container.not_in(viewing.PLAYABLE_CONTAINERS),
        )
        .order_by(func.coalesce(PlaybackCopyAttempt.failures, 0), Original.received_at)
    )
    waiting: list[UUID] = []
    for original_id, probed, failed, failed_at in rows:
        if failed and failed_at + failures.wait_after(failed) > now:
            continue
        if wants_media(probed):
            waiting.append(original_id)
            if len(waiting) >= limit:
                break
    return waiting


def record_failure(factory: sessionmaker[Session], original_id: UUID, exc: BaseException) -> int:
    """Count a failed attempt at the original's playback copy and record it in custody with the failure's own
    words (paths and addresses removed); returns the failures so far."""
    problem, words = failures.problem_of(exc), failures.technical_words(exc)
    now = clock.now()
    with factory() as session, session.begin():
        original = session.get(Original, original_id)
        if original is None:
            return 0
        counted = session.scalar(
            insert(PlaybackCopyAttempt)
            .values(original_id=original_id, failures=1, failed_at=now, problem=problem)
            .on_conflict_do_update(
                index_elements=[PlaybackCopyAttempt.original_id],
                set_={"failures": PlaybackCopyAttempt.failures + 1, "failed_at": now, "problem": problem},
            )
            .returning(PlaybackCopyAttempt.failures)
        )
        assert counted is not None
        counted = int(counted)
        append_event(
            session,
            actor=system_actor("playable").label,
            action="playback_copy.failed",
            object_type="original",
            object_id=original.id,
            sha256=original.sha256,
            version_id=original.version_id,
            case_id=case_of(session, original),
            reason=words,
            where={"component": "worker", "task": PLAYABLE_TASK},
            outcome="failed",
            details={"problem": problem, "failures": counted, "next_try": now + failures.wait_after(counted)},
        )
    log.warning("playback copy of original %s failed (%d so far, %s): %s", original_id, counted, problem, words)
    return counted


def sweep(factory: sessionmaker[Session]) -> int:
    """Make the playback copies still missing; an original that fails is recorded and waits longer each time."""
    with factory() as session:
        waiting = originals_without_copies(session)
    made = 0
    for original_id in waiting:
        try:
            if make_copy(factory, original_id):
                made += 1
        except Exception as exc:  # noqa: BLE001 - one original's failure does not stop the others
            record_failure(factory, original_id, exc)
    return made
