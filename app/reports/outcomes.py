"""Outcomes counted: what the programme's extractions and residents' contributions did for cases, by district,
by unit and by month, with the headline "N extractions → M cases clarified, X % of closed cases".

Definitions (each over [from, to)):
- requested: extraction requests filed; delivered: those whose footage arrived (at least one original received);
- approval rate: answered requests not denied / answered requests (cancelled ones left out);
- median owner response: hours from filing to the owner's answer, over answered requests;
- lost to overwrite: requests that expired unanswered at the recorder's overwrite deadline;
- cases closed, and of them clarified with footage (by the case's closing time): by the close results of its
  requests where the investigator gave any (a request closed "useful" clarifies; results all "not_useful" or
  "no_footage" do not, unless a resident's contribution was accepted into the case), else by the case's own
  close ("footage contributed");
- contributions accepted: residents' appeal submissions accepted into a case (by the time of acceptance).
A request counts in its camera's district (else its case's); a case and a contribution in the case's district.
Months are the province's local months (Asia/Ho_Chi_Minh).
"""

from __future__ import annotations

import statistics
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session

from app.appeals.models import Submission, SubmissionStatus
from app.auth.models import Unit
from app.cases.models import Case
from app.extractions.models import ExtractionRequest
from app.extractions.states import RequestStatus
from app.footage.models import Original
from app.registry.models import Camera

LOCAL = ZoneInfo("Asia/Ho_Chi_Minh")
UNKNOWN = "—"


@dataclass
class Figures:
    """One group's figures (a district, a unit, a month, or the whole selection)."""

    key: str
    label: str
    requested: int = 0
    delivered: int = 0
    answered: int = 0
    approved: int = 0
    lost_to_overwrite: int = 0
    cases_closed: int = 0
    cases_closed_with_footage: int = 0
    contributions_accepted: int = 0
    response_hours: list[float] = field(default_factory=list, repr=False)

    @property
    def approval_rate(self) -> float | None:
        return round(self.approved / self.answered, 3) if self.answered else None

    @property
    def median_owner_response_hours(self) -> float | None:
        return round(statistics.median(self.response_hours), 2) if self.response_hours else None

    @property
    def share_clarified(self) -> float | None:
        """Cases closed with footage that contributed, as a share of cases closed."""
        return round(self.cases_closed_with_footage / self.cases_closed, 3) if self.cases_closed else None

    def as_dict(self) -> dict[str, Any]:
        out = {k: v for k, v in asdict(self).items() if k not in ("response_hours", "answered", "approved")}
        return {
            **out,
            "approval_rate": self.approval_rate,
            "median_owner_response_hours": self.median_owner_response_hours,
            "share_clarified": self.share_clarified,
        }


@dataclass(frozen=True)
class Selection:
    start: datetime
    end: datetime
    unit_id: UUID | None = None
    district: str | None = None


def _month(value: datetime) -> str:
    return value.astimezone(LOCAL).strftime("%Y-%m")


class _Groups:
    def __init__(self, labels: dict[str, str] | None = None) -> None:
        self.rows: dict[str, Figures] = {}
        self.labels = labels or {}

    def __getitem__(self, key: str) -> Figures:
        if key not in self.rows:
            self.rows[key] = Figures(key=key, label=self.labels.get(key, key))
        return self.rows[key]

    def listed(self) -> list[dict[str, Any]]:
        return [self.rows[k].as_dict() for k in sorted(self.rows)]


def close_results() -> tuple[Any, Any, Any]:
    """Columns of a query over cases: whether any of its requests was closed with a result, whether one as
    "useful", and whether a resident's contribution was accepted into it (no request result speaks for that)."""
    judged = select(ExtractionRequest.id).where(
        ExtractionRequest.case_id == Case.id, ExtractionRequest.close_result.is_not(None)
    )
    useful = select(ExtractionRequest.id).where(
        ExtractionRequest.case_id == Case.id, ExtractionRequest.close_result == "useful"
    )
    contributed = select(Submission.id).where(
        Submission.case_id == Case.id, Submission.status == SubmissionStatus.accepted
    )
    return exists(judged).label("judged"), exists(useful).label("useful"), exists(contributed).label("contributed")


def clarified(case: Any) -> bool:
    """Whether a closed case counts as clarified with footage: a request of it closed "useful"; else, when its
    requests were closed with results (all "not_useful" or "no_footage"), only if a resident's accepted
    contribution is what the case's close credits; else the case's own close ("footage contributed")."""
    if case.useful:
        return True
    if case.judged and not case.contributed:
        return False
    return bool(case.footage_contributed)


def outcomes(session: Session, selection: Selection) -> dict[str, Any]:
    """The figures of the selection in total, by district, by unit and by month."""
    units = {str(i): n for i, n in session.execute(select(Unit.id, Unit.name))}
    total = Figures(key="total", label="total")
    groups = {"district": _Groups(), "unit": _Groups(units), "month": _Groups()}

    def each(district: str | None, unit_id: UUID, when: datetime) -> list[Figures]:
        return [
            total,
            groups["district"][district or UNKNOWN],
            groups["unit"][str(unit_id)],
            groups["month"][_month(when)],
        ]

    district_of_request = func.coalesce(Camera.district, Case.district)
    requests = (
        select(
            ExtractionRequest.status,
            ExtractionRequest.created_at,
            ExtractionRequest.responded_at,
            ExtractionRequest.unit_id,
            district_of_request.label("district"),
            exists(select(Original.id).where(Original.request_id == ExtractionRequest.id)).label("delivered"),
        )
        .join(Camera, Camera.id == ExtractionRequest.camera_id)
        .join(Case, Case.id == ExtractionRequest.case_id)
        .where(ExtractionRequest.created_at >= selection.start, ExtractionRequest.created_at < selection.end)
    )
    if selection.unit_id is not None:
        requests = requests.where(ExtractionRequest.unit_id == selection.unit_id)
    if selection.district is not None:
        requests = requests.where(district_of_request == selection.district)
    for r in session.execute(requests):
        answered = r.responded_at is not None and r.status != RequestStatus.cancelled
        for figures in each(r.district, r.unit_id, r.created_at):
            figures.requested += 1
            figures.delivered += int(bool(r.delivered))
            figures.lost_to_overwrite += int(r.status == RequestStatus.expired)
            if answered:
                figures.answered += 1
                figures.approved += int(r.status != RequestStatus.denied)
                figures.response_hours.append((r.responded_at - r.created_at).total_seconds() / 3600)

    cases = select(Case.closed_at, Case.unit_id, Case.district, Case.footage_contributed, *close_results()).where(
        Case.closed_at >= selection.start, Case.closed_at < selection.end
    )
    contributions = (
        select(Submission.decided_at, Case.unit_id, Case.district)
        .join(Case, Case.id == Submission.case_id)
        .where(
            Submission.status == SubmissionStatus.accepted,
            Submission.decided_at >= selection.start,
            Submission.decided_at < selection.end,
        )
    )
    if selection.unit_id is not None:
        cases = cases.where(Case.unit_id == selection.unit_id)
        contributions = contributions.where(Case.unit_id == selection.unit_id)
    if selection.district is not None:
        cases = cases.where(Case.district == selection.district)
        contributions = contributions.where(Case.district == selection.district)
    for c in session.execute(cases):
        for figures in each(c.district, c.unit_id, c.closed_at):
            figures.cases_closed += 1
            figures.cases_closed_with_footage += int(clarified(c))
    for s in session.execute(contributions):
        for figures in each(s.district, s.unit_id, s.decided_at):
            figures.contributions_accepted += 1

    return {
        "totals": total.as_dict(),
        "headline": {
            "extractions": total.delivered,
            "contributions_accepted": total.contributions_accepted,
            "cases_clarified": total.cases_closed_with_footage,
            "cases_closed": total.cases_closed,
            "share_of_closed": total.share_clarified,
        },
        "by": {name: g.listed() for name, g in groups.items()},
    }


COLUMNS = (
    "requested",
    "delivered",
    "approval_rate",
    "median_owner_response_hours",
    "lost_to_overwrite",
    "cases_closed",
    "cases_closed_with_footage",
    "share_clarified",
    "contributions_accepted",
)


def as_csv(result: dict[str, Any], start: datetime, end: datetime) -> bytes:
    """One row per group (district, unit, month) and the total, every figure a column, for spreadsheets."""
    import csv
    import io

    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["from", "to", "grouping", "group", *COLUMNS])
    rows = [("total", result["totals"])] + [(name, row) for name, rows in result["by"].items() for row in rows]
    for grouping, row in rows:
        writer.writerow(
            [
                start.isoformat(),
                end.isoformat(),
                grouping,
                row["label"],
                *("" if row[c] is None else row[c] for c in COLUMNS),
            ]
        )
    return out.getvalue().encode("utf-8-sig")
