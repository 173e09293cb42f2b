"""Telling staff what happened to the requests they filed: a row to read in the app (with an unread count on every
page) and an email, both written in the transaction of the change they report.

This module knows no users or requests as objects (it sits below them): callers pass the recipient's id, unit,
address and language, and the facts of the event as plain values (`params`). The words are rendered when read,
in the reader's language, so one row reads right on a Vietnamese and on an English page.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import func, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from app.core import clock
from app.core.errors import NotFound
from app.notifications import service as outbox
from app.notifications.models import Channel
from app.notifications.staff_models import ONCE_PER_REQUEST, StaffAlertKind, StaffNotification
from app.notifications.wording import moment_text, window_text, zone_words

TEMPLATE = "staff_alert"
# params holding a moment (ISO 8601) or a window, shown in the camera's zone (params["timezone"]) when rendered
MOMENTS = ("overwrite_deadline", "link_expired_at")
WINDOWS = (("approved_start", "approved_end", "approved_window"), ("window_start", "window_end", "window"))


def words(kind: str, params: dict[str, Any], locale: str, link: str = "") -> dict[str, Any]:
    """The template's context: the stored facts with moments and windows written out in `locale`."""
    zone = str(params.get("timezone") or "Asia/Ho_Chi_Minh")
    named = zone_words(zone, locale)
    context: dict[str, Any] = {
        "kind": kind,
        "link": link,
        "case_number": "",
        "camera_label": "",
        "reason": "",
        **params,
    }
    for key in MOMENTS:
        value = params.get(key)
        context[key] = moment_text(datetime.fromisoformat(value), zone, named) if value else ""
    for start_key, end_key, name in WINDOWS:
        start, end = params.get(start_key), params.get(end_key)
        context[name] = (
            window_text(datetime.fromisoformat(start), datetime.fromisoformat(end), zone, named)
            if start and end
            else ""
        )
    return context


def text_of(notification: StaffNotification, locale: str) -> str:
    """The one line the app shows for a notification, in `locale` (the email's subject)."""
    return outbox.render(TEMPLATE, locale, words(notification.kind, notification.params, locale)).subject


def raise_alert(
    session: Session,
    *,
    user_id: UUID,
    unit_id: UUID | None,
    email: str | None,
    locale: str | None,
    kind: StaffAlertKind,
    request_id: UUID | None,
    case_id: UUID | None,
    params: dict[str, Any],
    link: str,
) -> StaffNotification | None:
    """Record one notification for a staff member and queue its email (plain + HTML, in their language,
    Vietnamese by default). Kinds raised by the periodic check are raised once per request and person: a second
    raise finds the first and returns None."""
    now = clock.now()
    row = {
        "user_id": user_id,
        "unit_id": unit_id,
        "kind": kind.value,
        "request_id": request_id,
        "case_id": case_id,
        "params": params,
        "created_at": now,
        "read_at": None,
    }
    statement = insert(StaffNotification).values(**row)
    if kind in ONCE_PER_REQUEST:
        statement = statement.on_conflict_do_nothing(
            index_elements=["user_id", "request_id", "kind"],
            # the index's own predicate as literal SQL: bound parameters here stop PostgreSQL from matching the
            # partial index once the statement runs as a prepared (generic) plan
            index_where=text("kind IN (" + ",".join(f"'{k.value}'" for k in ONCE_PER_REQUEST) + ")"),
        )
    new_id = session.scalar(statement.returning(StaffNotification.id))
    if new_id is None:
        return None
    notification = session.get(StaffNotification, new_id)
    assert notification is not None
    language = locale if locale in outbox.LOCALES else "vi"
    if email:
        outbox.enqueue(
            session,
            channel=Channel.email,
            recipient=email,
            template=TEMPLATE,
            context=words(kind.value, params, language, link),
            locale=language,
            subject_type="staff_notification",
            subject_id=notification.id,
        )
    return notification


def list_for(
    session: Session, user_id: UUID, *, unread_only: bool, limit: int, offset: int
) -> tuple[list[StaffNotification], int]:
    """A person's notifications, newest first (unread only, if asked), with the total."""
    condition = [StaffNotification.user_id == user_id]
    if unread_only:
        condition.append(StaffNotification.read_at.is_(None))
    total = session.scalar(select(func.count()).select_from(StaffNotification).where(*condition)) or 0
    items = session.scalars(
        select(StaffNotification)
        .where(*condition)
        .order_by(StaffNotification.created_at.desc(), StaffNotification.id)
        .limit(limit)
        .offset(offset)
    ).all()
    return list(items), total


def unread_count(session: Session, user_id: UUID) -> int:
    return (
        session.scalar(
            select(func.count())
            .select_from(StaffNotification)
            .where(StaffNotification.user_id == user_id, StaffNotification.read_at.is_(None))
        )
        or 0
    )


def mark_read(session: Session, user_id: UUID, notification_id: UUID) -> StaffNotification:
    """Mark one of the person's own notifications read (again: unchanged); anyone else's is not found."""
    notification = session.get(StaffNotification, notification_id)
    if notification is None or notification.user_id != user_id:
        raise NotFound(f"notification {notification_id} not found")
    if notification.read_at is None:
        notification.read_at = clock.now()
        session.flush()
    return notification


def mark_all_read(session: Session, user_id: UUID) -> int:
    """Mark every unread notification of the person read; how many were."""
    result = session.execute(
        update(StaffNotification)
        .where(StaffNotification.user_id == user_id, StaffNotification.read_at.is_(None))
        .values(read_at=clock.now())
    )
    return int(getattr(result, "rowcount", 0) or 0)


def mark_read_for_request(session: Session, user_id: UUID, request_id: UUID) -> int:
    """Mark the person's unread notifications about one request read (they opened its page); how many were."""
    result = session.execute(
        update(StaffNotification)
        .where(
            StaffNotification.user_id == user_id,
            StaffNotification.request_id == request_id,
            StaffNotification.read_at.is_(None),
        )
        .values(read_at=clock.now())
    )
    return int(getattr(result, "rowcount", 0) or 0)
