"""Cutting a clip of the requested window out of an original, by stream copy, and recording how it was made.

True time → recorder time (add the recorder's clock offset) → offset into the file (minus the recorder's clock
at the first frame). MP4 and Matroska originals are cut directly; MPEG-TS, AVI, raw H.264, Dahua DHAV and
(IMKH) program streams are first remuxed (stream copy, no re-encoding) into a container with an exact timestamp
index, because seeking in them with -c copy lands imprecisely. That remux is a working copy, not kept: the clip's
recorded commands name it, so the clip can be remade from the original the same way. The cut keeps the
original's timestamps (`-copyts`) less one known shift, so the actual first and last frame times are read back
from it.

The clip itself starts at zero: its first video frame is at media time 0. The key frame a stream-copy cut starts at
is read from the source's index before cutting, and the cutting pass shifts every timestamp back by its offset
(`-output_ts_offset`); a cut measured not to start there is shifted by a second stream-copy pass instead
(`cut_from_zero`). A browser measures a video's duration from zero, so a clip whose timestamps began at the
window's offset in the recording could not be sought to its end. The true time of a clip's frame at media time t
is then `actual_start + t`; the clip records its first frame's media time (`first_pts_s`, 0) so that clips cut
before, which kept the original's offsets (NULL there), are still read right.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from app.auth.permissions import system_actor
from app.core import clock, embedded, media
from app.core.config import get_settings
from app.core.storage import get_storage
from app.custody.rows import row_state
from app.custody.service import append_event
from app.extractions import owner_view
from app.extractions import service as extractions
from app.extractions.models import ExtractionRequest
from app.extractions.states import RequestStatus
from app.footage import segments
from app.footage.models import Clip, ClipParent, Original
from app.footage.previews import queue_previews
from app.footage.retention import lock_period

log = logging.getLogger(__name__)
# The names the clip work is queued under: one request's clip, and the sweep that catches lost clip jobs.
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
    first_s: float  # the first frame's offset into the source (its time line before the clip was made zero-based)
    last_end_s: float  # the end of the last frame, on the same time line
    container: str
    start_pts_s: float = 0.0  # the media time of the clip file's first video frame (0: zero-based)


def demuxer(original: Original) -> tuple[str | None, dict[str, str]]:
    """How ffmpeg must open the original: forced format and demuxer options (raw H.264, IMKH, DHAV)."""
    rate = float(original.media.get("frame_rate") or 25)
    return media.open_options(original.filename, rate, original.media.get("native_format"))


def cuts_directly(original: Original) -> bool:
    """MP4 and Matroska originals carry an index: ffmpeg seeks in them precisely, also over HTTP ranges."""
    fmt, _ = demuxer(original)
    return str(original.media.get("container") or "") in DIRECT and fmt is None


def faststart(ext: str) -> list[str]:
    """MP4 clips carry their index first, so a browser's player starts at once instead of fetching the end."""
    return ["-movflags", "+faststart"] if ext == ".mp4" else []


def zero_based(cut_file: Path, output: Path, first_s: float) -> tuple[list[str], float]:
    """Copy the cut (stream copy) so that its first video frame is at media time 0: every timestamp moves back by
    that frame's time `first_s`, measured on the cut. An audio packet that began before that frame keeps a
    negative time (an MP4 edit list, or Matroska's signed times), which players skip; nothing is re-encoded.
    Returns the arguments run and the first video frame's time in the result (0)."""
    args = ["-i", str(cut_file), "-map", "0", "-c", "copy", "-copyts", "-output_ts_offset", f"{-first_s:.6f}"]
    args += ["-avoid_negative_ts", "disabled", *faststart(output.suffix), "-y", str(output)]
    media.run_ffmpeg(args)
    start, _ = media.packet_span(output)
    if abs(start) > 0.002:
        raise media.MediaError(f"the clip's first frame is at {start:.3f} s, not at 0")
    return args, start


def cut_from_zero(
    args: list[str], kept: Path, output: Path, key_s: float | None, *, ts_offset: float | None = None
) -> tuple[list[list[str]], float, float, float]:
    """Run the stream-copy cut `args` (its input and cut options, no output) into `output`, a clip whose first
    video frame is at media time 0. `key_s` is the time of the key frame the cut is predicted to start at, on the
    time line the cut writes (`ts_offset`, when given, is that time line's `-output_ts_offset`): one pass then
    writes the clip shifted back by it, and its first frame is measured at 0 with no video hidden before it (an
    MP4's edit list hides video shifted below 0: ffmpeg started at an earlier key frame). When it is not (no
    prediction, ffmpeg started elsewhere, anything unexpected), the cut is written with those times into `kept`
    and shifted by a second stream copy (`zero_based`), as measured; the first attempt is discarded. Returns the
    commands that made the clip (arguments), the first frame's time and the end of the last frame on the cut's
    time line, and the first frame's media time in the clip (0)."""
    if key_s is not None:
        once = [*args, "-output_ts_offset", f"{(ts_offset or 0.0) - key_s:.6f}", "-avoid_negative_ts", "disabled"]
        once += [*faststart(output.suffix), "-y", str(output)]
        try:
            media.run_ffmpeg(once)
            start, last_end, hidden = media.clip_span(output)
        except Exception as exc:  # noqa: BLE001 - anything unexpected: the two passes measure instead
            log.warning("the one-pass cut failed (%s): cutting in two passes", exc)
        else:
            if abs(start) <= 0.002 and not hidden:
                return [once], key_s + start, key_s + last_end, start
            log.warning(
                "the cut starts at %.3f s (%d video packets before it hidden), not at the key frame predicted at "
                "%.3f s: cutting in two passes",
                start,
                hidden,
                key_s,
            )
        output.unlink(missing_ok=True)
    shown = [] if ts_offset is None else ["-output_ts_offset", f"{ts_offset:.3f}"]
    args = [*args, *shown, "-y", str(kept)]
    media.run_ffmpeg(args)
    first, last_end = media.packet_span(kept)
    shift, start = zero_based(kept, output, first)
    return [args, shift], first, last_end, start


def cut(
    source: Path | str,
    original: Original,
    plan: Plan,
    workdir: Path,
    *,
    source_label: str | None = None,
    key_s: float | None = None,
) -> CutResult:
    """Run the stream-copy cut (remuxing first where seeking would be imprecise). `source` is a local copy or a
    presigned URL; `source_label` names it in the recorded commands (a URL's signature is a credential). The key
    frame the cut starts at is read from the source's index first (`key_s` gives it instead), so that the one
    cutting pass writes the clip from media time 0; a cut that does not start where predicted is made in two."""
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
        args = media.remux_args(str(source), str(seekable), fmt, options)
        media.run_ffmpeg(args)
        commands.append(recorded(args))
    kept = workdir / f"cut{ext}"  # the window with the source's own timestamps, when the cut takes two passes
    output = workdir / f"clip{ext}"
    start_at = f"{plan.offset_start_s:.3f}"
    args = ["-ss", start_at, "-i", str(seekable), "-to", f"{plan.offset_end_s:.3f}", "-map", "0", "-c", "copy"]
    args += ["-copyts", "-start_at_zero"]
    if key_s is None:
        key_s = media.cut_key_frame(seekable, float(start_at))
    run, first, last_end, start = cut_from_zero(args, kept, output, key_s)
    commands += [recorded(a) for a in run]
    return CutResult(output, commands, first, last_end, ext.lstrip("."), start)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1024 * 1024), b""):
            digest.update(block)
    return digest.hexdigest()


TEMP_PREFIX = "footage-clip-"
# A working copy untouched this long belongs to no running job (a job writes into its folder as it goes).
TEMP_GRACE = timedelta(hours=2)
# footage-clip-<pid>-<start ticks>-<random>: the job that owns the folder, as the kernel knows it.
_OWNED = re.compile(re.escape(TEMP_PREFIX) + r"(\d+)-(\d+)-")


def _workdir_prefix() -> str:
    """The working folder's name prefix: it names this process (pid and start time, as pids are reused), so a
    sweep knows at once a folder whose job is dead."""
    pid = os.getpid()
    return f"{TEMP_PREFIX}{pid}-{embedded.process_start_ticks(pid) or 0}-"


def _owner_dead(folder: Path) -> bool:
    owned = _OWNED.match(folder.name)
    if owned is None:
        return False  # a folder of an older name: only the grace period tells
    pid, ticks = int(owned.group(1)), int(owned.group(2))
    return not embedded.process_alive(pid, ticks or None)


def sweep_temporary_copies(root: Path | None = None, grace: timedelta = TEMP_GRACE) -> list[Path]:
    """Remove the working folders (copies of evidence, remuxes, cut pieces) that a killed clip job left behind:
    those whose job (named in the folder's name) is no longer running, and any in which nothing was written for
    `grace`. A job removes its own folder on every path it can end by; only a kill leaves one."""
    base = Path(root or tempfile.gettempdir())
    cutoff = clock.now().timestamp() - grace.total_seconds()
    removed: list[Path] = []
    for folder in base.glob(TEMP_PREFIX + "*"):
        try:
            if folder.is_symlink() or not folder.is_dir():
                continue
            dead = _owner_dead(folder)
            newest = max([folder.stat().st_mtime, *(entry.stat().st_mtime for entry in folder.rglob("*"))])
        except OSError:
            continue  # removed meanwhile
        if dead or newest < cutoff:
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
    if removed:
        log.warning("removed %d working folder(s) of killed clip jobs: %s", len(removed), removed)
    return removed


def joinable(originals: list[Original]) -> str | None:
    """None when the files can be joined by ffmpeg's concat demuxer (same container kind and codec parameters);
    else what differs, in words."""

    def params(original: Original) -> tuple[Any, ...]:
        m = original.media
        rate = round(float(m.get("frame_rate") or 0), 2)
        return (
            cuts_directly(original),
            m.get("container"),
            m.get("video_codec"),
            m.get("width"),
            m.get("height"),
            rate,
            m.get("audio_codec"),
        )

    first = params(originals[0])
    names = ("container", "container", "video codec", "width", "height", "frame rate", "audio codec")
    for other in originals[1:]:
        differ = sorted({name for name, a, b in zip(names, first, params(other), strict=True) if a != b})
        if differ:
            return f"the files differ in {', '.join(differ)}"
    return None


def make_clip(factory: sessionmaker[Session], request_id: UUID) -> Clip | None:
    """Make the clip for a request whose footage arrived; idempotent (a retry finds the clip or its object).

    The request's export may be one file or several: the files are ordered on the true timeline and the window
    is cut from those that cover it, joined by ffmpeg's concat demuxer when their codec parameters match, else
    one clip per file (the request says so). Returns the (first) clip."""
    sweep_temporary_copies()
    actor = system_actor("clipper")
    with factory() as session:
        request = session.get(ExtractionRequest, request_id)
        if request is None:
            return None
        files = [f for f in segments.export_files(session, request_id) if not f.needs_conversion]
        if not files:
            return None
        window_start = request.approved_start or request.window_start
        window_end = request.approved_end or request.window_end
        timeline = segments.order(segments.span_of(f) for f in files)
        window = segments.cover(timeline, window_start, window_end)
        by_id = {f.id: f for f in files}
        covering = [by_id[p.span.original_id] for p in window.pieces]
        differ = joinable(covering) if len(covering) > 1 else None
        groups = [[p] for p in window.pieces] if differ else ([window.pieces] if window.pieces else [])
        existing = [
            session.scalar(
                select(Clip).where(
                    Clip.original_id == group[0].span.original_id,
                    Clip.requested_start == window_start,
                    Clip.requested_end == window_end,
                )
            )
            for group in groups
        ]
        if groups and all(existing):
            return existing[0]
        if request.status != RequestStatus.footage_received.value:
            return None
        lock = lock_period(session, request.case_id)
        session.expunge_all()
    if not groups:
        _mismatch(factory, request_id, timeline, actor)
        return None
    if differ:
        reason = f"{differ}: one clip per file, each cut by stream copy"
    elif len(covering) > 1:
        reason = f"clip cut by stream copy across {len(covering)} files, joined by the concat demuxer"
    else:
        reason = "clip cut by stream copy"
    clips: list[Clip] = []
    for index, (group, done) in enumerate(zip(groups, existing, strict=True)):
        if done is not None:
            clips.append(done)
            continue
        with tempfile.TemporaryDirectory(prefix=_workdir_prefix()) as tmp:  # removed on every path but a kill
            clips.append(
                _cut_group(
                    factory,
                    request_id,
                    [by_id[p.span.original_id] for p in group],
                    group,
                    Path(tmp),
                    window,
                    (window_start, window_end),
                    lock,
                    actor,
                    final=index == len(groups) - 1,
                    reason=reason,
                    part=(index + 1, len(groups)) if differ else None,
                )
            )
    return clips[0]


def _cut_group(
    factory: sessionmaker[Session],
    request_id: UUID,
    parents: list[Original],
    pieces: list[segments.Piece],
    workdir: Path,
    window: segments.WindowCut,
    requested: tuple[datetime, datetime],
    lock: Any,
    actor: Any,
    *,
    final: bool,
    reason: str,
    part: tuple[int, int] | None,
) -> Clip:
    """Cut the files' pieces (stream copy) into one clip, store, lock and record it. Across several files this is
    one ffmpeg pass (the concat demuxer with in and out points over the sources) whenever each later piece starts
    at its file's start; an overlap taken from the middle of a later file is cut piece by piece, then joined."""
    if len(parents) > 1 and all(p.offset_start_s <= segments.TOUCH_S for p in pieces[1:]):
        joined, spans = _cut_across(parents, pieces, workdir)
        return _store_and_record(
            factory, request_id, parents, joined, spans, window, requested, lock, actor,
            final=final, reason=reason, part=part,
        )  # fmt: skip
    results: list[CutResult] = []
    for index, (original, piece) in enumerate(zip(parents, pieces, strict=True)):
        piecedir = workdir / f"part{index}"
        piecedir.mkdir()
        source, label = _open_source(original, piecedir)
        plan = Plan(
            offset_start_s=piece.offset_start_s,
            offset_end_s=piece.offset_end_s,
            covered_start=piece.span.start,
            covered_end=piece.span.end,
            cut_start=piece.start,
            cut_end=piece.end,
            shortfall=window.shortfall,
        )
        results.append(cut(source, original, plan, piecedir, source_label=label))
    result = results[0] if len(results) == 1 else _join(results, workdir)
    spans = [
        (
            o.recording_start_true + timedelta(seconds=r.first_s),
            o.recording_start_true + timedelta(seconds=r.last_end_s),
        )
        for o, r in zip(parents, results, strict=True)
    ]
    return _store_and_record(
        factory, request_id, parents, result, spans, window, requested, lock, actor,
        final=final, reason=reason, part=part,
    )  # fmt: skip


def _store_and_record(
    factory: sessionmaker[Session],
    request_id: UUID,
    parents: list[Original],
    result: CutResult,
    spans: list[tuple[datetime, datetime]],
    window: segments.WindowCut,
    requested: tuple[datetime, datetime],
    lock: Any,
    actor: Any,
    *,
    final: bool,
    reason: str,
    part: tuple[int, int] | None,
) -> Clip:
    """Hash, store (once), lock and record the cut clip; `spans` are the true times each parent's part covers."""
    sha = _sha256(result.path)
    window_start, window_end = requested
    key = (
        f"clips/{request_id}/{parents[0].id}-{int(window_start.timestamp())}-{int(window_end.timestamp())}."
        f"{result.container}"
    )
    version_id = _store_once(key, result.path, sha)
    retain_until = lock.until()
    get_storage().lock(key, version_id, mode=lock.mode, until=retain_until)
    get_storage().set_legal_hold(key, version_id, True)
    actual_start, actual_end = spans[0][0], spans[-1][1]
    shortfall = dict(window.shortfall)
    if part is not None:
        shortfall |= {"part": part[0], "parts": part[1]}
    return _record(
        factory,
        request_id,
        parents,
        key,
        version_id,
        sha,
        result,
        window_start,
        window_end,
        actual_start,
        actual_end,
        shortfall,
        retain_until,
        actor,
        retention_mode=lock.mode,
        final=final,
        reason=reason,
        pieces=[
            {"original_id": str(o.id), "from": start.isoformat(), "to": end.isoformat()}
            for o, (start, end) in zip(parents, spans, strict=True)
        ],
    )


def _cut_across(
    parents: list[Original], pieces: list[segments.Piece], workdir: Path
) -> tuple[CutResult, list[tuple[datetime, datetime]]]:
    """One ffmpeg pass across the files: the concat demuxer reads each source (a presigned URL pinned to the
    version for MP4/Matroska, else a stream-copy remux of the downloaded file) from its in point to its out point,
    stream copy, into one clip. The first piece starts at the key frame at or before its in point (the demuxer
    passes those packets on); each later piece starts at its file's start. Timestamps are kept (`-copyts`) and
    offset by the first in point, so the cut's times are the first file's offsets (each later file begins where
    the one before ends: out point − in point), less that key frame's time, read from the first file's index
    beforehand, so the clip starts at 0 in the same pass (`cut_from_zero`). Returns the clip and the true time
    each parent's part covers (a join is the cut point between two files; the clip's first and last frame times
    are read back)."""
    commands: list[list[str]] = []
    lines: list[str] = []
    shown: list[str] = []
    inpoints: list[float] = []
    sources: list[Path | str] = []
    for index, (original, piece) in enumerate(zip(parents, pieces, strict=True)):
        piecedir = workdir / f"part{index}"
        piecedir.mkdir()
        source, label = _open_source(original, piecedir)
        if not cuts_directly(original):
            fmt, options = demuxer(original)
            remuxed = piecedir / "remuxed.mp4"
            args = ["-fflags", "+genpts", *media.input_args(fmt, options)]
            args += ["-i", str(source), "-map", "0", "-c", "copy", "-y", str(remuxed)]
            media.run_ffmpeg(args)
            commands.append(["ffmpeg", *(label if a == str(source) else a for a in args)])
            source, label = remuxed, f"{label} remuxed ({remuxed.name})"
        inpoint = piece.offset_start_s if index == 0 else 0.0
        inpoints.append(inpoint)
        sources.append(source)
        points = ([f"inpoint {inpoint:.3f}"] if inpoint > 0 else []) + [f"outpoint {piece.offset_end_s:.3f}"]
        lines += [f"file '{source}'", *points]
        shown += [f"file '{label}'", *points]
    listing = workdir / "pieces.txt"
    listing.write_text("".join(line + "\n" for line in lines))
    container = (
        DIRECT.get(str(parents[0].media.get("container") or ""), ".mkv") if cuts_directly(parents[0]) else ".mkv"
    )
    kept = workdir / f"cut{container}"
    output = workdir / f"clip{container}"
    args = ["-protocol_whitelist", "file,http,https,tcp,tls,crypto", "-f", "concat", "-safe", "0"]
    args += ["-i", str(listing), "-map", "0", "-c", "copy", "-copyts"]
    # the first file is read from the key frame at or before its in point (from its start when it has none)
    inpoint = float(f"{inpoints[0]:.3f}")  # as the listing gives it
    key = media.cut_key_frame(sources[0], inpoint, concat_inpoint=inpoints[0] > 0)
    run, first, last_end, start_pts = cut_from_zero(args, kept, output, key, ts_offset=inpoint)
    commands.append(["printf", "'%s\\n'", *(f'"{line}"' for line in shown), ">", listing.name])
    commands += [["ffmpeg", *(listing.name if a == str(listing) else a for a in made)] for made in run]
    # where each file's part begins on the clip's time line
    begins, at = [], inpoints[0]
    for inpoint, piece in zip(inpoints, pieces, strict=True):
        begins.append(at)
        at += piece.offset_end_s - inpoint
    spans: list[tuple[datetime, datetime]] = []
    for index, (original, piece) in enumerate(zip(parents, pieces, strict=True)):
        start = original.recording_start_true + timedelta(seconds=first if index == 0 else inpoints[index])
        if index == len(parents) - 1:
            end = original.recording_start_true + timedelta(seconds=inpoints[index] + last_end - begins[index])
        else:
            end = original.recording_start_true + timedelta(seconds=piece.offset_end_s)
        spans.append((start, end))
    return CutResult(output, commands, first, last_end, container.lstrip("."), start_pts), spans


def _join(results: list[CutResult], workdir: Path) -> CutResult:
    """Join the pieces (same codec parameters) by ffmpeg's concat demuxer, stream copy."""
    listing = workdir / "pieces.txt"
    listing.write_text("".join(f"file '{r.path.relative_to(workdir)}'\n" for r in results))
    kept = workdir / f"joined.{results[0].container}"
    output = workdir / f"clip.{results[0].container}"
    args = ["-f", "concat", "-safe", "0", "-i", str(listing), "-map", "0", "-c", "copy", "-y", str(kept)]
    media.run_ffmpeg(args)
    first, last_end = media.packet_span(kept)
    shift, start = zero_based(kept, output, first)
    commands = [c for r in results for c in r.commands] + [["ffmpeg", *args], ["ffmpeg", *shift]]
    return CutResult(output, commands, first, last_end, results[0].container, start)


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
    parents: list[Original],
    key: str,
    version_id: str,
    sha: str,
    result: CutResult,
    window_start: datetime,
    window_end: datetime,
    actual_start: datetime,
    actual_end: datetime,
    shortfall: dict[str, Any],
    retain_until: datetime,
    actor: Any,
    *,
    retention_mode: str,
    final: bool = True,
    reason: str = "clip cut by stream copy",
    pieces: list[dict[str, str]] | None = None,
) -> Clip:
    original = parents[0]
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
            first_pts_s=result.start_pts_s,
            clock_offset_s=original.clock_offset_s,
            clock_offset_source=original.clock_offset_source,
            clock_check_id=original.clock_check_id,
            shortfall=shortfall,
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
        for position, parent in enumerate(parents):
            session.add(ClipParent(clip_id=clip.id, original_id=parent.id, position=position, sha256=parent.sha256))
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
                "parents": [{"original_id": str(p.id), "sha256": p.sha256} for p in parents],
                **({"pieces": pieces} if pieces and len(pieces) > 1 else {}),
                "tool": "ffmpeg",
                "tool_version": clip.tool_version,
                "command": clip.command,
                "requested": [window_start.isoformat(), window_end.isoformat()],
                "actual": [actual_start.isoformat(), actual_end.isoformat()],
                "clock_offset_s": original.clock_offset_s,
                "clock_offset_source": original.clock_offset_source,
                "shortfall": shortfall,
                "retain_until": retain_until.isoformat(),
                "legal_hold": True,
                "row": row_state("clips", clip),
            },
        )
        queue_previews(session, clip.id)  # the poster and the keyframe strip, once the clip is committed
        if final and request.status == RequestStatus.footage_received.value:
            extractions.move(
                session,
                request,
                RequestStatus.clip_ready,
                actor,
                reason,
                details={"clip_id": str(clip.id)},
            )
        session.flush()
        session.refresh(clip)  # its parents, for the caller
        return clip


def _mismatch(factory: sessionmaker[Session], request_id: UUID, timeline: segments.Timeline, actor: Any) -> None:
    covered = [[span.start.isoformat(), span.end.isoformat()] for span in timeline.files]
    with factory() as session, session.begin():
        request = session.get(ExtractionRequest, request_id, with_for_update=True)
        if request is None or request.status != RequestStatus.footage_received.value:
            return
        first = timeline.files[0] if timeline.files else None
        extractions.move(
            session,
            request,
            RequestStatus.footage_mismatch,
            actor,
            "the footage does not cover the requested window",
            details={
                "original_id": str(first.original_id) if first else None,
                "original_ids": [str(span.original_id) for span in timeline.files],
                "covered": covered[0] if len(covered) == 1 else covered,
            },
        )
        if timeline.files:  # the owner is told what their files cover, against what was asked
            span = min(f.start for f in timeline.files), max(f.end for f in timeline.files)
            owner_view.notify_mismatch(session, request, actor, span)
