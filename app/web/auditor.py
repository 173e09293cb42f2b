"""Auditor pages: the custody event browser, full verification with the signed checkpoint, and the custody
exports of a case. Readers see what the custody and case services let them see; nothing here widens it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Literal
from urllib.parse import urlencode
from uuid import UUID

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from app.auth.permissions import Actor, ensure_role, may
from app.cases import service as cases
from app.core.db import SessionDep
from app.core.http import content_disposition
from app.core.pagination import MAX_LIMIT
from app.custody import checkpoints
from app.reports import custody_view
from app.reports import service as reports
from app.reports.names import names_for_events, reason_words, translate
from app.web.forms import local_to_utc
from app.web.pages import WebActor, check_csrf, locale_of, render

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 50
MAX_SEQ = 2**63 - 1
ExportFormat = Literal["pdf", "csv", "json", "bundle"]


@dataclass
class EventFilters:
    """The browser's filters as typed (kept for the form) and as parsed (given to the custody listing)."""

    form: dict[str, str]
    case_id: UUID | None = None
    object_id: UUID | None = None
    since_seq: int | None = None
    at_from: datetime | None = None
    at_until: datetime | None = None
    limit: int = PAGE_SIZE
    offset: int = 0

    def query(self, offset: int) -> str:
        kept = {k: v for k, v in self.form.items() if v}
        return urlencode({**kept, "limit": self.limit, "offset": offset})


def _parse_filters(form: dict[str, str]) -> tuple[EventFilters, list[str]]:
    """Each malformed filter is named in an error and left out, so the rest of the page still works."""
    filters, errors = EventFilters(form=form), []

    def parsed(name: str, convert: Any) -> Any:
        value = form.get(name, "").strip()
        if not value:
            return None
        try:
            return convert(value)
        except ValueError:
            errors.append(name)
            return None

    filters.case_id = parsed("case_id", UUID)
    filters.object_id = parsed("object_id", UUID)
    filters.since_seq = parsed("since_seq", int)
    filters.at_from = parsed("from", local_to_utc)
    filters.at_until = parsed("until", local_to_utc)
    if filters.since_seq is not None and not 0 <= filters.since_seq <= MAX_SEQ:
        errors.append("since_seq")
        filters.since_seq = None
    limit, offset = parsed("limit", int), parsed("offset", int)
    filters.limit = limit if limit is not None and 1 <= limit <= MAX_LIMIT else PAGE_SIZE
    filters.offset = offset if offset is not None and 0 <= offset <= 2**31 - 1 else 0
    return filters, errors


def _with_words(session: Session, events: list[dict[str, Any]], locale: str) -> list[dict[str, Any]]:
    """Exported events carry their time as canonical text and name actors and objects by id; the page shows the
    time in a labelled zone and people, cameras and footage by name (the ids stay in a technical block)."""
    names = names_for_events(session, events)
    return [
        {
            **e,
            "at_time": datetime.fromisoformat(e["at"]),
            "actor_words": names.actor(str(e["actor"]), locale),
            "action_words": translate(locale, str(e["action"])),
            "object_words": names.object(e.get("object_type"), e.get("object_id"), locale),
            "reason_words": reason_words(e.get("reason"), locale),
            "case_words": names.case(_uuid(e.get("case_id")), locale) if e.get("case_id") else "",
        }
        for e in events
    ]


def _uuid(value: Any) -> UUID | None:
    try:
        return UUID(str(value))
    except ValueError:
        return None


@router.get("/audit/custody", response_class=HTMLResponse)
def custody_browser(
    request: Request,
    session: SessionDep,
    actor: WebActor,
    case_id: Annotated[str, Query(max_length=100)] = "",
    object_id: Annotated[str, Query(max_length=100)] = "",
    action: Annotated[str, Query(max_length=100)] = "",
    actor_label: Annotated[str, Query(alias="actor", max_length=200)] = "",
    since_seq: Annotated[str, Query(max_length=30)] = "",
    at_from: Annotated[str, Query(alias="from", max_length=40)] = "",
    at_until: Annotated[str, Query(alias="until", max_length=40)] = "",
    limit: Annotated[str, Query(max_length=10)] = "",
    offset: Annotated[str, Query(max_length=20)] = "",
) -> Response:
    ensure_role(actor, "custody.read")
    form = {
        "case_id": case_id,
        "object_id": object_id,
        "action": action,
        "actor": actor_label,
        "since_seq": since_seq,
        "from": at_from,
        "until": at_until,
        "limit": limit,
        "offset": offset,
    }
    filters, invalid = _parse_filters(form)
    events, total = custody_view.list_events(
        session,
        actor,
        case_id=filters.case_id,
        object_id=filters.object_id,
        since_seq=filters.since_seq,
        action=action.strip() or None,
        actor_label=actor_label.strip() or None,
        at_from=filters.at_from,
        at_until=filters.at_until,
        limit=filters.limit,
        offset=filters.offset,
    )
    context = {
        "events": _with_words(session, events, locale_of(request)),
        "total": total,
        "filters": filters,
        "invalid": invalid,
        "previous_query": filters.query(max(filters.offset - filters.limit, 0)) if filters.offset > 0 else None,
        "next_query": filters.query(filters.offset + filters.limit) if filters.offset + filters.limit < total else None,
        "may_verify": may(actor, "custody.verify"),
        **_checkpoint(session),
    }
    return render(request, "audit_custody.html", context, status=422 if invalid else 200)


@router.post("/audit/custody/verify", response_class=HTMLResponse)
def verify(request: Request, session: SessionDep, actor: WebActor, csrf_token: Annotated[str, Form()]) -> Response:
    check_csrf(request, csrf_token)
    result = custody_view.verify_and_record(session, actor, component="web")
    return render(request, "audit_verify.html", {"result": result, **_checkpoint(session)})


def _checkpoint(session: Session) -> dict[str, Any]:
    latest = checkpoints.current_checkpoint(session)
    return {"checkpoint": checkpoints.checkpoint_record(latest), "checkpoint_at": latest.issued_at}


@router.get("/audit/cases", response_class=HTMLResponse)
def case_list(
    request: Request,
    session: SessionDep,
    actor: WebActor,
    offset: Annotated[int, Query(ge=0, le=2**31 - 1)] = 0,
) -> Response:
    ensure_role(actor, "cases.read")
    items, total = cases.list_cases(session, actor, limit=PAGE_SIZE, offset=offset)
    context = {
        "cases": items,
        "total": total,
        "offset": offset,
        "previous_offset": max(offset - PAGE_SIZE, 0) if offset > 0 else None,
        "next_offset": offset + PAGE_SIZE if offset + PAGE_SIZE < total else None,
    }
    return render(request, "audit_cases.html", context)


@router.get("/audit/cases/{case_id}", response_class=HTMLResponse)
def case_page(request: Request, case_id: UUID, session: SessionDep, actor: WebActor) -> Response:
    ensure_role(actor, "cases.read")
    case = cases.get_case(session, actor, case_id)
    return render(
        request,
        "audit_case.html",
        {"case": case, "formats": ("pdf", "csv", "json", "bundle"), "may_export": _may_export(actor)},
    )


def _may_export(actor: Actor) -> bool:
    return may(actor, "reports.export")


@router.post("/audit/cases/{case_id}/export")
def export(
    request: Request,
    case_id: UUID,
    session: SessionDep,
    actor: WebActor,
    csrf_token: Annotated[str, Form()],
    format: Annotated[ExportFormat, Form()],  # noqa: A002 - the API's name for it
) -> Response:
    """The same export as the API's custody report (recorded as a custody event there), as an attachment."""
    check_csrf(request, csrf_token)
    content, media_type, filename = reports.export(session, actor, case_id, format)
    return Response(content, media_type=media_type, headers={"Content-Disposition": content_disposition(filename)})
