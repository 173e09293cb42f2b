from __future__ import annotations

import json
from datetime import timedelta
from typing import Any
from uuid import uuid4

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from app.core import clock
from app.core.config import get_settings, override_settings
from app.core.db import session_factory
from app.notifications import service
from app.notifications.models import DeliveryAttempt, Notification
from app.notifications.webhook import SIGNATURE_HEADER, sign, verify_signature
from tests.notifications.conftest import Inbox, WebhookReceiver, free_port

TOKEN = "tok-" + "x" * 40


def _context(**overrides: Any) -> dict[str, Any]:
    context: dict[str, Any] = {
        "case_number": "VV-2026-0314",
        "owner_name": "Nguyễn Thị Hương",
        "unit_name": "Công an phường Bến Nghé",
        "cameras": [
            {
                "label": "Camera cổng trước",
                "address": "12 Lê Lợi, Quận 1",
                "window_start": "14/03/2026 20:10",
                "window_end": "14/03/2026 20:40",
                "overwrite_deadline": "21/03/2026 20:10",
            },
            {
                "label": "Camera sân sau",
                "address": None,
                "window_start": "14/03/2026 20:10",
                "window_end": "14/03/2026 20:40",
                "overwrite_deadline": "17/03/2026 20:10",
            },
        ],
        "purpose": "Xác minh đối tượng cướp giật",
        "legal_basis": "Điều 88 Bộ luật Tố tụng hình sự",
        "link_url": f"http://127.0.0.1:8000/respond/{TOKEN}",
        "link_expires_at": "24/03/2026 08:59",
    }
    context.update(overrides)
    return context


def _enqueue(channel: str, recipient: str, locale: str | None = None, **context: Any) -> Notification:
    with session_factory()() as session, session.begin():
        return service.enqueue(
            session,
            channel=channel,
            recipient=recipient,
            template="request_filed",
            context=_context(**context),
            locale=locale,
            subject_type="extraction_request",
            subject_id=uuid4(),
            secrets=[TOKEN],
            phone="+84903123456" if channel == "webhook" else None,
            name="Nguyễn Thị Hương",
        )


def _row(notification_id: Any) -> tuple[Notification, list[DeliveryAttempt]]:
    with session_factory()() as session:
        row = session.get(Notification, notification_id)
        assert row is not None
        return row, service.attempts_of(session, notification_id)


@pytest.fixture(autouse=True)
def _only_ours(configured: str) -> None:
    # Earlier tests' leftovers must not be delivered (or counted) here.
    with session_factory()() as session, session.begin():
        session.execute(text("UPDATE notifications SET status = 'failed' WHERE status = 'pending'"))


def test_vietnamese_email_arrives_intact(smtp_inbox: Inbox, frozen_clock: clock.FrozenClock) -> None:
    queued = _enqueue("email", "huong@example.vn")
    report = service.deliver_due(session_factory())
    assert (report.sent, report.retried, report.failed) == (1, 0, 0)
    [message] = smtp_inbox.messages
    assert message["Subject"] == "Yêu cầu trích xuất dữ liệu camera – vụ việc VV-2026-0314"
    assert message["To"] == "huong@example.vn" and message["X-Notification-Id"] == str(queued.id)
    body = message.get_body(("plain",)).get_content()
    assert "Kính gửi Nguyễn Thị Hương" in body
    assert "Camera cổng trước (12 Lê Lợi, Quận 1)" in body and "- Camera sân sau:" in body
    assert f"/respond/{TOKEN}" in body and "hết hạn lúc 24/03/2026 08:59" in body

    row, attempts = _row(queued.id)
    assert row.status == "sent" and row.attempts == 1 and row.sent_at == frozen_clock.current
    assert [a.outcome for a in attempts] == ["sent"] and attempts[0].response and attempts[0].response.startswith("250")
    # The token left in the email; the outbox no longer holds it.
    assert TOKEN not in row.body and TOKEN not in json.dumps(row.payload) and row.secrets == []
    assert service.deliver_due(session_factory()).sent == 0  # nothing sent twice


def test_english_template(smtp_inbox: Inbox) -> None:
    _enqueue("email", "owner@example.org", locale="en", link_url=None)
    service.deliver_due(session_factory())
    [message] = smtp_inbox.messages
    assert message["Subject"] == "Camera footage extraction request – case VV-2026-0314"
    assert "Please sign in to answer the request." in message.get_body(("plain",)).get_content()


def test_nothing_is_queued_when_the_transaction_rolls_back(configured: str) -> None:
    recipient = f"{uuid4().hex}@example.org"
    with session_factory()() as session:
        service.enqueue(session, channel="email", recipient=recipient, template="request_filed", context=_context())
        session.rollback()
    with session_factory()() as session:
        assert session.scalar(select(Notification).where(Notification.recipient == recipient)) is None


def test_missing_template_variable_fails_at_enqueue(configured: str) -> None:
    with session_factory()() as session, pytest.raises(Exception, match="case_number"):
        context = _context()
        del context["case_number"]
        service.enqueue(session, channel="email", recipient="a@example.org", template="request_filed", context=context)


def test_signed_webhook_verifies_at_receiver(webhook_receiver: WebhookReceiver) -> None:
    previous = get_settings()
    override_settings(webhook_secret="bridge-shared-secret")
    try:
        queued = _enqueue("webhook", webhook_receiver.url)
        assert service.deliver_due(session_factory()).sent == 1
    finally:
        override_settings(**previous.model_dump())
    [hit] = webhook_receiver.received
    assert hit.path == "/hooks/zalo"
    header = hit.headers[SIGNATURE_HEADER.lower()]
    assert verify_signature("bridge-shared-secret", hit.body, header).ok
    assert not verify_signature("another-secret", hit.body, header).ok
    assert not verify_signature("bridge-shared-secret", hit.body + b" ", header).ok
    assert verify_signature("bridge-shared-secret", hit.body, None).reason == "missing"
    assert verify_signature("bridge-shared-secret", hit.body, "sha256=abc").reason == "malformed"
    stamp = int(clock.now().timestamp())
    assert verify_signature("k", b"{}", f"t={stamp},v1=" + sign("k", b"{}", stamp)).ok
    payload = json.loads(hit.body.decode("utf-8"))
    assert payload["message_id"] == str(queued.id) and payload["event"] == "request_filed"
    assert payload["locale"] == "vi" and payload["recipient"]["phone"] == "+84903123456"
    assert payload["subject"].startswith("Yêu cầu trích xuất") and TOKEN in payload["text"]
    assert payload["template"]["params"]["owner_name"] == "Nguyễn Thị Hương"


def test_webhook_without_secret_or_with_error_status_is_retried(webhook_receiver: WebhookReceiver) -> None:
    previous = get_settings()
    override_settings(webhook_secret=None)
    try:
        queued = _enqueue("webhook", webhook_receiver.url)
        assert service.deliver_due(session_factory()).retried == 1
        assert webhook_receiver.received == []  # never sent unsigned
        override_settings(webhook_secret="s")
        webhook_receiver.status = 503
        assert service.deliver_due(session_factory(), clock.now() + timedelta(hours=1)).retried == 1
    finally:
        override_settings(**previous.model_dump())
    row, attempts = _row(queued.id)
    assert row.status == "pending" and [a.outcome for a in attempts] == ["retry", "retry"]
    assert attempts[0].error and "webhook_secret" in attempts[0].error
    assert attempts[1].error and "503" in attempts[1].error


def _retry_until_failed(frozen_clock: clock.FrozenClock, queued: Notification) -> list[DeliveryAttempt]:
    settings = get_settings()
    assert service.deliver_due(session_factory()).retried == 1
    for attempt in range(2, settings.notification_max_attempts + 1):
        row, _ = _row(queued.id)
        delay = row.next_attempt_at - frozen_clock.current
        assert delay == service.backoff(attempt - 1)
        frozen_clock.advance(seconds=delay.total_seconds() - 1)
        assert service.deliver_due(session_factory()).retried + service.deliver_due(session_factory()).failed == 0
        frozen_clock.advance(seconds=1)
        report = service.deliver_due(session_factory())
        expected = (0, 1) if attempt == settings.notification_max_attempts else (1, 0)
        assert (report.retried, report.failed) == expected
    row, attempts = _row(queued.id)
    assert row.status == "failed" and row.attempts == settings.notification_max_attempts
    return attempts


def test_unreachable_smtp_is_retried_with_backoff_then_failed(configured: str, frozen_clock: clock.FrozenClock) -> None:
    previous = get_settings()
    override_settings(smtp_host="127.0.0.1", smtp_port=free_port(), notification_max_attempts=4)
    try:
        queued = _enqueue("email", "huong@example.vn")
        attempts = _retry_until_failed(frozen_clock, queued)
    finally:
        override_settings(**previous.model_dump())
    assert [a.outcome for a in attempts] == ["retry", "retry", "retry", "failed"]
    assert all(a.error and "Connection" in a.error for a in attempts)
    # Backoff doubles: 60 s, 120 s, 240 s between attempts.
    gaps = [(b.at - a.at).total_seconds() for a, b in zip(attempts, attempts[1:], strict=False)]
    assert gaps == [60, 120, 240]
    row, _ = _row(queued.id)
    # Nothing lost: the message is still there to resend by hand, only the token is scrubbed.
    assert row.subject.startswith("Yêu cầu trích xuất") and "Kính gửi" in row.body and TOKEN not in row.body
    assert row.last_error == attempts[-1].error


def test_smtp_451_is_retried_then_failed_and_then_delivers_nothing(
    smtp_inbox: Inbox, frozen_clock: clock.FrozenClock
) -> None:
    smtp_inbox.refuse = True
    previous = get_settings()
    override_settings(notification_max_attempts=3, notification_backoff_seconds=30)
    try:
        queued = _enqueue("email", "huong@example.vn")
        attempts = _retry_until_failed(frozen_clock, queued)
    finally:
        override_settings(**previous.model_dump())
    assert [a.outcome for a in attempts] == ["retry", "retry", "failed"]
    assert all(a.error and "451" in a.error for a in attempts)
    smtp_inbox.refuse = False
    frozen_clock.advance(days=30)
    assert service.deliver_due(session_factory()).sent == 0 and smtp_inbox.messages == []


def test_attempts_log_is_append_only(smtp_inbox: Inbox) -> None:
    _enqueue("email", "huong@example.vn")
    service.deliver_due(session_factory())
    with session_factory()() as session, pytest.raises(DBAPIError, match="append-only"):
        session.execute(text("UPDATE notification_attempts SET outcome = 'failed'"))
    with session_factory()() as session, pytest.raises(DBAPIError, match="append-only"):
        session.execute(text("DELETE FROM notification_attempts"))


@pytest.mark.parametrize(
    ("email", "webhook", "channels"),
    [
        ("owner@example.vn", "https://bridge.example.vn/hook", ["email", "webhook"]),
        ("owner@example.vn", None, ["email"]),
        (None, "https://bridge.example.vn/hook", ["webhook"]),
        (None, None, []),
    ],
)
def test_a_person_is_reached_by_email_and_the_deployment_webhook(
    configured: str, email: str | None, webhook: str | None, channels: list[str]
) -> None:
    # the bridge reaches a person by phone: without one, no webhook message is queued
    previous = get_settings()
    override_settings(notification_webhook_url=webhook)
    try:
        assert service.recipients(email, None) == ([("email", email)] if email else [])
    finally:
        override_settings(**previous.model_dump())
    previous = get_settings()
    override_settings(notification_webhook_url=webhook)
    try:
        with session_factory()() as session, session.begin():
            queued = service.notify(
                session,
                email=email,
                template="request_filed",
                context=_context(),
                locale="en",
                subject_type="owner",
                subject_id=uuid4(),
                secrets=[TOKEN],
                phone="+84903123456",
            )
            assert [(n.channel, n.recipient) for n in queued] == [
                (channel, email if channel == "email" else webhook) for channel in channels
            ]
            # the token is kept sealed, never in clear
            assert all(len(n.secrets) == 1 and TOKEN not in n.secrets[0] and n.locale == "en" for n in queued)
            assert all(TOKEN not in n.body + json.dumps(n.payload) for n in queued)
            session.rollback()
    finally:
        override_settings(**previous.model_dump())


def test_a_waiting_message_holds_no_usable_link_token(
    smtp_inbox: Inbox, webhook_receiver: WebhookReceiver, frozen_clock: clock.FrozenClock
) -> None:
    """Someone who reads the outbox (a backup, a replica, SELECT on the table) finds no one-time token in a row
    that waits to be sent: text and data hold a placeholder, the token is kept only encrypted; the message
    sent carries it, and the row keeps nothing of it afterwards."""
    previous = get_settings()
    override_settings(webhook_secret="bridge-shared-secret")
    try:
        queued = [_enqueue("email", "huong@example.vn"), _enqueue("webhook", webhook_receiver.url)]
        with session_factory()() as session:
            stored = session.execute(
                text("SELECT body, payload::text, secrets::text FROM notifications WHERE id = ANY(:ids)"),
                {"ids": [n.id for n in queued]},
            ).all()
        assert len(stored) == 2
        for body, payload, sealed in stored:
            assert TOKEN not in body and TOKEN not in payload and TOKEN not in sealed
            assert "/respond/\u27e6secret:0\u27e7" in body
        assert service.deliver_due(session_factory()).sent == 2
        [message] = smtp_inbox.messages
        assert f"/respond/{TOKEN}" in message.get_body(("plain",)).get_content()
        [hit] = webhook_receiver.received
        sent = json.loads(hit.body.decode("utf-8"))
        assert f"/respond/{TOKEN}" in sent["text"] and sent["link"].endswith(f"/respond/{TOKEN}")
        assert sent["template"]["params"]["link"] == sent["link"]
        assert verify_signature("bridge-shared-secret", hit.body, hit.headers[SIGNATURE_HEADER.lower()]).ok
        for notification in queued:
            row, _ = _row(notification.id)
            assert row.secrets == [] and "secret:" not in row.body and service.REDACTED in row.body
    finally:
        override_settings(**previous.model_dump())
