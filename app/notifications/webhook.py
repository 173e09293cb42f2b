"""Signed webhooks: POST the JSON body with X-Signature-SHA256 = hex HMAC-SHA256(secret, raw body).

A receiver (a Zalo or SMS bridge) recomputes the HMAC over the exact bytes it received and compares it with
:func:`verify_signature`.
"""

from __future__ import annotations

import hashlib
import hmac
from uuid import UUID

from app.core.config import get_settings
from app.notifications.email import DeliveryError

SIGNATURE_HEADER = "X-Signature-SHA256"


def sign(secret: str, body: bytes) -> str:
    return hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def verify_signature(secret: str, body: bytes, header: str | None) -> bool:
    """True when `header` (hex, optionally prefixed "sha256=") is the HMAC-SHA256 of `body` under `secret`."""
    if not header:
        return False
    received = header.strip().removeprefix("sha256=").lower()
    return hmac.compare_digest(received, sign(secret, body))


def send_webhook(url: str, body: str, *, notification_id: UUID | None = None) -> str:
    """POST `body` to `url`, signed; return the status line. Raise DeliveryError unless the answer is 2xx."""
    settings = get_settings()
    if not settings.webhook_secret:
        raise DeliveryError("webhook_secret is not set; unsigned webhooks are never sent")
    raw = body.encode("utf-8")
    headers = {"Content-Type": "application/json; charset=utf-8", SIGNATURE_HEADER: sign(settings.webhook_secret, raw)}
    if notification_id is not None:
        headers["X-Notification-Id"] = str(notification_id)
    # Imported here: only workers deliver webhooks, and httpx (with its CLI's rich and pygments) would otherwise
    # sit in every API process's memory.
    import httpx

    try:
        response = httpx.post(url, content=raw, headers=headers, timeout=settings.webhook_timeout_seconds)
    except httpx.HTTPError as exc:
        raise DeliveryError(f"webhook {url}: {type(exc).__name__}: {exc}") from exc
    status = f"{response.status_code} {response.reason_phrase}"
    if not response.is_success:
        raise DeliveryError(f"webhook {url} answered {status}")
    return status
