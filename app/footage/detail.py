"""A request's detail: the request, its history (every transition), its originals and its clips, in one statement.

The one definition of what the detail contains. The API reads it on the read pool (app.core.reads), awaited on
the event loop, joined to the caller's user row so that the token check is no statement of its own; the owner's
link view and the pages run the detail statement through their Session. History, originals and clips come as
JSON arrays built by PostgreSQL (`json_agg` of correlated subqueries), each in the order the detail has always
shown: transitions by time then id, originals by arrival, clips by creation.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any, cast
from uuid import UUID

from anyio import to_thread
from sqlalchemy import ColumnElement, Select, bindparam, func, literal_column, select, true
from sqlalchemy.dialects.postgresql import JSON, aggregate_order_by
from sqlalchemy.orm import InstrumentedAttribute, Session

from app.auth.permissions import TOKEN_USER, Actor, Bearer, authorise, can_see_request, ensure_visible
from app.core import reads
from app.extractions.listing import COLUMNS as REQUEST_COLUMNS
from app.extractions.listing import request_fields
from app.extractions.models import ExtractionRequest, RequestTransition
from app.extractions.schemas import TransitionRead
from app.footage.models import CONVERSION_MESSAGE, Clip, Original
from app.footage.schemas import ClipRead, OriginalRead, RequestDetail

# Shown but not stored: the first frame in true time, derived as Original.recording_start_true derives it.
ORIGINAL_DERIVED = ("recording_start_true", "conversion_message")


def _json_list(
    fields: Mapping[str, InstrumentedAttribute[Any]],
    owner: InstrumentedAttribute[Any],
    order_by: tuple[InstrumentedAttribute[Any], ...],
) -> ColumnElement[Any]:
    """The request's rows of one table as a JSON array of objects with `fields`, in `order_by` ([] when none)."""
    pairs: list[Any] = []
    for name, column in fields.items():
        assert name.isidentifier()  # spelled into the SQL as a literal key
        pairs += [literal_column(f"'{name}'"), column]
    rows = func.json_agg(aggregate_order_by(func.json_build_object(*pairs), *order_by))
    return (
        select(func.coalesce(rows, literal_column("'[]'::json"), type_=JSON))
        .where(owner == ExtractionRequest.id)
        .scalar_subquery()
    )


def _columns(model: type[Any], schema: type[Any], derived: tuple[str, ...] = ()) -> dict[str, Any]:
    """The model's columns named by the schema's fields (every field but the derived ones must be a column)."""
    return {name: getattr(model, name) for name in schema.model_fields if name not in derived}


_HISTORY = _json_list(
    _columns(RequestTransition, TransitionRead),
    RequestTransition.request_id,
    (RequestTransition.at, RequestTransition.id),
)
_ORIGINALS = _json_list(
    _columns(Original, OriginalRead, ORIGINAL_DERIVED), Original.request_id, (Original.received_at, Original.id)
)
_CLIPS = _json_list(_columns(Clip, ClipRead), Clip.request_id, (Clip.created_at, Clip.id))

DETAIL = reads.prepare(
    select(
        *REQUEST_COLUMNS,
        _HISTORY.label("history"),
        _ORIGINALS.label("originals"),
        _CLIPS.label("clips"),
    ).where(ExtractionRequest.id == bindparam("request_id"))
)


def _original_fields(original: dict[str, Any]) -> dict[str, Any]:
    recorder_time = datetime.fromisoformat(original["recording_start_recorder"])
    return {
        **original,
        "recording_start_true": recorder_time - timedelta(seconds=original["clock_offset_s"]),
        "conversion_message": CONVERSION_MESSAGE if original["needs_conversion"] else None,
    }


def detail_from_row(row: Mapping[Any, Any] | None) -> RequestDetail | None:
    """The detail statement's row, validated once into RequestDetail (None for no row)."""
    if row is None:
        return None
    fields = request_fields(row)
    fields["originals"] = [_original_fields(original) for original in row["originals"]]
    return RequestDetail.model_validate(fields)


# The API's form: the caller's user row (the bearer-token check) joined to the detail, so the call is one
# statement in all; no row when the user is gone, NULL detail columns when the request is.
_USER = TOKEN_USER.subquery("actor")
_DETAIL = cast("Select[Any]", DETAIL.core).subquery("detail")
ACTOR_AND_DETAIL = reads.prepare(
    select(*(column.label(f"actor_{column.key}") for column in _USER.c), *_DETAIL.c).select_from(
        _USER.outerjoin(_DETAIL, true())
    )
)


def _user_columns(row: Mapping[Any, Any] | None) -> dict[str, Any] | None:
    """The TOKEN_USER part of an ACTOR_AND_DETAIL row, by its own column names."""
    if row is None:
        return None
    return {key.removeprefix("actor_"): value for key, value in row.items() if key.startswith("actor_")}


async def request_detail(token: Bearer, request_id: UUID) -> RequestDetail:
    """A request with its history, originals and clips for the bearer of `token`: 401/403 as for any call, then
    404 (and a logged denial, as for any request) unless the caller's scope covers it. One statement on the read
    pool: the token's user row and the detail together."""
    row = await reads.fetch_one(ACTOR_AND_DETAIL, {"user_id": token.user_id, "request_id": request_id})
    actor = await authorise(token, _user_columns(row), "requests.read")
    detail = detail_from_row(row) if row is not None and row["id"] is not None else None
    if detail is None or not can_see_request(actor, detail):
        # the denial is written in its own transaction, through a Session: off the event loop
        await to_thread.run_sync(ensure_visible, False, actor, "request", request_id)
    assert detail is not None
    return detail


def request_detail_in(session: Session, actor: Actor, request_id: UUID) -> RequestDetail:
    """The same detail and the same scope rule through a Session (the owner's link view, the pages)."""
    row = session.execute(DETAIL.core, {"request_id": request_id}).mappings().first()
    detail = detail_from_row(row)
    ensure_visible(detail is not None and can_see_request(actor, detail), actor, "request", request_id)
    assert detail is not None
    return detail
