"""The request list: the requests an actor may see, filtered, soonest overwrite deadline first, with the total.

One statement per shape of the question (the actor's scope, which filters are set), built once in Core and run
on the read pool (app.core.reads) by the API; the pages run the same statement through their Session. The page
and the total come from one statement: the count joined to the page, so an offset past the end still answers
with the total.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import cache
from typing import Any
from uuid import UUID

from sqlalchemy import BindParameter, ColumnElement, Integer, Text, bindparam, func, select, true
from sqlalchemy.orm import Session

from app.auth.permissions import Actor, Reach, reach_condition, request_reach
from app.auth.schemas import Page
from app.core import reads
from app.extractions.models import ExtractionRequest, local_time
from app.extractions.schemas import RequestRead
from app.extractions.states import RequestStatus

R = ExtractionRequest

# The columns RequestRead shows; the two local times are derived from them (see `request_fields`).
DERIVED = ("window_start_local", "window_end_local")
COLUMNS = tuple(getattr(R, name) for name in RequestRead.model_fields if name not in DERIVED)
RequestPage = Page[RequestRead]


def request_fields(row: Mapping[Any, Any]) -> dict[str, Any]:
    """A request row as RequestRead takes it: the columns, and the window in the camera's local time."""
    return {
        **row,
        "window_start_local": local_time(row["window_start"], row["camera_timezone"]),
        "window_end_local": local_time(row["window_end"], row["camera_timezone"]),
    }


def scope_of(actor: Actor) -> tuple[Reach, UUID | None]:
    """Which requests the actor sees, as (reach, id): the rule of `permissions.can_see_request`."""
    return request_reach(actor)


# The column each reach names; the statement binds the id, so one statement serves every actor of a reach.
_REACH_COLUMN = {Reach.request: R.id, Reach.owner: R.owner_id, Reach.unit: R.unit_id}


def _scope_condition(reach: Reach) -> ColumnElement[bool]:
    scope_id: BindParameter[Any] = bindparam("scope_id")
    return reach_condition(reach, _REACH_COLUMN.get(reach), scope_id)


@cache
def _statement(scope: Reach, by_status: bool, by_case: bool, by_camera: bool) -> reads.Statement:
    conditions = [_scope_condition(scope)]
    if by_status:
        conditions.append(R.status == bindparam("status", type_=Text))
    if by_case:
        conditions.append(R.case_id == bindparam("case_id"))
    if by_camera:
        conditions.append(R.camera_id == bindparam("camera_id"))
    total = select(func.count().label("total")).select_from(R).where(*conditions).subquery("total")
    page = (
        select(*COLUMNS)
        .where(*conditions)
        .order_by(R.overwrite_deadline, R.id)
        .limit(bindparam("limit", type_=Integer))
        .offset(bindparam("offset", type_=Integer))
        .subquery("page")
    )
    return reads.prepare(
        select(total.c.total, *page.c)
        .select_from(total.outerjoin(page, true()))
        .order_by(page.c.overwrite_deadline, page.c.id)
    )


def _query(
    actor: Actor,
    limit: int,
    offset: int,
    status: RequestStatus | None,
    case_id: UUID | None,
    camera_id: UUID | None,
) -> tuple[reads.Statement, dict[str, Any]]:
    scope, scope_id = scope_of(actor)
    statement = _statement(scope, status is not None, case_id is not None, camera_id is not None)
    params: dict[str, Any] = {"limit": limit, "offset": offset}
    if scope_id is not None:
        params["scope_id"] = scope_id
    if status is not None:
        params["status"] = status.value
    if case_id is not None:
        params["case_id"] = case_id
    if camera_id is not None:
        params["camera_id"] = camera_id
    return statement, params


def _page(rows: Sequence[Mapping[Any, Any]]) -> Page[RequestRead]:
    # One row even for an empty page: the total, and NULLs where the page's columns would be.
    items = [request_fields(row) for row in rows if row["id"] is not None]
    return RequestPage.model_validate({"items": items, "total": rows[0]["total"] if rows else 0})


async def list_requests(
    actor: Actor,
    *,
    limit: int,
    offset: int,
    status: RequestStatus | None = None,
    case_id: UUID | None = None,
    camera_id: UUID | None = None,
) -> Page[RequestRead]:
    """Requests the actor may see, soonest overwrite deadline first, and how many there are (the read pool)."""
    statement, params = _query(actor, limit, offset, status, case_id, camera_id)
    return _page(await reads.fetch_all(statement, params))


def list_requests_in(
    session: Session,
    actor: Actor,
    *,
    limit: int,
    offset: int,
    status: RequestStatus | None = None,
    case_id: UUID | None = None,
    camera_id: UUID | None = None,
) -> tuple[list[RequestRead], int]:
    """The same list through a Session (the pages, which read more in the same transaction)."""
    statement, params = _query(actor, limit, offset, status, case_id, camera_id)
    page = _page(session.execute(statement.core, params).mappings().all())
    return page.items, page.total
