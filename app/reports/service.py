"""The custody report of a case: the case, its requests, originals (those of its requests and those residents
contributed through its appeals), clips (with their derivation) and every custody event, in time order. Each
export is itself a custody event, carrying the SHA-256 of what was sent."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from app.auth.models import Unit
from app.auth.permissions import Actor, ensure_role
from app.cases import service as cases
from app.core import clock
from app.custody.bundle_parts import exported_event
from app.custody.checkpoints import checkpoint_record, current_checkpoint
from app.custody.entry import ENTRY_FIELDS, format_time
from app.custody.models import CustodyEvent
from app.extractions.models import ExtractionRequest
from app.footage.models import Clip, Original
from app.footage.timeline_models import CaseMarker
from app.reports.export import record_export
from app.reports.names import (
    DEFAULT_ZONE,
    AppealSource,
    Names,
    appeal_sources,
    contributed_words,
    load_names,
    local_moment,
    names_for_events,
    translate,
)

# The log's own fields (what its leaves commit to), then the same event in words.
EVENT_COLUMNS = (*ENTRY_FIELDS, "leaf_hash", "at_local", "actor_name", "action_label", "object_name")
# A spreadsheet runs a cell starting with one of these as a formula (CSV injection): such cells get a "'".
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _iso(value: Any) -> Any:
    return value.isoformat() if hasattr(value, "isoformat") else value


def case_report(session: Session, actor: Actor, case_id: UUID, locale: str = "vi") -> dict[str, Any]:
    """Everything an auditor needs about one case's evidence, as plain data: ids as the log records them, and
    beside them names, local times and labels in `locale` (the PDF and CSV show those)."""
    ensure_role(actor, "reports.export")
    case = cases.get_case(session, actor, case_id)
    requests = list(
        session.scalars(
            select(ExtractionRequest).where(ExtractionRequest.case_id == case.id).order_by(ExtractionRequest.created_at)
        )
    )
    request_ids = [r.id for r in requests]
    # The requests' files, and the files residents contributed through the case's appeals (no request).
    originals = list(
        session.scalars(
            select(Original)
            .where(or_(Original.request_id.in_(request_ids), Original.case_id == case.id))
            .order_by(Original.received_at, Original.id)
        )
    )
    clips = list(
        session.scalars(
            select(Clip)
            .where(or_(Clip.request_id.in_(request_ids), Clip.case_id == case.id))
            .order_by(Clip.created_at, Clip.id)
        )
    )
    sources = appeal_sources(session, [o.appeal_submission_id for o in originals if o.appeal_submission_id])
    original_source = {o.id: sources.get(o.appeal_submission_id) for o in originals if o.appeal_submission_id}
    events = list(
        session.scalars(select(CustodyEvent).where(CustodyEvent.case_id == case.id).order_by(CustodyEvent.seq))
    )
    transition_seqs = {
        e.details["transition_id"]: e.seq
        for e in events
        if e.object_type == "request" and isinstance(e.details.get("transition_id"), int)
    }
    exported = [exported_event(e) for e in events]
    names = _names(session, case.lead_investigator_id, requests, originals, clips, exported)
    zone = names.zone_of(requests[0].camera_id) if requests else DEFAULT_ZONE
    request_camera = {r.id: r.camera_id for r in requests}
    checkpoint = checkpoint_record(current_checkpoint(session))
    clip_request = {c.id: c.request_id for c in clips}
    case_markers = list(
        session.scalars(select(CaseMarker).where(CaseMarker.case_id == case.id).order_by(CaseMarker.at, CaseMarker.id))
    )
    return {
        "generated_at": format_time(clock.now()),
        "timezone": zone,
        "locale": locale,
        "case": {
            "id": str(case.id),
            "number": case.number,
            "title": case.title,
            "offence": case.offence,
            "status": case.status,
            "outcome": case.outcome,
            "footage_contributed": case.footage_contributed,
            "incident_start": _iso(case.incident_start),
            "incident_end": _iso(case.incident_end),
            "incident_start_local": local_moment(case.incident_start, zone, locale),
            "incident_end_local": local_moment(case.incident_end, zone, locale),
            "incident_lat": case.incident_lat,
            "incident_lon": case.incident_lon,
            "unit_id": str(case.unit_id),
            "unit_name": session.scalar(select(Unit.name).where(Unit.id == case.unit_id)),
            "lead_investigator_id": str(case.lead_investigator_id),
            "lead_investigator_name": names.person(case.lead_investigator_id, locale),
        },
        "requests": [
            {
                "id": str(r.id),
                "camera_id": str(r.camera_id),
                "camera_name": names.camera(r.camera_id, locale),
                "camera_label": names.camera_label(r.camera_id, locale),
                "camera_address": names.cameras[r.camera_id].address if r.camera_id in names.cameras else None,
                "camera_timezone": r.camera_timezone,
                "owner_id": str(r.owner_id),
                "owner_name": names.cameras[r.camera_id].owner if r.camera_id in names.cameras else None,
                "status": r.status,
                "status_label": translate(locale, r.status),
                "window_start": _iso(r.window_start),
                "window_end": _iso(r.window_end),
                "window_start_local": local_moment(r.window_start, r.camera_timezone, locale),
                "window_end_local": local_moment(r.window_end, r.camera_timezone, locale),
                "approved_start": _iso(r.approved_start),
                "approved_end": _iso(r.approved_end),
                "purpose": r.purpose,
                "legal_basis": r.legal_basis,
                "overwrite_deadline": _iso(r.overwrite_deadline),
                "history": [
                    {
                        "at": _iso(t.at),
                        "at_local": local_moment(t.at, r.camera_timezone, locale),
                        "actor": t.actor,
                        "actor_name": names.actor(t.actor, locale),
                        "from": t.from_status,
                        "to": t.to_status,
                        "reason": t.reason,
                        "custody_seq": transition_seqs.get(t.id),
                    }
                    for t in r.history
                ],
            }
            for r in requests
        ],
        "originals": [
            {
                "id": str(o.id),
                "name": names.original(o.id, locale),
                **_origin(o.request_id, request_camera, names, original_source.get(o.id), locale),
                "filename": o.filename,
                "size": o.size,
                "sha256": o.sha256,
                "object_key": o.object_key,
                "version_id": o.version_id,
                "media": o.media,
                "recording_start_recorder": _iso(o.recording_start_recorder),
                "clock_offset_s": o.clock_offset_s,
                # the span the recording covers in true time (its clock offset taken out)
                "recorded_start": _iso(o.recording_start_true),
                "recorded_end": _iso(o.recording_start_true + timedelta(seconds=float(o.media.get("duration_s") or 0))),
                "uploaded_by": o.uploaded_by,
                "uploaded_by_name": names.actor(o.uploaded_by, locale),
                "received_at": _iso(o.received_at),
                "retention_mode": o.retention_mode,
                "retain_until": _iso(o.retain_until),
            }
            for o in originals
        ],
        "clips": [
            {
                "id": str(c.id),
                "name": names.clip(c.id, locale),
                "original_id": str(c.original_id),
                "parent_sha256": c.parent_sha256,
                **_origin(c.request_id, request_camera, names, original_source.get(c.original_id), locale),
                "sha256": c.sha256,
                "size": c.size,
                "version_id": c.version_id,
                "requested_start": _iso(c.requested_start),
                "requested_end": _iso(c.requested_end),
                "actual_start": _iso(c.actual_start),
                "actual_end": _iso(c.actual_end),
                "tool": c.tool,
                "tool_version": c.tool_version,
                "command": c.command,
            }
            for c in clips
        ],
        "events": [
            {
                **e,
                "at_local": local_moment(datetime.fromisoformat(e["at"]), zone, locale),
                "actor_name": names.actor(e["actor"], locale),
                "action_label": translate(locale, e["action"]),
                "object_name": names.object(e["object_type"], e["object_id"], locale),
            }
            for e in exported
        ],
        "markers": [
            {
                "id": str(m.id),
                "clip_id": str(m.clip_id),
                "camera_name": _marker_camera(m.clip_id, clip_request, request_camera, names, locale),
                "at": _iso(m.at),
                "at_local": local_moment(m.at, zone, locale),
                "note": m.note,
                "created_by": m.created_by,
                "created_by_name": names.actor(m.created_by, locale),
                "created_at": _iso(m.created_at),
            }
            for m in case_markers
        ],
        "checkpoint": checkpoint,
    }


def _marker_camera(
    clip_id: UUID, clip_request: dict[UUID, UUID | None], request_camera: dict[UUID, UUID], names: Names, locale: str
) -> str | None:
    request_id = clip_request.get(clip_id)
    return names.camera(request_camera[request_id], locale) if request_id in request_camera else None


def _origin(
    request_id: UUID | None,
    request_camera: dict[UUID, UUID],
    names: Names,
    source: AppealSource | None,
    locale: str,
) -> dict[str, Any]:
    """Where a file of the case came from: its request and camera, or the appeal a resident contributed it
    through (the appeal's title and the sender, or anonymous) — in `camera_name` too, where readers look."""
    if request_id is not None and request_id in request_camera:
        camera_id = request_camera[request_id]
        return {
            "request_id": str(request_id),
            "camera_id": str(camera_id),
            "camera_name": names.camera(camera_id, locale),
            "appeal": None,
        }
    words = contributed_words(source, locale) if source is not None else None
    return {
        "request_id": None,
        "camera_id": None,
        "camera_name": words,
        "appeal": {
            "title": source.title if source else None,
            "contributor": source.contributor if source else None,
            "anonymous": source is None or source.contributor is None,
            "words": words,
            "words_vi": contributed_words(source, "vi") if source else None,
            "words_en": contributed_words(source, "en") if source else None,
        },
    }


def _names(
    session: Session,
    lead_id: UUID,
    requests: list[ExtractionRequest],
    originals: list[Original],
    clips: list[Clip],
    events: list[dict[str, Any]],
) -> Names:
    """One batch of names for the whole report: the events' actors and objects, and the evidence's cameras."""
    names = names_for_events(session, events)
    extra = load_names(
        session,
        actors=[t.actor for r in requests for t in r.history] + [o.uploaded_by for o in originals],
        users=[lead_id],
        cameras=[r.camera_id for r in requests],
        requests=[r.id for r in requests],
        originals=[o.id for o in originals],
        clips=[c.id for c in clips],
    )
    for part in ("users", "links", "cameras", "requests", "originals", "clips", "cases"):
        getattr(names, part).update(getattr(extra, part))
    return names


def _cell(value: Any) -> Any:
    """A CSV cell a spreadsheet shows as text, never runs as a formula."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def events_csv(report: dict[str, Any]) -> bytes:
    import json

    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(EVENT_COLUMNS)
    for event in report["events"]:
        writer.writerow(
            [
                _cell(json.dumps(event[c], ensure_ascii=False, sort_keys=True))
                if isinstance(event[c], dict)
                else _cell(event[c])
                for c in EVENT_COLUMNS
            ]
        )
    return out.getvalue().encode("utf-8-sig")  # BOM: spreadsheet programs then read Vietnamese correctly


def export(session: Session, actor: Actor, case_id: UUID, fmt: str) -> tuple[bytes, str, str]:
    """(content, media type, file name) of a case's custody report in `fmt`; the export is logged."""
    import json

    from app.reports.pdf import render_pdf

    report = case_report(session, actor, case_id)
    number = report["case"]["number"]
    safe = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in number)
    if fmt == "json":
        content = json.dumps(report, ensure_ascii=False, indent=2).encode("utf-8")
        media_type, filename = "application/json", f"custody-report-{safe}.json"
    elif fmt == "csv":
        content, media_type, filename = events_csv(report), "text/csv; charset=utf-8", f"custody-events-{safe}.csv"
    elif fmt == "pdf":
        content, media_type, filename = render_pdf(report), "application/pdf", f"custody-report-{safe}.pdf"
    else:
        from app.reports.bundle import build_bundle

        # The bundle records its own export first, so its signed checkpoint covers that event too.
        return build_bundle(session, actor, case_id, report), "application/zip", f"custody-bundle-{safe}.zip"
    record_export(session, actor, case_id, fmt, content)
    return content, media_type, filename
