"""Cutting a clip of the requested window out of an original, by stream copy, and recording how it was made.

True time → recorder time (add the recorder's clock offset) → offset into the file (minus the recorder's clock
at the first frame). MP4 and Matroska originals are cut directly; MPEG-TS, AVI, raw H.264, Dahua DHAV and
(IMKH) program streams are first remuxed (stream copy, no re-encoding) into a container with an exact timestamp
index, because seeking in them with -c copy lands imprecisely. That remux is a working copy, not kept: the clip's
recorded commands name it, so the clip can be remade from the original the same way. The actual first and last
frame times are read back from the clip.
"""

from __future__ import annotations

import hashlib
import logging
import tempfile
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from app.auth.permissions import system_actor
from app.core import clock, media
from app.core.config import get_settings
from app.core.storage import get_storage
from app.custody.rows import row_state
from app.custody.service import append_event
from app.extractions import service as extractions
from app.extractions.models import ExtractionRequest
from app.extractions.states import RequestStatus
from app.footage.models import Clip, Original
from app.footage.retention import lock_period

log = logging.getLogger(__name__)
# The names the clip work is queued under: one request's clip, and the sweep that catches lost clip jobs.
CLIP_TASK = "clips.make"
CLIP_SWEEP_TASK = "clips.sweep"
DIRECT = {"mov,mp4,m4a,3gp,3g2,mj2": ".mp4", "matroska,webm": ".mkv"}


@dataclass(frozen=True)
class Plan:
    offset_start_s: float
    offset_end_s: float
    covered_start: datetime
    covered_end: datetime
    cut_start: datetime
    cut_end: datetime
    shortfall: dict[str, float]


def plan_cut(original: Original, window_start: datetime, window_end: datetime) -> Plan | None:
    """The part of the window the original covers, as file offsets; None when they do not overlap."""
    covered_start = original.recording_start_true
    covered_end = covered_start + timedelta(seconds=float(original.media.get("duration_s") or 0))
    cut_start, cut_end = max(window_start, covered_start), min(window_end, covered_end)
    if cut_end <= cut_start:
        return None
    return Plan(
        offset_start_s=(cut_start - covered_start).total_seconds(),
        offset_end_s=(cut_end - covered_start).total_seconds(),
        covered_start=covered_start,
        covered_end=covered_end,
        cut_start=cut_start,
        cut_end=cut_end,
        shortfall={
            "start_s": round(max(0.0, (covered_start - window_start).total_seconds()), 3),
            "end_s": round(max(0.0, (window_end - covered_end).total_seconds()), 3),
        },
    )


@dataclass(frozen=True)
class CutResult:
    path: Path
    commands: list[list[str]]
    first_s: float
    last_end_s: float
    container: str


def demuxer(original: Original) -> tuple[str | None, dict[str, str]]:
    """How ffmpeg must open the original: forced format and demuxer options (raw H.264, IMKH, DHAV)."""
    rate = float(original.media.get("frame_rate") or 25)
    return media.open_options(original.filename, rate, original.media.get("native_format"))


def cuts_directly(original: Original) -> bool:
    """MP4 and Matroska originals carry an index: ffmpeg seeks in them precisely, also over HTTP ranges."""
    fmt, _ = demuxer(original)
    return str(original.media.get("container") or "") in DIRECT and fmt is None


def cut(
    source: Path | str, original: Original, plan: Plan, workdir: Path, *, source_label: str | None = None
) -> CutResult:
    """Run the stream-copy cut (remuxing first where seeking would be imprecise). `source` is a local copy or a
    presigned URL; `source_label` names it in the recorded commands (a URL's signature is a credential)."""
    container = str(original.media.get("container") or "")
    commands: list[list[str]] = []
    fmt, options = demuxer(original)

    def recorded(args: list[str]) -> list[str]:
        return ["ffmpeg", *(source_label if source_label and a == str(source) else a for a in args)]

    seekable: Path | str
    if cuts_directly(original):
        seekable, ext = source, DIRECT[container]
    else:
        seekable, ext = workdir / "remuxed.mp4", ".mkv"
        args = ["-fflags", "+genpts", *media.input_args(fmt, options)]
        args += ["-i", str(source), "-map", "0", "-c", "copy", "-y", str(seekable)]
        media.run_ffmpeg(args)
        commands.append(recorded(args))
    output = workdir / f"clip{ext}"
    args = [
        "-ss",
        f"{plan.offset_start_s:.3f}",
        "-i",
        str(seekable),
        "-to",
        f"{plan.offset_end_s:.3f}",
        "-map",
        "0",
        "-c",
        "copy",
        "-copyts",
        "-start_at_zero",
        "-y",
        str(output),
    ]
    media.run_ffmpeg(args)
    commands.append(recorded(args))
    first, last_end = media.packet_span(output)
    return CutResult(output, commands, first, last_end, ext.lstrip("."))


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1024 * 1024), b""):
            digest.update(block)
    return digest.hexdigest()


def make_clip(factory: sessionmaker[Session], request_id: UUID) -> Clip | None:
    """Make the clip for a request whose footage arrived; idempotent (a retry finds the clip or its object)."""
    actor = system_actor("clipper")
    with factory() as session:
        request = session.get(ExtractionRequest, request_id)
        if request is None:
            return None
        original = session.scalars(
            select(Original).where(Original.request_id == request_id).order_by(Original.received_at.desc())
        ).first()
        if original is None:
            return None
        window_start = request.approved_start or request.window_start
        window_end = request.approved_end or request.window_end
        existing = session.scalar(
            select(Clip).where(
                Clip.original_id == original.id, Clip.requested_start == window_start, Clip.requested_end == window_end
            )
        )
        if existing is not None:
            return existing
        if request.status != RequestStatus.footage_received.value:
            return None
        plan = plan_cut(original, window_start, window_end)
        lock = lock_period(session, request.case_id)
        session.expunge(original)
    if plan is None:
        _mismatch(factory, request_id, original, actor)
        return None
    with tempfile.TemporaryDirectory(prefix="footage-clip-") as tmp:
        workdir = Path(tmp)
        source, label = _open_source(original, workdir)
        result = cut(source, original, plan, workdir, source_label=label)
        sha = _sha256(result.path)
        key = (
            f"clips/{request_id}/{original.id}-{int(window_start.timestamp())}-{int(window_end.timestamp())}."
            f"{result.container}"
        )
        version_id = _store_once(key, result.path, sha)
        retain_until = lock.until()
        get_storage().lock(key, version_id, mode=lock.mode, until=retain_until)
        get_storage().set_legal_hold(key, version_id, True)
        start_true = original.recording_start_true
        actual_start = start_true + timedelta(seconds=result.first_s)
        actual_end = start_true + timedelta(seconds=result.last_end_s)
        return _record(
            factory,
            request_id,
            original,
            key,
            version_id,
            sha,
            result,
            window_start,
            window_end,
            actual_start,
            actual_end,
            plan,
            retain_until,
            actor,
            retention_mode=lock.mode,
        )


def _open_source(original: Original, workdir: Path) -> tuple[Path | str, str]:
    """Where ffmpeg reads the original, and how the recorded command names it.

    Indexed containers are read straight from a presigned URL pinned to the version: ffmpeg fetches the index
    and the byte ranges of the window only, so a minute from a long recording does not download the whole
    file (bench/ingest.py measures both ways). Other containers are remuxed whole first, so they are
    downloaded. The recorded command names the version as s3://bucket/key?versionId=..., never the signed URL.
    """
    store = get_storage()
    label = f"s3://{store.bucket}/{original.object_key}?versionId={original.version_id}"
    if get_settings().clip_source == "presigned_url" and cuts_directly(original):
        return store.presign_get(original.object_key, original.version_id, timedelta(hours=1)), label
    local = workdir / ("original" + Path(original.filename).suffix)
    store.download(original.object_key, original.version_id, local)
    return local, label


def _store_once(key: str, path: Path, sha: str) -> str:
    """Put the clip under its deterministic key unless a previous attempt already stored these very bytes."""
    store = get_storage()
    for version in store.versions(key):
        digest = hashlib.sha256()
        for chunk in store.iter_version(key, version):
            digest.update(chunk)
        if digest.hexdigest() == sha:
            return version  # an earlier attempt stored it and died before recording: adopt it
        try:
            store.remove_version(key, version)  # a different, unlocked leftover
        except Exception:  # noqa: BLE001 - a locked leftover stays for the orphan sweep to report
            log.warning("leftover clip version %s@%s could not be removed", key, version)
    return store.put_file(key, path, content_type="video/" + path.suffix.lstrip(".")).version_id


def _record(
    factory: sessionmaker[Session],
    request_id: UUID,
    original: Original,
    key: str,
    version_id: str,
    sha: str,
    result: CutResult,
    window_start: datetime,
    window_end: datetime,
    actual_start: datetime,
    actual_end: datetime,
    plan: Plan,
    retain_until: datetime,
    actor: Any,
    *,
    retention_mode: str,
) -> Clip:
    with factory() as session, session.begin():
        request = session.get(ExtractionRequest, request_id, with_for_update=True)
        assert request is not None
        clip = Clip(
            id=uuid4(),
            original_id=original.id,
            request_id=request_id,
            parent_sha256=original.sha256,
            sha256=sha,
            size=result.path.stat().st_size,
            object_key=key,
            version_id=version_id,
            container=result.container,
            requested_start=window_start,
            requested_end=window_end,
            actual_start=actual_start,
            actual_end=actual_end,
            shortfall=plan.shortfall,
            tool="ffmpeg",
            tool_version=media.ffmpeg_version(),
            command=[" ".join(c) for c in result.commands],
            created_at=clock.now(),
            retention_mode=retention_mode,
            retain_until=retain_until,
            legal_hold=True,
        )
        session.add(clip)
        session.flush()
        append_event(
            session,
            actor=actor.label,
            action="clip.created",
            object_type="clip",
            object_id=clip.id,
            sha256=sha,
            version_id=version_id,
            case_id=request.case_id,
            where=actor.where("worker"),
            details={
                "object_key": key,
                "parent_id": str(original.id),
                "parent_sha256": original.sha256,
                "tool": "ffmpeg",
                "tool_version": clip.tool_version,
                "command": clip.command,
                "requested": [window_start.isoformat(), window_end.isoformat()],
                "actual": [actual_start.isoformat(), actual_end.isoformat()],
                "shortfall": plan.shortfall,
                "retain_until": retain_until.isoformat(),
                "legal_hold": True,
                "row": row_state("clips", clip),
            },
        )
        extractions.move(
            session,
            request,
            RequestStatus.clip_ready,
            actor,
            "clip cut by stream copy",
            details={"clip_id": str(clip.id)},
        )
        return clip


def _mismatch(factory: sessionmaker[Session], request_id: UUID, original: Original, actor: Any) -> None:
    duration = float(original.media.get("duration_s") or 0)
    covered = [
        original.recording_start_true.isoformat(),
        (original.recording_start_true + timedelta(seconds=duration)).isoformat(),
    ]
    with factory() as session, session.begin():
        request = session.get(ExtractionRequest, request_id, with_for_update=True)
        if request is None or request.status != RequestStatus.footage_received.value:
            return
        extractions.move(
            session,
            request,
            RequestStatus.footage_mismatch,
            actor,
            "the footage does not cover the requested window",
            details={"original_id": str(original.id), "covered": covered},
        )
