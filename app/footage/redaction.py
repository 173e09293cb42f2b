"""Redacted copies of a clip: faces found by a detector, boxes drawn by hand, and a copy rendered by ffmpeg.

The steps, each a custody event:

1. `create` (redaction.created): a redaction of one clip's exact version, in a style (blur or a solid box); the
   detector job is queued.
2. `detect_faces` (worker; clip.read_for_redaction, redaction.detected): the clip is read from S3 (its hash
   checked against the record), decoded with PyAV, and every SAMPLE_EVERY-th frame passed to OpenCV's frontal
   face Haar cascade, which ships inside the opencv-python-headless wheel (nothing is downloaded at run time).
   Detections in consecutive samples that overlap are joined into one track.
3. `save_boxes` (redaction.boxes_saved): the reviewer's tracks replace the boxes: automatic ones moved or
   deleted, manual ones added. A track is a list of keyframes {t, x, y, w, h} (seconds from the clip's first
   frame, pixels of the frame); between two keyframes the box moves linearly. An automatic track also covers
   one sampling interval before its first and after its last keyframe (a face is there between samples).
4. `request_render` (redaction.render_requested) then `render` (worker; redaction.rendered): every frame's
   boxes are computed here and written as the mask file (JSON, stored in S3, hashed, locked like evidence),
   and rasterised into a grey mask stream piped to ffmpeg, which blurs (or fills) the frame inside the mask
   and re-encodes H.264 in one pass. This is the one place evidence is re-encoded; the exact command, the
   ffmpeg version, the detector and the parent clip's hash are recorded. The clip and its original are only read.
"""

from __future__ import annotations

import hashlib
import json
import logging
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, Field, model_validator
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from app.auth.permissions import Actor, ensure_role, ensure_visible, system_actor
from app.core import clock, media, queue
from app.core.config import get_settings
from app.core.errors import Conflict, NotFound, RuleViolation
from app.core.storage import get_storage
from app.custody.rows import row_state
from app.custody.service import append_event
from app.extractions.models import ExtractionRequest
from app.footage.models import Clip
from app.footage.redaction_models import Redaction
from app.footage.retention import lock_period
from app.footage.service import get_clip

log = logging.getLogger(__name__)

DETECT_TASK = "redactions.detect"
RENDER_TASK = "redactions.render"
SWEEP_TASK = "redactions.sweep"  # queues again the steps whose job was lost
STEP_TASKS = {"detecting": DETECT_TASK, "rendering": RENDER_TASK}
Style = Literal["blur", "box"]
STYLES: tuple[str, ...] = ("blur", "box")

# The detector and its parameters (recorded on every redaction).
CASCADE = "haarcascade_frontalface_default.xml"
SCALE_FACTOR = 1.2
MIN_NEIGHBORS = 5
MIN_SIZE = 40
SAMPLE_SECONDS = 0.5  # one frame in about half a second is searched
PADDING = 0.25  # a found face's box grows by this fraction of its size on each side (hair, ears, motion)
BLUR = "boxblur=20:2"  # two passes of a 41 px box: nothing of a face is left to read
MAX_TRACKS = 500
MAX_KEYFRAMES = 5000
REDIRECT_SECONDS = 300

NOT_YET = "The redacted copy is not ready yet."
NOT_IN_REVIEW = "The boxes can be changed only while the redaction is under review (not while it is being made)."
GONE_CLIP = "This clip's retention has ended; no redacted copy can be made from it."
FAILED = "The redacted copy could not be made. Try again, or make a new redaction of the clip."
GAVE_UP = (
    "The redacted copy could not be made: its work was interrupted too many times. Make a new redaction of the clip."
)
GONE_COPY = "This redacted copy's retention has ended; it was deleted."
READS = ("record_read", "link_fetched")  # events that change nothing: they carry no row state


class Keyframe(BaseModel):
    t: float = Field(ge=0, le=86400, description="Seconds from the clip's first frame.")
    x: int = Field(ge=0, le=16384)
    y: int = Field(ge=0, le=16384)
    w: int = Field(ge=2, le=16384)
    h: int = Field(ge=2, le=16384)


class Track(BaseModel):
    id: str = Field(default_factory=lambda: uuid.uuid4().hex[:12], min_length=1, max_length=40)
    source: Literal["auto", "manual"] = "manual"
    keyframes: list[Keyframe] = Field(min_length=1, max_length=MAX_KEYFRAMES)

    @model_validator(mode="after")
    def _ordered(self) -> Track:
        times = [k.t for k in self.keyframes]
        if times != sorted(times) or len(set(times)) != len(times):
            raise ValueError("keyframes must be in time order, one per instant")
        return self


class RedactionCreate(BaseModel):
    style: Style = "blur"


class BoxesIn(BaseModel):
    tracks: list[Track] = Field(max_length=MAX_TRACKS)


class RedactionRead(BaseModel):
    id: UUID
    clip_id: UUID
    parent_sha256: str
    parent_version_id: str
    style: str
    status: str
    progress: float
    failure: str | None
    width: int | None
    height: int | None
    frame_rate: float | None
    frame_count: int | None
    detector: dict[str, Any]
    tracks: list[dict[str, Any]]
    mask_sha256: str | None
    mask_version_id: str | None
    sha256: str | None
    version_id: str | None
    size: int | None
    tool: str | None
    tool_version: str | None
    command: list[str] | None
    created_by: str
    created_at: Any
    rendered_at: Any


def detector_record(sample_every: int | None = None) -> dict[str, Any]:
    """The detector's name, version and parameters, as recorded on the redaction."""
    parameters: dict[str, Any] = {
        "cascade": CASCADE,
        "scaleFactor": SCALE_FACTOR,
        "minNeighbors": MIN_NEIGHBORS,
        "minSize": [MIN_SIZE, MIN_SIZE],
        "padding": PADDING,
    }
    if sample_every is not None:
        parameters["sample_every_frames"] = sample_every
    import cv2  # OpenCV, PyAV and numpy only in the redaction steps, never at the API's start

    return {"name": "opencv-haar-cascade", "version": cv2.__version__, "parameters": parameters}


# -- the boxes ---------------------------------------------------------------------------------------------------
Box = tuple[int, int, int, int]


def box_at(track: dict[str, Any], t: float, hold: float) -> Box | None:
    """The track's box at time t: linear between keyframes; an automatic track also `hold` seconds beyond its ends;
    None outside."""
    frames = track["keyframes"]
    ends = hold if track.get("source") == "auto" else 0.0
    first, last = frames[0], frames[-1]
    if t < first["t"] - ends - 1e-6 or t > last["t"] + ends + 1e-6:
        return None
    if t <= first["t"]:
        k = first
        return (int(k["x"]), int(k["y"]), int(k["w"]), int(k["h"]))
    for a, b in zip(frames, frames[1:], strict=False):
        if a["t"] <= t <= b["t"]:
            f = (t - a["t"]) / (b["t"] - a["t"])
            x, y, w, h = (round(a[c] + (b[c] - a[c]) * f) for c in ("x", "y", "w", "h"))
            return (x, y, w, h)
    k = last
    return (int(k["x"]), int(k["y"]), int(k["w"]), int(k["h"]))


def frame_boxes(redaction: Redaction) -> list[list[Box]]:
    """Every frame's boxes (clamped to the frame) from the redaction's tracks."""
    assert redaction.frame_count is not None and redaction.frame_rate and redaction.width and redaction.height
    fps, width, height = redaction.frame_rate, redaction.width, redaction.height
    step = int(redaction.detector.get("parameters", {}).get("sample_every_frames") or 1)
    hold = step / fps
    out: list[list[Box]] = []
    for i in range(redaction.frame_count):
        t = i / fps
        boxes: list[Box] = []
        for track in redaction.tracks:
            found = box_at(track, t, hold)
            if found is None:
                continue
            x, y, w, h = found
            x0, y0 = max(0, min(width, x)), max(0, min(height, y))
            x1, y1 = max(0, min(width, x + w)), max(0, min(height, y + h))
            if x1 > x0 and y1 > y0:
                boxes.append((x0, y0, x1 - x0, y1 - y0))
        out.append(boxes)
    return out


def mask_document(redaction: Redaction, boxes: list[list[Box]]) -> bytes:
    """The mask file: every frame's boxes as rendered, with what they were made from (canonical JSON)."""
    document = {
        "redaction_id": str(redaction.id),
        "clip_id": str(redaction.clip_id),
        "clip_sha256": redaction.parent_sha256,
        "style": redaction.style,
        "width": redaction.width,
        "height": redaction.height,
        "frame_rate": redaction.frame_rate,
        "frame_count": redaction.frame_count,
        "detector": redaction.detector,
        "tracks": redaction.tracks,
        "frames": [
            {"frame": i, "t": round(i / float(redaction.frame_rate or 25), 4), "boxes": [list(b) for b in frame]}
            for i, frame in enumerate(boxes)
            if frame
        ],
    }
    return json.dumps(document, sort_keys=True, separators=(",", ":")).encode()


def link_tracks(samples: list[tuple[float, list[Box]]]) -> list[dict[str, Any]]:
    """Join detections of consecutive samples that overlap into tracks of keyframes (source "auto")."""
    tracks: list[dict[str, Any]] = []
    open_tracks: list[dict[str, Any]] = []
    for t, boxes in samples:
        still_open: list[dict[str, Any]] = []
        for x, y, w, h in boxes:
            best = None
            for track in open_tracks:
                last = track["keyframes"][-1]
                if _overlap((x, y, w, h), (last["x"], last["y"], last["w"], last["h"])) > 0.1:
                    best = track
                    break
            if best is None:
                best = {"id": uuid.uuid4().hex[:12], "source": "auto", "keyframes": []}
                tracks.append(best)
            else:
                open_tracks.remove(best)
            best["keyframes"].append({"t": round(t, 4), "x": x, "y": y, "w": w, "h": h})
            still_open.append(best)
        open_tracks = still_open
    return tracks


def _overlap(a: Box, b: Box) -> float:
    ax1, ay1, bx1, by1 = a[0] + a[2], a[1] + a[3], b[0] + b[2], b[1] + b[3]
    iw, ih = max(0, min(ax1, bx1) - max(a[0], b[0])), max(0, min(ay1, by1) - max(a[1], b[1]))
    inter = iw * ih
    union = a[2] * a[3] + b[2] * b[3] - inter
    return inter / union if union else 0.0


# -- the service entries -----------------------------------------------------------------------------------------
def _case_of(session: Session, clip: Clip) -> UUID:
    request = session.get(ExtractionRequest, clip.request_id)
    assert request is not None
    return request.case_id


def _event(session: Session, actor: Actor, redaction: Redaction, action: str, component: str, **details: Any) -> None:
    append_event(
        session,
        actor=actor.label,
        action=f"redaction.{action}",
        object_type="redaction",
        object_id=redaction.id,
        sha256=redaction.sha256,
        version_id=redaction.version_id,
        case_id=redaction.case_id,
        where=actor.where(component),
        details={
            "clip_id": str(redaction.clip_id),
            "parent_sha256": redaction.parent_sha256,
            **details,
            **({} if action in READS else {"row": row_state("redactions", redaction)}),
        },
    )


def create(session: Session, actor: Actor, clip_id: UUID, body: RedactionCreate) -> Redaction:
    """A new redaction of the clip's current version; its face detection is queued."""
    ensure_role(actor, "redactions.write")
    clip = get_clip(session, actor, clip_id)
    # a redaction belongs to a request: a clip of an appeal's file (the case's alone) is not redacted here
    ensure_visible(clip.request_id is not None, actor, "clip", clip_id)
    if clip.deleted_at is not None:
        raise Conflict(GONE_CLIP)
    redaction = Redaction(
        id=uuid.uuid4(),
        clip_id=clip.id,
        request_id=clip.request_id,
        case_id=_case_of(session, clip),
        parent_sha256=clip.sha256,
        parent_version_id=clip.version_id,
        style=body.style,
        status="detecting",
        progress=0.0,
        detector=detector_record(),
        tracks=[],
        created_by=actor.label,
        created_at=clock.now(),
        heartbeat_at=clock.now(),
        requeues=0,
        legal_hold=False,
    )
    session.add(redaction)
    session.flush()
    _event(session, actor, redaction, "created", "api", style=body.style, parent_version_id=clip.version_id)
    queue.defer_after_commit(
        session, DETECT_TASK, queueing_lock=f"{DETECT_TASK}:{redaction.id}", redaction_id=str(redaction.id)
    )
    return redaction


def get(session: Session, actor: Actor, redaction_id: UUID, *, log_read: bool = True) -> Redaction:
    """A redaction within the actor's scope (its clip's); reading it is logged."""
    ensure_role(actor, "redactions.read")
    redaction = session.get(Redaction, redaction_id)
    if redaction is None:
        raise NotFound("No such redaction.")
    get_clip(session, actor, redaction.clip_id)  # the clip's scope: 404 when out of it
    if log_read:
        _event(session, actor, redaction, "record_read", "api")
    return redaction


def of_clip(session: Session, actor: Actor, clip_id: UUID) -> list[Redaction]:
    ensure_role(actor, "redactions.read")
    clip = get_clip(session, actor, clip_id)
    return list(session.scalars(select(Redaction).where(Redaction.clip_id == clip.id).order_by(Redaction.created_at)))


def save_boxes(session: Session, actor: Actor, redaction_id: UUID, body: BoxesIn) -> Redaction:
    """The reviewer's boxes replace the redaction's (automatic ones moved or deleted, manual ones added)."""
    ensure_role(actor, "redactions.write")
    redaction = get(session, actor, redaction_id, log_read=False)
    session.refresh(redaction, with_for_update=True)
    if redaction.status != "review":
        raise Conflict(NOT_IN_REVIEW)
    assert redaction.width and redaction.height and redaction.frame_rate and redaction.frame_count
    duration = redaction.frame_count / redaction.frame_rate
    for index, track in enumerate(body.tracks):
        for k in track.keyframes:
            if k.x + k.w > redaction.width or k.y + k.h > redaction.height:
                raise RuleViolation(
                    f"tracks[{index}]", f"a box must lie within the {redaction.width}×{redaction.height} frame"
                )
            if k.t > duration:
                raise RuleViolation(f"tracks[{index}]", f"a keyframe must be within the clip's {duration:.2f} s")
    redaction.tracks = [t.model_dump() for t in body.tracks]
    session.flush()
    digest = hashlib.sha256(json.dumps(redaction.tracks, sort_keys=True).encode()).hexdigest()
    _event(
        session,
        actor,
        redaction,
        "boxes_saved",
        "api",
        tracks=len(redaction.tracks),
        manual=sum(1 for t in redaction.tracks if t["source"] == "manual"),
        tracks_sha256=digest,
    )
    return redaction


def request_render(session: Session, actor: Actor, redaction_id: UUID) -> Redaction:
    """Queue the rendering of the reviewed boxes into the redacted copy."""
    ensure_role(actor, "redactions.write")
    redaction = get(session, actor, redaction_id, log_read=False)
    session.refresh(redaction, with_for_update=True)
    if redaction.status != "review":
        raise Conflict(NOT_IN_REVIEW)
    redaction.status, redaction.progress = "rendering", 0.0
    redaction.heartbeat_at, redaction.requeues = clock.now(), 0
    session.flush()
    _event(session, actor, redaction, "render_requested", "api", tracks=len(redaction.tracks), style=redaction.style)
    queue.defer_after_commit(
        session, RENDER_TASK, queueing_lock=f"{RENDER_TASK}:{redaction.id}", redaction_id=str(redaction.id)
    )
    return redaction


def fetch(session: Session, actor: Actor, redaction_id: UUID) -> str:
    """A presigned URL of the redacted copy's exact version (a few minutes); the fetch is logged."""
    ensure_role(actor, "redactions.read")
    redaction = get(session, actor, redaction_id, log_read=False)
    if redaction.deleted_at is not None:
        raise Conflict(GONE_COPY)
    if redaction.status != "ready" or redaction.object_key is None or redaction.version_id is None:
        raise Conflict(NOT_YET)
    url = get_storage().presign_get(
        redaction.object_key,
        redaction.version_id,
        timedelta(seconds=REDIRECT_SECONDS),
        filename=f"redacted-{redaction.clip_id}.mp4",
    )
    _event(session, actor, redaction, "link_fetched", "api")
    return url


# -- the worker's steps ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Source:
    redaction_id: UUID
    clip_key: str
    clip_version: str
    clip_sha256: str


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1024 * 1024), b""):
            digest.update(block)
    return digest.hexdigest()


def _read_clip(factory: sessionmaker[Session], redaction_id: UUID, step: str, workdir: Path) -> _Source | None:
    """Download the clip's exact version (its hash checked) and log the read on the clip."""
    actor = system_actor("redaction")
    with factory() as session, session.begin():
        redaction = session.get(Redaction, redaction_id)
        if redaction is None:
            return None
        clip = session.get(Clip, redaction.clip_id)
        assert clip is not None
        source = _Source(redaction.id, clip.object_key, redaction.parent_version_id, redaction.parent_sha256)
        redaction.heartbeat_at = clock.now()  # the step has begun: a sweep leaves it alone for a while
        append_event(
            session,
            actor=actor.label,
            action="clip.read_for_redaction",
            object_type="clip",
            object_id=clip.id,
            sha256=clip.sha256,
            version_id=redaction.parent_version_id,
            case_id=redaction.case_id,
            where=actor.where("worker"),
            details={"redaction_id": str(redaction.id), "step": step},
        )
    local = workdir / "clip"
    get_storage().download(source.clip_key, source.clip_version, local)
    if _sha256_file(local) != source.clip_sha256:
        raise media.MediaError("the clip read back does not match its recorded hash")
    return source


def _fail(factory: sessionmaker[Session], redaction_id: UUID, step: str, exc: Exception) -> None:
    log.exception("redaction %s: %s failed", redaction_id, step)
    actor = system_actor("redaction")
    with factory() as session, session.begin():
        redaction = session.get(Redaction, redaction_id, with_for_update=True)
        if redaction is None:
            return
        redaction.status, redaction.failure = "failed", FAILED
        _event(session, actor, redaction, "failed", "worker", step=step, error=type(exc).__name__)


def detect(path: Path) -> tuple[list[tuple[float, list[Box]]], int, int, float, int, int]:
    """Search every sampled frame for faces: (samples, width, height, frame rate, frame count, sampling step)."""
    import av
    import cv2

    classifier = cv2.CascadeClassifier(cv2.data.haarcascades + CASCADE)  # type: ignore[attr-defined]
    if classifier.empty():
        raise media.MediaError("the face detector could not be loaded")
    samples: list[tuple[float, list[Box]]] = []
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        fps = float(stream.average_rate or stream.guessed_rate or 25)
        width, height = stream.codec_context.width, stream.codec_context.height
        step = max(1, round(fps * SAMPLE_SECONDS))
        count = 0
        for frame in container.decode(stream):
            if count % step == 0:
                gray = frame.to_ndarray(format="gray")
                found = classifier.detectMultiScale(
                    gray, scaleFactor=SCALE_FACTOR, minNeighbors=MIN_NEIGHBORS, minSize=(MIN_SIZE, MIN_SIZE)
                )
                boxes: list[Box] = []
                for x, y, w, h in (tuple(int(v) for v in f) for f in found):
                    pad_w, pad_h = round(w * PADDING), round(h * PADDING)
                    x0, y0 = max(0, x - pad_w), max(0, y - pad_h)
                    boxes.append((x0, y0, min(width, x + w + pad_w) - x0, min(height, y + h + pad_h) - y0))
                samples.append((count / fps, boxes))
            count += 1
    return samples, width, height, fps, count, step


def detect_faces(factory: sessionmaker[Session], redaction_id: UUID) -> Redaction | None:
    """The worker's first step: find faces in the clip and put the redaction under review."""
    with factory() as session:
        redaction = session.get(Redaction, redaction_id)
        if redaction is None or redaction.status != "detecting":
            return redaction
    try:
        with tempfile.TemporaryDirectory(prefix="footage-redaction-") as tmp:
            source = _read_clip(factory, redaction_id, "detect", Path(tmp))
            if source is None:
                return None
            started = time.monotonic()
            samples, width, height, fps, count, step = detect(Path(tmp) / "clip")
            seconds = time.monotonic() - started
    except Exception as exc:  # noqa: BLE001 - recorded as the redaction's failure, the job itself ends
        _fail(factory, redaction_id, "detect", exc)
        return None
    actor = system_actor("redaction")
    with factory() as session, session.begin():
        redaction = session.get(Redaction, redaction_id, with_for_update=True)
        assert redaction is not None
        if redaction.status != "detecting":
            return redaction
        redaction.width, redaction.height, redaction.frame_rate, redaction.frame_count = width, height, fps, count
        redaction.detector = detector_record(step)
        manual = [t for t in redaction.tracks if t.get("source") == "manual"]
        redaction.tracks = link_tracks(samples) + manual
        redaction.status, redaction.progress = "review", 0.0
        session.flush()
        _event(
            session,
            actor,
            redaction,
            "detected",
            "worker",
            detector=redaction.detector,
            frames_searched=len(samples),
            faces=sum(len(b) for _, b in samples),
            tracks=len(redaction.tracks),
            seconds=round(seconds, 3),
        )
        session.expunge(redaction)
        return redaction


def render_command(redaction: Redaction, source: str, output: str) -> list[str]:
    """The ffmpeg arguments: the clip and the grey mask (stdin) in, the masked blur or box over the frame, H.264."""
    hide = BLUR if redaction.style == "blur" else "drawbox=x=0:y=0:w=iw:h=ih:color=black:t=fill"
    graph = (
        f"[0:v]setpts=PTS-STARTPTS,format=yuv420p,split[a][b];[b]{hide}[hidden];"
        "[1:v]setpts=PTS-STARTPTS,format=gray[mask];[hidden][mask]alphamerge[m];[a][m]overlay=format=auto,"
        "format=yuv420p[v]"
    )
    return [
        "-i",
        source,
        "-f",
        "rawvideo",
        "-pix_fmt",
        "gray",
        "-s",
        f"{redaction.width}x{redaction.height}",
        "-r",
        f"{redaction.frame_rate:g}",
        "-i",
        "-",
        "-filter_complex",
        graph,
        "-map",
        "[v]",
        "-map",
        "0:a?",
        "-c:a",
        "copy",
        "-c:v",
        "libx264",
        "-preset",
        "superfast",
        "-crf",
        "18",
        "-movflags",
        "+faststart",
        "-y",
        output,
    ]


def _set_progress(factory: sessionmaker[Session], redaction_id: UUID, progress: float) -> None:
    with factory() as session, session.begin():
        redaction = session.get(Redaction, redaction_id)
        if redaction is not None and redaction.status == "rendering":
            redaction.progress = max(0.0, min(0.99, progress))
            redaction.heartbeat_at = clock.now()


def run_render(
    redaction: Redaction,
    boxes: list[list[Box]],
    args: list[str],
    workdir: Path,
    on_progress: Callable[[float], None] | None = None,
) -> None:
    """Run ffmpeg with `args` (render_command), writing each frame's grey mask to its stdin; `on_progress` hears
    the fraction of frames sent every two seconds or so."""
    assert redaction.width and redaction.height
    width, height = redaction.width, redaction.height
    errors = (workdir / "ffmpeg.log").open("w")
    with errors:
        process = subprocess.Popen(
            [media.ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error", *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=errors,
        )
        assert process.stdin is not None
        import numpy as np

        mask = np.zeros((height, width), dtype=np.uint8)
        last = time.monotonic()
        try:
            for index, frame in enumerate(boxes):
                mask.fill(0)
                for x, y, w, h in frame:
                    mask[y : y + h, x : x + w] = 255
                process.stdin.write(mask.tobytes())
                if on_progress is not None and time.monotonic() - last > 2:
                    on_progress(index / max(1, len(boxes)))
                    last = time.monotonic()
            process.stdin.close()
        except BrokenPipeError:
            pass
        code = process.wait()
    if code != 0:
        tail = (workdir / "ffmpeg.log").read_text(errors="replace").strip().splitlines()[-5:]
        raise media.MediaError(f"ffmpeg exited {code}: {' '.join(tail)}")


def render(factory: sessionmaker[Session], redaction_id: UUID) -> Redaction | None:
    """The worker's second step: the mask file and the redacted copy, stored, locked and recorded."""
    with factory() as session:
        redaction = session.get(Redaction, redaction_id)
        if redaction is None or redaction.status != "rendering":
            return redaction
        lock = lock_period(session, redaction.case_id)
        session.expunge(redaction)
    store = get_storage()
    try:
        with tempfile.TemporaryDirectory(prefix="footage-redaction-") as tmp:
            workdir = Path(tmp)
            source = _read_clip(factory, redaction_id, "render", workdir)
            if source is None:
                return None
            boxes = frame_boxes(redaction)
            mask_bytes = mask_document(redaction, boxes)
            mask_sha = hashlib.sha256(mask_bytes).hexdigest()
            mask_path = workdir / "mask.json"
            mask_path.write_bytes(mask_bytes)
            output = workdir / "redacted.mp4"
            args = render_command(redaction, str(workdir / "clip"), str(output))
            run_render(redaction, boxes, args, workdir, lambda done: _set_progress(factory, redaction_id, done))
            sha, size = _sha256_file(output), output.stat().st_size
            prefix = f"redactions/{redaction.clip_id}/{redaction.id}"
            mask_version = store.put_file(f"{prefix}/mask.json", mask_path, content_type="application/json").version_id
            version = store.put_file(f"{prefix}/redacted.mp4", output, content_type="video/mp4").version_id
    except Exception as exc:  # noqa: BLE001 - recorded as the redaction's failure, the job itself ends
        _fail(factory, redaction_id, "render", exc)
        return None
    until = lock.until()
    for key, ver in ((f"{prefix}/mask.json", mask_version), (f"{prefix}/redacted.mp4", version)):
        store.lock(key, ver, mode=lock.mode, until=until)
        store.set_legal_hold(key, ver, True)
    clip_label = f"s3://{store.bucket}/{source.clip_key}?versionId={source.clip_version}"
    recorded = ["ffmpeg", *[clip_label if a == str(workdir / "clip") else a for a in args]]
    recorded[recorded.index(str(output))] = "redacted.mp4"
    actor = system_actor("redaction")
    with factory() as session, session.begin():
        row = session.get(Redaction, redaction_id, with_for_update=True)
        assert row is not None
        if row.status != "rendering":
            session.expunge(row)
            return row  # another run of this step (queued again by the sweep) finished first; its record stands
        row.mask_object_key, row.mask_version_id, row.mask_sha256 = f"{prefix}/mask.json", mask_version, mask_sha
        row.object_key, row.version_id, row.sha256, row.size = f"{prefix}/redacted.mp4", version, sha, size
        row.tool, row.tool_version, row.command = "ffmpeg", media.ffmpeg_version(), recorded
        row.retention_mode, row.retain_until, row.legal_hold = lock.mode, until, True
        row.status, row.progress, row.rendered_at = "ready", 1.0, clock.now()
        session.flush()
        _event(
            session,
            actor,
            row,
            "rendered",
            "worker",
            parent_version_id=row.parent_version_id,
            detector=row.detector,
            mask={"object_key": row.mask_object_key, "version_id": mask_version, "sha256": mask_sha},
            object_key=row.object_key,
            size=size,
            tool="ffmpeg",
            tool_version=row.tool_version,
            command=recorded,
            frames_masked=sum(1 for b in boxes if b),
            retain_until=until.isoformat(),
            legal_hold=True,
        )
        session.expunge(row)
        return row


# -- lost jobs ---------------------------------------------------------------------------------------------------
@dataclass
class SweepReport:
    requeued: list[str]
    gave_up: list[str]


def stuck(session: Session) -> list[UUID]:
    """Redactions detecting or rendering whose step has been silent longer than the settings allow (oldest
    first): the step's job was lost (a worker died mid-job, or the queue was unreachable when it was asked)."""
    cutoff = clock.now() - timedelta(minutes=get_settings().redaction_stuck_minutes)
    return list(
        session.scalars(
            select(Redaction.id)
            .where(
                Redaction.status.in_(tuple(STEP_TASKS)),
                Redaction.heartbeat_at < cutoff,
                Redaction.deleted_at.is_(None),
            )
            .order_by(Redaction.heartbeat_at)
            .limit(100)
        )
    )


def requeue_stuck(factory: sessionmaker[Session]) -> SweepReport:
    """Queue again each stuck step, with a custody event (`redaction.requeued`); a redaction whose step was
    queued again redaction_max_requeues times already fails instead (`redaction.gave_up`), its page saying so.
    A step whose job still waits in the queue is only late, not lost, and is left alone."""
    settings = get_settings()
    actor = system_actor("redaction-sweep")
    report = SweepReport([], [])
    with factory() as session:
        found = stuck(session)
    cutoff = clock.now() - timedelta(minutes=settings.redaction_stuck_minutes)
    for redaction_id in found:
        with factory() as session, session.begin():
            redaction = session.get(Redaction, redaction_id, with_for_update={"skip_locked": True})
            if redaction is None or redaction.status not in STEP_TASKS:
                continue
            if redaction.heartbeat_at is None or redaction.heartbeat_at >= cutoff:
                continue  # it moved meanwhile
            task = STEP_TASKS[redaction.status]
            lock = f"{task}:{redaction.id}"
            if queue.waiting(session, lock):
                continue
            silent = round((clock.now() - redaction.heartbeat_at).total_seconds())
            step = "detect" if task == DETECT_TASK else "render"
            if redaction.requeues >= settings.redaction_max_requeues:
                redaction.status, redaction.failure = "failed", GAVE_UP
                session.flush()
                _event(
                    session,
                    actor,
                    redaction,
                    "gave_up",
                    "worker",
                    step=step,
                    requeues=redaction.requeues,
                    silent_seconds=silent,
                )
                report.gave_up.append(str(redaction.id))
                continue
            redaction.requeues += 1
            redaction.heartbeat_at, redaction.progress = clock.now(), 0.0
            session.flush()
            _event(
                session,
                actor,
                redaction,
                "requeued",
                "worker",
                step=step,
                requeue=redaction.requeues,
                silent_seconds=silent,
            )
            queue.defer_after_commit(session, task, queueing_lock=lock, redaction_id=str(redaction.id))
            report.requeued.append(str(redaction.id))
    if report.requeued or report.gave_up:
        log.warning("redactions: %d steps queued again, %d given up", len(report.requeued), len(report.gave_up))
    return report
