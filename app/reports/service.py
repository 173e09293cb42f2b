"""The custody report of a case: the case, its requests, originals, clips (with their derivation) and every
custody event, in time order. Each export is itself a custody event, carrying the SHA-256 of what was sent."""

from __future__ import annotations

import csv
import io
from typing import Any
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.auth.permissions import Actor, ensure_role
from app.cases import service as cases
from app.core import clock
from app.custody.bundle_parts import exported_event
from app.custody.entry import ENTRY_FIELDS, format_time
from app.custody.models import CustodyEvent
from app.extractions.models import ExtractionRequest
from app.footage.models import Clip, Original
from app.reports.export import record_export

EVENT_COLUMNS = (*ENTRY_FIELDS, "leaf_hash")


def _iso(value: Any) -> Any:
    return value.isoformat() if hasattr(value, "isoformat") else value


def case_report(session: Session, actor: Actor, case_id: UUID) -> dict[str, Any]:
    """Everything an auditor needs about one case's evidence, as plain data."""
    ensure_role(actor, "reports.export")
    case = cases.get_case(session, actor, case_id)
    requests = list(
        session.scalars(
            select(ExtractionRequest).where(ExtractionRequest.case_id == case.id).order_by(ExtractionRequest.created_at)
        )
    )
    request_ids = [r.id for r in requests]
    originals = (
        list(
            session.scalars(select(Original).where(Original.request_id.in_(request_ids)).order_by(Original.received_at))
        )
        if request_ids
        else []
    )
    clips = (
        list(session.scalars(select(Clip).where(Clip.request_id.in_(request_ids)).order_by(Clip.created_at)))
        if request_ids
        else []
    )
    events = list(
        session.scalars(select(CustodyEvent).where(CustodyEvent.case_id == case.id).order_by(CustodyEvent.seq))
    )
    transition_seqs = {
        e.details["transition_id"]: e.seq
        for e in events
        if e.object_type == "request" and isinstance(e.details.get("transition_id"), int)
    }
    return {
        "generated_at": format_time(clock.now()),
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
            "incident_lat": case.incident_lat,
            "incident_lon": case.incident_lon,
            "unit_id": str(case.unit_id),
        },
        "requests": [
            {
                "id": str(r.id),
                "camera_id": str(r.camera_id),
                "owner_id": str(r.owner_id),
                "status": r.status,
                "window_start": _iso(r.window_start),
                "window_end": _iso(r.window_end),
                "approved_start": _iso(r.approved_start),
                "approved_end": _iso(r.approved_end),
                "purpose": r.purpose,
                "legal_basis": r.legal_basis,
                "overwrite_deadline": _iso(r.overwrite_deadline),
                "history": [
                    {
                        "at": _iso(t.at),
                        "actor": t.actor,
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
                "request_id": str(o.request_id),
                "filename": o.filename,
                "size": o.size,
                "sha256": o.sha256,
                "object_key": o.object_key,
                "version_id": o.version_id,
                "media": o.media,
                "recording_start_recorder": _iso(o.recording_start_recorder),
                "clock_offset_s": o.clock_offset_s,
                "uploaded_by": o.uploaded_by,
                "received_at": _iso(o.received_at),
                "retention_mode": o.retention_mode,
                "retain_until": _iso(o.retain_until),
            }
            for o in originals
        ],
        "clips": [
            {
                "id": str(c.id),
                "original_id": str(c.original_id),
                "parent_sha256": c.parent_sha256,
                "request_id": str(c.request_id),
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
        "events": [exported_event(e) for e in events],
    }


def events_csv(report: dict[str, Any]) -> bytes:
    import json

    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(EVENT_COLUMNS)
    for event in report["events"]:
        writer.writerow(
            [
                json.dumps(event[c], ensure_ascii=False, sort_keys=True) if isinstance(event[c], dict) else event[c]
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
