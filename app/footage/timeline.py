"""A case's timeline: every clip of the case on one true-time axis, one lane per camera, and the markers put on it.

True time is the recorders' clocks with each one's offset removed (clips are cut and dated in true time), so
the same instant lines up across cameras whose recorders disagree. Reading the timeline is a read of each clip's
record and is logged as such; adding a marker is logged on its clip.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.auth.permissions import Actor, ensure_may
from app.cases import service as cases
from app.core import clock
from app.core.errors import RuleViolation
from app.custody.service import append_event
from app.extractions.models import ExtractionRequest
from app.footage import viewing
from app.footage.models import Clip, Original
from app.footage.timeline_models import CaseMarker
from app.registry.models import Camera

TIMELINE_PURPOSE = "case timeline"


class MarkerIn(BaseModel):
    clip_id: UUID
    at: datetime = Field(description="The marked instant in true time (ISO 8601 with offset).")
    note: str = Field(min_length=1, max_length=2000)


class MarkerRead(BaseModel):
    id: UUID
    case_id: UUID
    clip_id: UUID
    at: datetime
    note: str
    created_by: str
    created_at: datetime


@dataclass(frozen=True)
class LaneClip:
    clip: Clip
    camera_id: UUID
    true_start: datetime
    true_end: datetime
    clock_offset_s: float
    frame_rate: float


@dataclass
class Lane:
    camera: Camera
    clips: list[LaneClip] = field(default_factory=list)


@dataclass(frozen=True)
class Timeline:
    case_id: UUID
    start: datetime | None
    end: datetime | None
    lanes: list[Lane]
    markers: list[CaseMarker]


def _clips_of_case(session: Session, case_id: UUID) -> list[tuple[Clip, ExtractionRequest, Original]]:
    rows = session.execute(
        select(Clip, ExtractionRequest, Original)
        .join(ExtractionRequest, ExtractionRequest.id == Clip.request_id)
        .join(Original, Original.id == Clip.original_id)
        .where(ExtractionRequest.case_id == case_id, Clip.deleted_at.is_(None))
        .order_by(Clip.actual_start, Clip.id)
    )
    return [(clip, request, original) for clip, request, original in rows.tuples()]


def markers(session: Session, actor: Actor, case_id: UUID) -> list[CaseMarker]:
    """The case's markers in true-time order."""
    case = cases.get_case(session, actor, case_id)
    ensure_may(actor, "timeline.read", case)
    return list(
        session.scalars(select(CaseMarker).where(CaseMarker.case_id == case.id).order_by(CaseMarker.at, CaseMarker.id))
    )


def case_timeline(
    session: Session, actor: Actor, case_id: UUID, *, component: str = "api", log_reads: bool = True
) -> Timeline:
    """The case's clips, one lane per camera, on the true-time axis, with its markers. Each clip listed is a read
    of its record (a custody event per clip; the page logs each clip's player opening instead)."""
    case = cases.get_case(session, actor, case_id)
    ensure_may(actor, "timeline.read", case)
    lanes: dict[UUID, Lane] = {}
    for clip, request, original in _clips_of_case(session, case.id):
        lane = lanes.get(request.camera_id)
        if lane is None:
            camera = session.get(Camera, request.camera_id)
            assert camera is not None
            lane = lanes[request.camera_id] = Lane(camera)
        lane.clips.append(
            LaneClip(
                clip=clip,
                camera_id=request.camera_id,
                true_start=clip.actual_start,
                true_end=clip.actual_end,
                clock_offset_s=clip.clock_offset_s,
                frame_rate=float(original.media.get("frame_rate") or 25),
            )
        )
        if log_reads:
            viewing.record_view(
                session,
                actor.label,
                "clip",
                clip,
                viewing.RECORD_READ,
                where=actor.where(component),
                purpose=TIMELINE_PURPOSE,
            )
    spans = [c for lane in lanes.values() for c in lane.clips]
    ordered = sorted(lanes.values(), key=lambda lane: (lane.clips[0].true_start, lane.camera.label))
    return Timeline(
        case_id=case.id,
        start=min((c.true_start for c in spans), default=None),
        end=max((c.true_end for c in spans), default=None),
        lanes=ordered,
        markers=markers(session, actor, case.id),
    )


def add_marker(session: Session, actor: Actor, case_id: UUID, body: MarkerIn) -> CaseMarker:
    """A note at a true instant on one of the case's clips; the instant must fall within the clip. Logged on the
    clip (its version and hash), in the case."""
    case = cases.get_case(session, actor, case_id)
    ensure_may(actor, "markers.write", case)
    clip = session.get(Clip, body.clip_id)
    request = session.get(ExtractionRequest, clip.request_id) if clip is not None else None
    if clip is None or request is None or request.case_id != case.id:
        raise RuleViolation("clip_id", "not a clip of this case")
    if body.at.tzinfo is None:
        raise RuleViolation("at", "give the time with its offset (e.g. +07:00 or Z)")
    if not clip.actual_start <= body.at <= clip.actual_end:
        raise RuleViolation("at", "outside the clip: choose an instant between the clip's first and last frame")
    marker = CaseMarker(
        case_id=case.id,
        clip_id=clip.id,
        at=body.at,
        note=body.note.strip() or body.note,
        created_by=actor.label,
        created_at=clock.now(),
    )
    session.add(marker)
    session.flush()
    append_event(
        session,
        actor=actor.label,
        action="marker.created",
        object_type="clip",
        object_id=clip.id,
        sha256=clip.sha256,
        version_id=clip.version_id,
        case_id=case.id,
        reason=marker.note,
        where=actor.where(),
        details={"marker_id": str(marker.id), "at": marker.at.isoformat()},
    )
    return marker


def timeline_fields(timeline: Timeline) -> dict[str, Any]:
    """The timeline as the API gives it: times in true time (UTC); the recorder's clock beside each clip."""
    return {
        "case_id": timeline.case_id,
        "start": timeline.start,
        "end": timeline.end,
        "lanes": [
            {
                "camera_id": lane.camera.id,
                "camera_label": lane.camera.label,
                "lat": lane.camera.lat,
                "lon": lane.camera.lon,
                "timezone": lane.camera.timezone,
                "clips": [
                    {
                        "clip_id": c.clip.id,
                        "request_id": c.clip.request_id,
                        "true_start": c.true_start,
                        "true_end": c.true_end,
                        "clock_offset_s": c.clock_offset_s,
                        "recorder_start": c.true_start + timedelta(seconds=c.clock_offset_s),
                        "frame_rate": c.frame_rate,
                        "sha256": c.clip.sha256,
                        "version_id": c.clip.version_id,
                    }
                    for c in lane.clips
                ],
            }
            for lane in timeline.lanes
        ],
        "markers": [MarkerRead.model_validate(m, from_attributes=True).model_dump() for m in timeline.markers],
    }
