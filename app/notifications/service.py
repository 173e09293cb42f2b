"""The notification outbox: messages are enqueued inside the caller's transaction and delivered later.

A row is written with the change it reports, so a message is never sent for a change that rolled back and
never lost for one that committed. :func:`deliver_due` sends what is due, one row per transaction, records
every attempt, and retries failures with exponential backoff until the last attempt marks the row failed.
Delivery is at least once: a crash between the send and the commit sends that message again.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any
from uuid import UUID

import jinja2
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from app.core import clock
from app.core.config import get_settings
from app.core.service_secret import derived_key
from app.notifications import bridge
from app.notifications.email import DeliveryError, send_email
from app.notifications.models import Channel, DeliveryAttempt, Notification, OutboxStatus
from app.notifications.webhook import send_webhook

if TYPE_CHECKING:
    from cryptography.fernet import Fernet

log = logging.getLogger(__name__)

TEMPLATES = Path(__file__).parent / "templates"
LOCALES = ("vi", "en")
REDACTED = "[redacted]"
DELIVERY_TASK = "notifications.deliver_due"  # the delivery run, by the name it is queued under


@cache
def _environment() -> jinja2.Environment:
    # Plain-text messages: no HTML escaping; a missing variable is an error at enqueue time, not a blank.
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=False,
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )


@dataclass(frozen=True)
class RenderedMessage:
    subject: str
    text: str


def render(template: str, locale: str, context: dict[str, Any]) -> RenderedMessage:
    """Render `template` in `locale` (one Jinja2 file per locale, with `subject` and `body` blocks)."""
    if locale not in LOCALES:
        raise ValueError(f"locale must be one of {LOCALES}, not {locale!r}")
    compiled = _environment().get_template(f"{template}.{locale}.txt")
    ctx = compiled.new_context(dict(context))
    subject = "".join(compiled.blocks["subject"](ctx)).strip()
    text = "".join(compiled.blocks["body"](ctx)).strip() + "\n"
    return RenderedMessage(subject=" ".join(subject.split()), text=text)


def _json_default(value: object) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, UUID):
        return str(value)
    raise TypeError(f"notification context cannot hold {type(value).__name__}")


def enqueue(
    session: Session,
    *,
    channel: Channel | str,
    recipient: str,
    template: str,
    context: dict[str, Any],
    locale: str | None = None,
    subject_type: str | None = None,
    subject_id: UUID | None = None,
    secrets: list[str] | None = None,
    phone: str | None = None,
    name: str | None = None,
    event: str | None = None,
) -> Notification:
    """Queue one message inside the caller's transaction; it is sent only if that transaction commits.

    A webhook message is the Zalo/SMS bridge's payload (app/notifications/bridge.py) for `phone` (E.164, required)
    and `event` (default: the template's name).

    `recipient` is an email address (email) or a URL (webhook). The message is rendered now, so what is sent
    is exactly what was recorded. `secrets` (e.g. a link token inside the text) are scrubbed from the row
    once it is sent or has failed for good.
    """
    channel = Channel(channel)
    locale = locale or get_settings().notification_default_locale
    payload: dict[str, Any] = json.loads(json.dumps(context, default=_json_default))
    message = render(template, locale, payload)
    now = clock.now()
    notification = Notification(
        channel=channel.value,
        recipient=recipient,
        template=template,
        locale=locale,
        subject=message.subject,
        payload=payload,
        secrets=list(secrets or []),
        subject_type=subject_type,
        subject_id=subject_id,
        status=OutboxStatus.pending,
        attempts=0,
        next_attempt_at=now,
        created_at=now,
        body="",
    )
    session.add(notification)
    session.flush()  # the id goes into the webhook body
    _deliver_after_commit(session, now)
    if channel is Channel.webhook:
        if not phone:
            raise ValueError("a bridge message needs the recipient's phone")
        notification.body = json.dumps(
            bridge.payload(
                message_id=notification.id,
                event=event or template,
                locale=locale,
                phone=phone,
                name=name,
                subject=message.subject,
                text=message.text,
                context=payload,
                created_at=now,
            ),
            ensure_ascii=False,
            separators=(",", ":"),
        )
    else:
        notification.body = message.text
    _seal(notification)
    return notification


# -- one-time link tokens in the outbox ------------------------------------------------------------------------
# A waiting row holds no usable token: each secret in the text and data is replaced by a placeholder and kept
# only encrypted (Fernet, key derived from the service's secret), so a copy of the database (a backup, a read
# replica, someone with SELECT) cannot answer for an owner. The text is put together again only to be sent.
_SEALED_KEY_LABEL = "notification-secrets"


def _placeholder(index: int) -> str:
    return f"\u27e6secret:{index}\u27e7"


@cache
def _fernet(key: bytes) -> Fernet:
    from cryptography.fernet import Fernet  # only messages carrying a one-time link need it

    return Fernet(key)


def _box() -> Fernet:
    return _fernet(derived_key(_SEALED_KEY_LABEL))


def _replaced(notification: Notification, replacements: list[tuple[str, str]]) -> None:
    body = notification.body
    payload_text = json.dumps(notification.payload, ensure_ascii=False)
    for old, new in replacements:
        if old:
            body = body.replace(old, new)
            payload_text = payload_text.replace(old, json.dumps(new, ensure_ascii=False)[1:-1])
    notification.body = body
    notification.payload = json.loads(payload_text)


def _seal(notification: Notification) -> None:
    secrets = [s for s in notification.secrets if s]
    if not secrets:
        return
    _replaced(notification, [(secret, _placeholder(i)) for i, secret in enumerate(secrets)])
    notification.secrets = [_box().encrypt(secret.encode()).decode() for secret in secrets]


def _opened(notification: Notification) -> str:
    """The body as it is sent: placeholders filled with the decrypted secrets (a row written before secrets were
    sealed holds them in clear, and its body needs nothing)."""
    from cryptography.fernet import InvalidToken

    body = notification.body
    for index, sealed in enumerate(notification.secrets):
        try:
            secret = _box().decrypt(sealed.encode()).decode()
        except InvalidToken:
            continue
        body = body.replace(_placeholder(index), secret)
    return body


def recipients(email: str | None, phone: str | None = None) -> list[tuple[Channel, str]]:
    """Where a message to a person goes: their email address when they have one, and the deployment's bridge
    webhook when one is set and the person has a phone it can reach (the payload carries the message whole)."""
    found = [(Channel.email, email)] if email else []
    webhook = get_settings().notification_webhook_url
    if webhook and phone:
        found.append((Channel.webhook, webhook))
    return found


def notify(
    session: Session,
    *,
    email: str | None,
    template: str,
    context: dict[str, Any],
    locale: str | None,
    subject_type: str,
    subject_id: UUID,
    secrets: list[str] | None = None,
    phone: str | None = None,
    name: str | None = None,
    event: str | None = None,
) -> list[Notification]:
    """Queue one message to a person on every channel that reaches them (:func:`recipients`), inside the
    caller's transaction; none when no channel does."""
    return [
        enqueue(
            session,
            channel=channel,
            recipient=recipient,
            template=template,
            context=context,
            locale=locale,
            subject_type=subject_type,
            subject_id=subject_id,
            secrets=secrets,
            phone=phone,
            name=name,
            event=event,
        )
        for channel, recipient in recipients(email, phone)
    ]


def _deliver_after_commit(session: Session, now: datetime) -> None:
    """A transaction that queued a message asks for a delivery run as it commits, so the message goes out within
    seconds instead of at the next minute's run. Only such transactions ask; one run sends all that is waiting
    (the queueing lock keeps a single run waiting), and the minute's run stays the fallback."""
    from app.core import queue  # loaded on first use: the API process needs no queue client until then

    queue.defer_after_commit(session, DELIVERY_TASK, queueing_lock=DELIVERY_TASK, timestamp=int(now.timestamp()))


def backoff(attempts: int) -> timedelta:
    """Delay after the `attempts`-th failure: base × 2^(attempts−1), capped."""
    settings = get_settings()
    seconds = settings.notification_backoff_seconds * 2 ** max(attempts - 1, 0)
    return timedelta(seconds=min(seconds, settings.notification_backoff_max_seconds))


def _send(notification: Notification) -> str:
    if notification.channel == Channel.email.value:
        return send_email(
            notification.recipient, notification.subject, _opened(notification), notification_id=notification.id
        )
    return send_webhook(notification.recipient, _opened(notification), notification_id=notification.id)


def _scrub(notification: Notification) -> None:
    if not notification.secrets:
        return
    # placeholders of sealed secrets, and secrets themselves in a row written before they were sealed
    replacements = [(_placeholder(i), REDACTED) for i in range(len(notification.secrets))]
    replacements += [(secret, REDACTED) for secret in notification.secrets]
    _replaced(notification, replacements)
    notification.secrets = []


@dataclass
class DeliveryReport:
    sent: int = 0
    retried: int = 0
    failed: int = 0


def deliver_one(session: Session, notification: Notification, now: datetime) -> str:
    """Try `notification` once, record the attempt, and move it to sent / pending (later) / failed."""
    notification.attempts += 1
    attempt = DeliveryAttempt(notification_id=notification.id, attempt=notification.attempts, at=now)
    try:
        attempt.response = _send(notification)
    except DeliveryError as exc:
        error = str(exc)[:2000]
        attempt.error = notification.last_error = error
        if notification.attempts >= get_settings().notification_max_attempts:
            attempt.outcome = notification.status = OutboxStatus.failed
            _scrub(notification)
            log.warning(
                "notification %s failed for good after %d attempts: %s", notification.id, notification.attempts, error
            )
        else:
            attempt.outcome = "retry"
            notification.next_attempt_at = now + backoff(notification.attempts)
            log.info(
                "notification %s attempt %d failed, retry at %s: %s",
                notification.id,
                notification.attempts,
                notification.next_attempt_at,
                error,
            )
    else:
        attempt.outcome = notification.status = OutboxStatus.sent
        notification.sent_at = now
        notification.last_error = None
        _scrub(notification)
    session.add(attempt)
    return attempt.outcome


def deliver_due(factory: sessionmaker[Session], now: datetime | None = None, *, limit: int = 100) -> DeliveryReport:
    """Send up to `limit` pending notifications whose next attempt is due at `now` (default: the clock).

    One transaction per message, the row locked with SKIP LOCKED, so several workers never send the same
    message twice at once and one slow recipient does not hold the others.
    """
    now = now or clock.now()
    report = DeliveryReport()
    for _ in range(limit):
        with factory() as session, session.begin():
            notification = session.scalar(
                select(Notification)
                .where(Notification.status == OutboxStatus.pending, Notification.next_attempt_at <= now)
                .order_by(Notification.next_attempt_at, Notification.created_at, Notification.id)
                .limit(1)
                .with_for_update(skip_locked=True)
            )
            if notification is None:
                break
            outcome = deliver_one(session, notification, now)
        if outcome == OutboxStatus.sent.value:
            report.sent += 1
        elif outcome == OutboxStatus.failed.value:
            report.failed += 1
        else:
            report.retried += 1
    return report


def attempts_of(session: Session, notification_id: UUID) -> list[DeliveryAttempt]:
    """The attempts log of one notification, oldest first."""
    return list(
        session.scalars(
            select(DeliveryAttempt)
            .where(DeliveryAttempt.notification_id == notification_id)
            .order_by(DeliveryAttempt.attempt, DeliveryAttempt.id)
        )
    )
