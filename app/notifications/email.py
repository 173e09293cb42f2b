"""Sending one email over SMTP (stdlib smtplib), configured from settings.

Every email is multipart/alternative: the message's text as it was rendered and recorded (text/plain), and the
same words as simple HTML (text/html) in which each link stands alone in its own paragraph, as a link."""

from __future__ import annotations

import html
import re
import smtplib
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from uuid import UUID

from app.core import clock
from app.core.config import get_settings


class DeliveryError(Exception):
    """A send that did not go through; the message says why (kept in the attempts log)."""


LINK = re.compile(r"https?://\S+")


def html_body(text: str) -> str:
    """The plain text as HTML: paragraphs at blank lines, line breaks kept, every URL a link of its own."""
    paragraphs = []
    for block in re.split(r"\n\s*\n", text.strip()):
        lines = []
        for line in block.splitlines():
            words = html.escape(line.strip())
            lines.append(LINK.sub(lambda m: f'<a href="{m.group(0)}">{m.group(0)}</a>', words))
        paragraphs.append("<p>" + "<br>\n".join(lines) + "</p>")
    body = "\n".join(paragraphs)
    return (
        '<!doctype html>\n<html><head><meta charset="utf-8"></head>'
        f'<body style="font-family:sans-serif;line-height:1.5">\n{body}\n</body></html>\n'
    )


def send_email(recipient: str, subject: str, body: str, *, notification_id: UUID | None = None) -> str:
    """Send a UTF-8 email (plain text with its HTML alternative); return the server's reply. Raise DeliveryError
    on any failure."""
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
    message.add_alternative(html_body(body), subtype="html", charset="utf-8")
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
