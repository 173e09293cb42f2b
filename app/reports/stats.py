"""The numbers a province's IT office and a unit's supervisor ask for, over a date range."""

from __future__ import annotations

import statistics
from collections import Counter
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from app.auth.permissions import Actor, may
from app.cases.models import Case
from app.core.errors import RuleViolation
from app.extractions.models import ExtractionRequest
from app.extractions.states import RequestStatus
from app.footage.models import Original
from app.registry.models import Camera
from app.reports import outcomes


def compute(
    session: Session,
    actor: Actor,
    start: datetime,
    end: datetime,
    unit_id: UUID | None,
    district: str | None = None,
) -> dict[str, Any]:
    """Requests filed in [start, end) and cases closed in it, by status, district and unit; and the outcomes
    (app.reports.outcomes) by district, unit and month, with the headline. `district` narrows both."""
    if end <= start:
        raise RuleViolation("to", "must be after from")
    if not may(actor, "stats.all_units"):
        if unit_id is not None and unit_id != actor.unit_id:
            raise RuleViolation("unit_id", "a supervisor sees only their own unit")
        unit_id = actor.unit_id
    request_filter = [ExtractionRequest.created_at >= start, ExtractionRequest.created_at < end]
    if unit_id is not None:
        request_filter.append(ExtractionRequest.unit_id == unit_id)
    if district is not None:
        request_filter.append(Camera.district == district)
    rows = session.execute(
        select(
            ExtractionRequest.status,
            ExtractionRequest.created_at,
            ExtractionRequest.responded_at,
            ExtractionRequest.unit_id,
            Camera.district,
        )
        .join(Camera, Camera.id == ExtractionRequest.camera_id)
        .where(*request_filter)
    ).all()
    by_status = Counter(r.status for r in rows)
    # the owner answered (a request cancelled later, as a closed case's are, still was answered)
    answered = [r for r in rows if r.responded_at is not None]
    approvals = [r for r in answered if r.status != RequestStatus.denied]  # approved, or approved and since moved on
    response_hours = [(r.responded_at - r.created_at).total_seconds() / 3600 for r in answered]
    extractions = (
        session.scalar(
            select(func.count(func.distinct(Original.request_id)))
            .join(ExtractionRequest, ExtractionRequest.id == Original.request_id)
            .join(Camera, Camera.id == ExtractionRequest.camera_id)
            .where(*request_filter)
        )
        or 0
    )
    case_filter = [Case.closed_at >= start, Case.closed_at < end]
    if unit_id is not None:
        case_filter.append(Case.unit_id == unit_id)
    if district is not None:
        case_filter.append(Case.district == district)
    closed = session.execute(
        select(Case.footage_contributed, *outcomes.close_results()).where(and_(*case_filter))
    ).all()
    districts: dict[str, Counter[str]] = {}
    units: dict[str, Counter[str]] = {}
    for r in rows:
        districts.setdefault(r.district or "unknown", Counter())[r.status] += 1
        units.setdefault(str(r.unit_id), Counter())[r.status] += 1
    counted = outcomes.outcomes(session, outcomes.Selection(start, end, unit_id, district))
    return {
        "from": start.isoformat(),
        "to": end.isoformat(),
        "unit_id": str(unit_id) if unit_id else None,
        "district": district,
        "headline": counted["headline"],
        "delivered": counted["totals"]["delivered"],
        "lost_to_overwrite": counted["totals"]["lost_to_overwrite"],
        "contributions_accepted": counted["totals"]["contributions_accepted"],
        "outcomes": counted,
        "requests": len(rows),
        "requests_by_status": dict(sorted(by_status.items())),
        "extractions": int(extractions),
        "median_owner_response_hours": round(statistics.median(response_hours), 2) if response_hours else None,
        "approval_rate": round(len(approvals) / len(answered), 3) if answered else None,
        "expired_before_answer": by_status.get(RequestStatus.expired, 0),
        "cases_closed": len(closed),
        # as the outcomes count it: the requests' close results where given, else the case's own close
        "cases_clarified_with_footage": sum(1 for c in closed if outcomes.clarified(c)),
        "by_district": {k: dict(sorted(v.items())) for k, v in sorted(districts.items())},
        "by_unit": {k: dict(sorted(v.items())) for k, v in sorted(units.items())},
    }


def as_csv(result: dict[str, Any]) -> bytes:
    """One row per district (and per unit) and status, for spreadsheets."""
    import csv
    import io

    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["from", "to", "grouping", "group", "status", "requests"])
    for grouping in ("by_district", "by_unit"):
        for group, statuses in result[grouping].items():
            for status, count in statuses.items():
                writer.writerow([result["from"], result["to"], grouping.removeprefix("by_"), group, status, count])
    return out.getvalue().encode("utf-8-sig")
