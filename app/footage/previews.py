"""Previews of a clip: a poster frame and a strip of keyframe thumbnails, made by a job after the clip is cut.

ffmpeg decodes the clip's keyframes only (`-skip_frame nokey`), scaled down, and names each one's time
(`showinfo`); the poster is the first keyframe at up to 640 px wide, the strip at most STRIP_MAX keyframes spread
over the clip at 160 px wide. Each JPEG is a derivative: stored under previews/, locked like its clip, and recorded
with the clip's version and hash, the tool, its version and the exact command, each with a custody event on the
clip. The clip is read from its exact version with its hash checked, and never changed. A periodic sweep makes
the previews of clips whose job was lost.
"""

from __future__ import annotations

import hashlib
import logging
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import cast
from uuid import UUID, uuid4

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from app.auth.permissions import Actor, system_actor
from app.core import clock, media
from app.core.errors import NotFound
from app.core.storage import RetentionMode, get_storage
from app.custody.service import append_event
from app.footage import viewing
from app.footage.models import Clip
from app.footage.preview_models import Preview
from app.footage.service import case_of

log = logging.getLogger(__name__)

PREVIEW_TASK = "previews.make"
PREVIEW_SWEEP_TASK = "previews.sweep"
PREFIX = "previews/"
STRIP_MAX = 12
THUMB_WIDTH = 160
POSTER_WIDTH = 640
_SHOWINFO = re.compile(r"\bn:\s*(\d+)\s+pts:\s*(-?\d+)\s+pts_time:\s*(-?[0-9.]+(?:e[-+]?\d+)?)")


def queue_previews(session: Session, clip_id: UUID) -> None:
    """Ask for the clip's previews when the transaction that recorded the clip commits."""
    from app.core import queue  # loaded on first use, as the clip job's own deferral

    queue.defer_after_commit(session, PREVIEW_TASK, queueing_lock=f"{PREVIEW_TASK}:{clip_id}", clip_id=str(clip_id))


def of_clip(session: Session, clip_id: UUID) -> list[Preview]:
    """The clip's previews, poster first, then the strip in time order."""
    return list(
        session.scalars(
            select(Preview)
            .where(Preview.clip_id == clip_id, Preview.deleted_at.is_(None))
            .order_by(Preview.kind, Preview.position)
        )
    )


def strips_of(session: Session, clip_ids: list[UUID]) -> dict[str, list[Preview]]:
    """The keyframe strips of several clips, by clip id (as text), each in time order."""
    strips: dict[str, list[Preview]] = {}
    rows = session.scalars(
        select(Preview)
        .where(Preview.clip_id.in_(clip_ids), Preview.kind == "thumb", Preview.deleted_at.is_(None))
        .order_by(Preview.clip_id, Preview.position)
    )
    for row in rows:
        strips.setdefault(str(row.clip_id), []).append(row)
    return strips


@dataclass(frozen=True)
class Keyframe:
    path: Path
    at_s: float  # from the clip's first keyframe


def keyframe_command(source: str, pattern: str, width: int, frames: int | None = None) -> list[str]:
    """ffmpeg's arguments: the keyframes of `source`, scaled to `width` (never up), as JPEGs, each one's time
    named by showinfo; `frames` stops after that many."""
    args = ["-skip_frame", "nokey", "-copyts", "-i", source, "-map", "0:v:0"]
    args += ["-vf", f"scale='min({width},iw)':-2,showinfo", "-fps_mode", "passthrough", "-q:v", "4"]
    if frames is not None:
        args += ["-frames:v", str(frames)]
    return [*args, "-f", "image2", "-y", pattern]


def extract(
    source: Path, workdir: Path, name: str, width: int, frames: int | None = None
) -> tuple[list[str], list[Keyframe]]:
    """Run the keyframe extraction; the arguments run and the keyframes made, in time order."""
    pattern = str(workdir / f"{name}-%05d.jpg")
    args = keyframe_command(str(source), pattern, width, frames)
    done = media.run_ffmpeg(["-loglevel", "info", *args])
    times = [float(m.group(3)) for m in _SHOWINFO.finditer(done.stderr)]
    files = sorted(workdir.glob(f"{name}-*.jpg"))
    # showinfo may see a frame more than the muxer writes when `frames` stops it; never fewer.
    if not files or len(times) < len(files) or (frames is None and len(times) != len(files)):
        raise media.MediaError(f"keyframes: {len(files)} images for {len(times)} frames")
    first = times[0]
    return args, [Keyframe(path, max(0.0, t - first)) for path, t in zip(files, times[: len(files)], strict=True)]


def spread(frames: list[Keyframe], most: int = STRIP_MAX) -> list[Keyframe]:
    """At most `most` keyframes spread evenly over the clip, the first always kept."""
    if len(frames) <= most:
        return frames
    step = len(frames) / most
    return [frames[int(i * step)] for i in range(most)]


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1024 * 1024), b""):
            digest.update(block)
    return digest.hexdigest()


def make_previews(factory: sessionmaker[Session], clip_id: UUID) -> list[Preview]:
    """Make, store, lock and record the clip's poster and strip; idempotent (a clip with previews keeps them)."""
    actor = system_actor("previews")
    with factory() as session:
        clip = session.get(Clip, clip_id)
        if clip is None or clip.deleted_at is not None:
            return []
        existing = of_clip(session, clip_id)
        if existing:
            return existing
        session.expunge(clip)
    store = get_storage()
    label = f"s3://{store.bucket}/{clip.object_key}?versionId={clip.version_id}"
    with tempfile.TemporaryDirectory(prefix="footage-previews-") as tmp:
        workdir = Path(tmp)
        local = workdir / ("clip." + clip.container)
        store.download(clip.object_key, clip.version_id, local)
        if _sha256(local) != clip.sha256:
            raise media.MediaError("the clip read back does not match its recorded hash")
        made: list[tuple[str, int, Keyframe, list[str]]] = []
        poster_args, posters = extract(local, workdir, "poster", POSTER_WIDTH, frames=1)
        made.append(("poster", 0, posters[0], poster_args))
        strip_args, keyframes = extract(local, workdir, "thumb", THUMB_WIDTH)
        made += [("thumb", i, frame, strip_args) for i, frame in enumerate(spread(keyframes))]
        version = media.ffmpeg_version()
        rows: list[Preview] = []
        for kind, position, frame, args in made:
            key = f"{PREFIX}{clip.id}/{kind}-{position:02d}.jpg"
            stored = store.put_file(key, frame.path, content_type="image/jpeg")
            store.lock(key, stored.version_id, mode=cast(RetentionMode, clip.retention_mode), until=clip.retain_until)
            from PIL import Image  # only the preview job reads images: kept out of the API's start

            with Image.open(frame.path) as image:
                width, height = image.size
            recorded = ["ffmpeg", *(label if a == str(local) else a for a in args)]
            recorded[-1] = Path(recorded[-1]).name
            rows.append(
                Preview(
                    id=uuid4(),
                    clip_id=clip.id,
                    kind=kind,
                    position=position,
                    at_s=round(frame.at_s, 6),
                    width=width,
                    height=height,
                    object_key=key,
                    version_id=stored.version_id,
                    sha256=_sha256(frame.path),
                    size=frame.path.stat().st_size,
                    parent_sha256=clip.sha256,
                    parent_version_id=clip.version_id,
                    tool="ffmpeg",
                    tool_version=version,
                    command=recorded,
                    retention_mode=clip.retention_mode,
                    retain_until=clip.retain_until,
                    created_at=clock.now(),
                )
            )
    with factory() as session, session.begin():
        case_id = case_of(session, clip)
        if of_clip(session, clip_id):  # another run recorded them first; ours stay for the orphan sweep to report
            return of_clip(session, clip_id)
        append_event(
            session,
            actor=actor.label,
            action="clip.read_for_previews",
            object_type="clip",
            object_id=clip.id,
            sha256=clip.sha256,
            version_id=clip.version_id,
            case_id=case_id,
            where=actor.where("worker"),
            details={"object_key": clip.object_key},
        )
        for row in rows:
            session.add(row)
            session.flush()
            append_event(
                session,
                actor=actor.label,
                action="preview.created",
                object_type="preview",
                object_id=row.id,
                sha256=row.sha256,
                version_id=row.version_id,
                case_id=case_id,
                where=actor.where("worker"),
                details={
                    "clip_id": str(clip.id),
                    "kind": row.kind,
                    "position": row.position,
                    "at_s": row.at_s,
                    "object_key": row.object_key,
                    "size": row.size,
                    "width": row.width,
                    "height": row.height,
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
        for row in rows:
            session.expunge(row)
    log.info("previews: clip %s: poster and %d thumbnails", clip_id, len(rows) - 1)
    return rows


def clips_without_previews(session: Session, limit: int = 50) -> list[UUID]:
    """Clips still stored that have no previews (their job was lost, or they were cut before previews existed)."""
    have = select(Preview.clip_id)
    return list(
        session.scalars(
            select(Clip.id)
            .where(Clip.deleted_at.is_(None), Clip.id.not_in(have))
            .order_by(Clip.created_at)
            .limit(limit)
        )
    )


def sweep(factory: sessionmaker[Session]) -> int:
    """Make the previews of clips without them; a clip that fails is logged and tried at the next sweep."""
    with factory() as session:
        waiting = clips_without_previews(session)
    made = 0
    for clip_id in waiting:
        try:
            if make_previews(factory, clip_id):
                made += 1
        except Exception:  # noqa: BLE001 - one clip's failure does not stop the others
            log.exception("previews for clip %s failed; the next sweep tries again", clip_id)
    return made


def visible(session: Session, actor: Actor, preview_id: UUID) -> Preview:
    """A preview whose clip the actor may play (404 otherwise, as for the clip itself)."""
    preview = session.get(Preview, preview_id)
    if preview is None or preview.deleted_at is not None:
        raise NotFound("No such preview.")
    viewing.evidence_item(session, actor, "clip", preview.clip_id)
    viewing.may_fetch(actor, "clip", preview.clip_id)
    return preview


def image_bytes(preview: Preview) -> bytes:
    """The stored JPEG of a preview (its exact version)."""
    store = get_storage()
    return b"".join(store.iter_version(preview.object_key, preview.version_id))
