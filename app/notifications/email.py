"""Sending one email over SMTP (stdlib smtplib), configured from settings."""

from __future__ import annotations

import smtplib
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from uuid import UUID

from app.core import clock
from app.core.config import get_settings


class DeliveryError(Exception):
    """A send that did not go through; the message says why (kept in the attempts log)."""


def send_email(recipient: str, subject: str, body: str, *, notification_id: UUID | None = None) -> str:
    """Send a UTF-8 plain-text email; return the server's reply. Raise DeliveryError on any failure."""
    settings = get_settings()
    message = EmailMessage()
    message["From"] = settings.smtp_from
    message["To"] = recipient
    message["Subject"] = subject
    message["Date"] = format_datetime(clock.now())
    message["Message-ID"] = make_msgid(domain=settings.smtp_from.rpartition("@")[2] or None)
    if notification_id is not None:
        message["X-Notification-Id"] = str(notification_id)
    message.set_content(body, charset="utf-8")
    try:
        with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=settings.smtp_timeout_seconds) as smtp:
            if settings.smtp_starttls:
                smtp.starttls()
            if settings.smtp_user:
                smtp.login(settings.smtp_user, settings.smtp_password or "")
            refused = smtp.send_message(message)
            code, reply = smtp.noop()
    except (smtplib.SMTPException, OSError) as exc:
        raise DeliveryError(f"SMTP {settings.smtp_host}:{settings.smtp_port}: {type(exc).__name__}: {exc}") from exc
    if refused:
        raise DeliveryError(f"SMTP refused recipients: {refused}")
    return f"{code} {reply.decode('utf-8', 'replace')}"
