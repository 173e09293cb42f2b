"""Exports in several files: which files form the export, their order on the true timeline, the gaps and overlaps
between them, which of them cover the requested window, and declaring the export whole.

A request collects files (POST .../originals) while it stays in an accepting state; `complete` moves it on
(footage received, or waiting for conversion when a file needs it) and queues the clip. The files of one export
are those that arrived after the request last opened to footage (approval, or a mismatch that asks for new
footage): each original records the request's latest transition when it arrived, so a frozen or moved clock
cannot blur the line. A single-file PUT is the same thing completed at once.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.auth.permissions import Actor
from app.core.db import UnitOfWork
from app.core.errors import Conflict
from app.extractions import service as extractions
from app.extractions.models import ExtractionRequest, RequestTransition
from app.extractions.states import RequestStatus
from app.footage.clip_queue import queue_clip
from app.footage.models import Original

S = RequestStatus
# The request takes files: approved (wholly or partly), or the footage did not cover the window.
ACCEPTING = frozenset({S.approved, S.partially_approved, S.footage_mismatch})
# The export was declared whole (or answered from) already: `complete` again changes nothing.
COMPLETED = frozenset({S.footage_received, S.needs_conversion, S.clip_ready, S.delivered, S.closed})
# Start and end times within this many seconds of each other meet: recorders round file boundaries.
TOUCH_S = 0.5


@dataclass(frozen=True)
class Span:
    """One file on the true timeline."""

    original_id: UUID
    sha256: str
    filename: str
    start: datetime
    end: datetime
    needs_conversion: bool = False

    @property
    def duration_s(self) -> float:
        return (self.end - self.start).total_seconds()


@dataclass(frozen=True)
class Junction:
    """Where one file ends and the next begins: a gap (positive seconds) or an overlap (negative)."""

    before: UUID
    after: UUID
    start: datetime
    end: datetime

    @property
    def seconds(self) -> float:
        return round(abs((self.end - self.start).total_seconds()), 3)

    def as_dict(self) -> dict[str, Any]:
        return {
            "before_original_id": str(self.before),
            "after_original_id": str(self.after),
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "seconds": self.seconds,
        }


@dataclass(frozen=True)
class Timeline:
    files: list[Span]
    gaps: list[Junction] = field(default_factory=list)
    overlaps: list[Junction] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "files": [
                {
                    "original_id": str(s.original_id),
                    "sha256": s.sha256,
                    "start": s.start.isoformat(),
                    "end": s.end.isoformat(),
                }
                for s in self.files
            ],
            "gaps": [g.as_dict() for g in self.gaps],
            "overlaps": [o.as_dict() for o in self.overlaps],
        }


def span_of(original: Original) -> Span:
    start = original.recording_start_true
    duration = float(original.media.get("duration_s") or 0)
    return Span(
        original.id,
        original.sha256,
        original.filename,
        start,
        start + timedelta(seconds=duration),
        original.needs_conversion,
    )


def order(spans: Iterable[Span]) -> Timeline:
    """The files in true-time order (start, then the longer first), with the gaps and overlaps between them.

    A gap is time no file covers between two files; an overlap is time a file shares with those before it."""
    files = sorted(spans, key=lambda s: (s.start, -s.duration_s, str(s.original_id)))
    gaps: list[Junction] = []
    overlaps: list[Junction] = []
    reach: Span | None = None  # the file that reaches furthest so far
    for span in files:
        if reach is not None:
            if (span.start - reach.end).total_seconds() > TOUCH_S:
                gaps.append(Junction(reach.original_id, span.original_id, reach.end, span.start))
            elif (reach.end - span.start).total_seconds() > TOUCH_S:
                overlaps.append(Junction(reach.original_id, span.original_id, span.start, min(reach.end, span.end)))
        if reach is None or span.end > reach.end:
            reach = span
    return Timeline(files, gaps, overlaps)


@dataclass(frozen=True)
class Piece:
    """The part of one file that goes into the clip, in true time."""

    span: Span
    start: datetime
    end: datetime

    @property
    def offset_start_s(self) -> float:
        return (self.start - self.span.start).total_seconds()

    @property
    def offset_end_s(self) -> float:
        return (self.end - self.span.start).total_seconds()


@dataclass(frozen=True)
class WindowCut:
    pieces: list[Piece]
    gaps: list[Junction]
    shortfall: dict[str, Any]


def cover(timeline: Timeline, window_start: datetime, window_end: datetime) -> WindowCut:
    """The files that cover the window and the part of each that goes into the clip: each moment from the one
    file that reaches it first on the timeline (an overlap is taken once), the window's uncovered time reported
    as the shortfall at its start, its end, and in gaps between files."""
    pieces: list[Piece] = []
    gaps: list[Junction] = []
    cursor = window_start
    last: Span | None = None
    for span in timeline.files:
        if span.needs_conversion:
            continue
        start, end = max(cursor, span.start), min(window_end, span.end)
        if end <= start:
            continue
        if last is not None and (start - cursor).total_seconds() > TOUCH_S:
            gaps.append(Junction(last.original_id, span.original_id, cursor, start))
        pieces.append(Piece(span, start, end))
        cursor, last = end, span
    covered = [(p.start, p.end) for p in pieces]
    shortfall: dict[str, Any] = {
        "start_s": round(max(0.0, (covered[0][0] - window_start).total_seconds()), 3) if covered else None,
        "end_s": round(max(0.0, (window_end - covered[-1][1]).total_seconds()), 3) if covered else None,
    }
    if len(timeline.files) > 1:
        shortfall["gaps_s"] = round(sum(g.seconds for g in gaps), 3)
        shortfall["gaps"] = [g.as_dict() for g in gaps]
    return WindowCut(pieces, gaps, shortfall)


# -- which files form the export ------------------------------------------------------------------------------
def latest_transition_id(session: Session, request_id: UUID) -> int | None:
    """The request's latest transition: stamped on each file as it arrives (Original.arrived_after_transition_id)."""
    return session.scalar(select(func.max(RequestTransition.id)).where(RequestTransition.request_id == request_id))


def _opened_id(session: Session, request_id: UUID) -> int | None:
    """The transition by which the request last opened to footage."""
    return session.scalar(
        select(func.max(RequestTransition.id)).where(
            RequestTransition.request_id == request_id,
            RequestTransition.to_status.in_([s.value for s in ACCEPTING]),
        )
    )


def export_files(session: Session, request_id: UUID) -> list[Original]:
    """The files of the request's current export, in arrival order: those that arrived since it last opened to
    footage (kept-for-conversion files and their converted copies included). A request whose files predate the
    stamp has its latest file as its export, as it always had."""
    opened = _opened_id(session, request_id)
    if opened is not None:
        files = list(
            session.scalars(
                select(Original)
                .where(Original.request_id == request_id, Original.arrived_after_transition_id >= opened)
                .order_by(Original.received_at, Original.id)
            )
        )
        if files:
            return files
    latest = session.scalars(
        select(Original).where(Original.request_id == request_id).order_by(Original.received_at.desc())
    ).first()
    return [latest] if latest is not None else []


def waiting_export(session: Session, request_id: UUID, status: str) -> list[Original]:
    """The files of an export in several that arrived but were not declared whole yet (`complete`), in arrival
    order: those received since the request opened to footage while it still accepts files; none otherwise."""
    if RequestStatus(status) not in ACCEPTING:
        return []
    opened = _opened_id(session, request_id)
    if opened is None:
        return []
    return list(
        session.scalars(
            select(Original)
            .where(Original.request_id == request_id, Original.arrived_after_transition_id >= opened)
            .order_by(Original.received_at, Original.id)
        )
    )


def export_timeline(session: Session, request_id: UUID) -> Timeline:
    """The current export's files that can be cut (a converted copy stands for the file it was converted from)."""
    files = [f for f in export_files(session, request_id) if not f.needs_conversion]
    return order(span_of(f) for f in files)


def timeline_of_detail(originals: Sequence[dict[str, Any]], opened: int | None) -> Timeline:
    """The same export as `export_timeline`, from a request detail's originals (already read) and the transition
    by which the request last opened to footage."""
    current = [
        o for o in originals if opened is not None and (o.get("arrived_after_transition_id") or -1) >= opened
    ] or originals[-1:]
    spans = []
    for o in current:
        if o["needs_conversion"]:
            continue
        start = o["recording_start_true"]
        duration = float((o.get("media") or {}).get("duration_s") or 0)
        spans.append(Span(o["id"], o["sha256"], o["filename"], start, start + timedelta(seconds=duration)))
    return order(spans)


# -- declaring the export whole -------------------------------------------------------------------------------
def complete(unit: UnitOfWork, actor: Actor, request_id: UUID) -> UUID:
    """Declare the export whole: the files received since the request opened to footage are its export, ordered
    on the true timeline; the request moves to footage_received (or needs_conversion when a file waits for its
    converted copy) with the files, gaps and overlaps on the record, and the clip is queued. Idempotent: a request
    already past this point is returned unchanged; one without any file is a 409."""
    with unit() as session:
        request = extractions.get_request(session, actor, request_id, for_update=True)
        status = RequestStatus(request.status)
        if status in COMPLETED:
            return request.id
        if status not in ACCEPTING:
            raise Conflict(
                f"the request is {request.status}; footage is accepted once it is approved",
                extra={"status": request.status},
            )
        opened = _opened_id(session, request.id)
        files = list(
            session.scalars(
                select(Original).where(
                    Original.request_id == request.id, Original.arrived_after_transition_id >= (opened or 0)
                )
            )
        )
        if not files:
            if status == S.footage_mismatch:
                return request.id  # completed before: its footage was found not to cover the window
            raise Conflict(
                "no file of the export has arrived yet; upload the files (POST .../originals) first",
                extra={"status": request.status},
            )
        timeline = order(span_of(f) for f in files)
        waiting = [f for f in files if f.needs_conversion]
        target = S.needs_conversion if waiting else S.footage_received
        reason = f"export complete: {len(files)} file{'s' if len(files) != 1 else ''}"
        if timeline.gaps:
            reason += f", {len(timeline.gaps)} gap(s) between them"
        if timeline.overlaps:
            reason += f", {len(timeline.overlaps)} overlap(s)"
        if waiting:
            reason += f"; {len(waiting)} kept for conversion"
        _move(session, request, target, actor, reason, timeline)
        queue = not waiting
    if queue:
        queue_clip(request_id)
    return request_id


def _move(
    session: Session,
    request: ExtractionRequest,
    target: RequestStatus,
    actor: Actor,
    reason: str,
    timeline: Timeline,
) -> None:
    extractions.move(
        session,
        request,
        target,
        actor,
        reason,
        details={"export": timeline.as_dict()},
    )
