"""The statistics page: the headline for any period and area, charts drawn on the server, the figures as a table
and as CSV. Supervisors see their own unit; admins and auditors all units. The admins' districts page too."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Annotated, Any
from uuid import UUID
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from app.auth import service as auth
from app.auth.permissions import ensure_role, may
from app.core.db import SessionDep
from app.registry import districts
from app.registry.districts import DistrictCreate, DistrictUpdate
from app.reports import outcomes
from app.reports import stats as statistics
from app.web import charts
from app.web.forms import form_action
from app.web.messages import gettext
from app.web.pages import WebActor, check_csrf, locale_of, render

router = APIRouter(include_in_schema=False)
LOCAL = ZoneInfo("Asia/Ho_Chi_Minh")


def _period(start: str, end: str) -> tuple[date, date]:
    """The chosen days (local dates, `to` inclusive); by default the last twelve months to today."""
    today = datetime.now(LOCAL).date()
    try:
        first = date.fromisoformat(start) if start else today.replace(day=1) - timedelta(days=334)
        last = date.fromisoformat(end) if end else today
    except ValueError:
        first, last = today.replace(day=1) - timedelta(days=334), today
    if last < first:
        first, last = last, first
    return first.replace(day=1) if not start else first, last


def _figures(
    session: Any, actor: Any, first: date, last: date, unit_id: UUID | None, district: str | None
) -> tuple[dict[str, Any], datetime, datetime]:
    start = datetime.combine(first, time(), LOCAL)
    end = datetime.combine(last + timedelta(days=1), time(), LOCAL)
    return statistics.compute(session, actor, start, end, unit_id, district), start, end


@router.get("/stats", response_class=HTMLResponse)
def stats_page(
    request: Request,
    session: SessionDep,
    actor: WebActor,
    start: Annotated[str, Query(alias="from", max_length=10)] = "",
    end: Annotated[str, Query(alias="to", max_length=10)] = "",
    district: Annotated[str, Query(max_length=120)] = "",
    unit: Annotated[str, Query(max_length=36)] = "",
) -> Response:
    ensure_role(actor, "stats.read")
    locale = locale_of(request)
    first, last = _period(start, end)
    unit_id = _unit(unit) if may(actor, "stats.all_units") else None
    result, _, _ = _figures(session, actor, first, last, unit_id, district or None)
    counted = result["outcomes"]
    months = counted["by"]["month"]
    by_district = [
        r for r in counted["by"]["district"] if r["requested"] or r["cases_closed"] or r["contributions_accepted"]
    ]
    words = {k: gettext(locale, v) for k, v in LABELS.items()}
    context = {
        "result": result,
        "counted": counted,
        "first": first.isoformat(),
        "last": last.isoformat(),
        "district": district,
        "unit": unit,
        "districts": districts.list_districts(session),
        "units": auth.list_units(session, 500, 0)[0] if may(actor, "stats.all_units") else [],
        "columns": outcomes.COLUMNS,
        "month_chart": charts.columns(
            [m["label"] for m in months],
            [
                charts.Series(words["requested"], [m["requested"] for m in months]),
                charts.Series(words["delivered"], [m["delivered"] for m in months]),
            ],
            words["month_chart"],
        ),
        "district_chart": charts.bars(
            [d["label"] for d in by_district],
            [
                charts.Series(words["cases_closed"], [d["cases_closed"] for d in by_district]),
                charts.Series(
                    words["cases_closed_with_footage"], [d["cases_closed_with_footage"] for d in by_district]
                ),
            ],
            words["district_chart"],
        ),
        "query": request.url.query,
        "has_districts": bool(by_district),
    }
    return render(request, "stats.html", context)


def _unit(value: str) -> UUID | None:
    try:
        return UUID(value) if value else None
    except ValueError:
        return None


def N_(message: str) -> str:  # noqa: N802 - the conventional name of the no-op gettext marker
    return message


LABELS = {
    "requested": N_("Requested"),
    "delivered": N_("Footage delivered"),
    "cases_closed": N_("Cases closed"),
    "cases_closed_with_footage": N_("Closed with footage that contributed"),
    "month_chart": N_("Extractions requested and delivered, by month"),
    "district_chart": N_("Cases closed, and closed with footage that contributed, by district"),
}


@router.get("/stats.csv")
def stats_csv(
    request: Request,
    session: SessionDep,
    actor: WebActor,
    start: Annotated[str, Query(alias="from", max_length=10)] = "",
    end: Annotated[str, Query(alias="to", max_length=10)] = "",
    district: Annotated[str, Query(max_length=120)] = "",
    unit: Annotated[str, Query(max_length=36)] = "",
) -> Response:
    ensure_role(actor, "stats.read")
    first, last = _period(start, end)
    unit_id = _unit(unit) if may(actor, "stats.all_units") else None
    result, s, e = _figures(session, actor, first, last, unit_id, district or None)
    return Response(
        outcomes.as_csv(result["outcomes"], s, e),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="outcomes-{first}-{last}.csv"'},
    )


@router.get("/admin/districts", response_class=HTMLResponse)
def districts_page(request: Request, session: SessionDep, actor: WebActor) -> Response:
    ensure_role(actor, "districts.write")
    return render(request, "admin_districts.html", {"districts": districts.list_districts(session)})


@router.post("/admin/districts", response_class=HTMLResponse)
def district_create(
    request: Request,
    session: SessionDep,
    actor: WebActor,
    csrf_token: Annotated[str, Form()],
    code: Annotated[str, Form()],
    name: Annotated[str, Form()],
    kind: Annotated[str, Form()] = "district",
) -> Response:
    check_csrf(request, csrf_token)
    return form_action(
        session,
        lambda: districts.create_district(session, actor, DistrictCreate(code=code, name=name, kind=kind)),
        done=lambda _: RedirectResponse("/admin/districts", status_code=303),
        again=lambda error: render(
            request, "admin_districts.html", {"districts": districts.list_districts(session), "error": error}
        ),
        locale=locale_of(request),
    )


@router.post("/admin/districts/{code}", response_class=HTMLResponse)
def district_update(
    request: Request,
    code: str,
    session: SessionDep,
    actor: WebActor,
    csrf_token: Annotated[str, Form()],
    name: Annotated[str, Form()],
    active: Annotated[str, Form()] = "",
) -> Response:
    check_csrf(request, csrf_token)
    return form_action(
        session,
        lambda: districts.update_district(session, actor, code, DistrictUpdate(name=name, active=active == "on")),
        done=lambda _: RedirectResponse("/admin/districts", status_code=303),
        again=lambda error: render(
            request, "admin_districts.html", {"districts": districts.list_districts(session), "error": error}
        ),
        raised=(404,),
        locale=locale_of(request),
    )
