"""Signed webhooks, both ways: `X-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>`.

The timestamp is inside the signed bytes, so a receiver that refuses a `t` more than five minutes from its own
clock refuses a replayed message; :func:`verify_signature` is that check, used by the service for the bridge's
delivery reports (docs/bridge/README.md has the same check for a bridge, in a few lines of Python).
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from app.core import clock
from app.core.config import get_settings
from app.notifications.email import DeliveryError

SIGNATURE_HEADER = "X-Signature"
SCHEME = "v1"


def sign(secret: str, body: bytes, timestamp: int) -> str:
    """The hex HMAC-SHA256 of "<timestamp>.<body>" under `secret`."""
    return hmac.new(secret.encode("utf-8"), str(timestamp).encode("ascii") + b"." + body, hashlib.sha256).hexdigest()


def signature_header(secret: str, body: bytes, timestamp: int) -> str:
    return f"t={timestamp},{SCHEME}={sign(secret, body, timestamp)}"


@dataclass(frozen=True)
class SignatureCheck:
    ok: bool
    reason: str  # "ok" | "missing" | "malformed" | "stale" | "mismatch"
    timestamp: int | None = None


def verify_signature(
    secret: str, body: bytes, header: str | None, *, now: datetime | None = None, window_seconds: int | None = None
) -> SignatureCheck:
    """Whether `header` signs `body` under `secret` with a timestamp within the window of `now` (default: the
    clock and WEBHOOK_SIGNATURE_WINDOW_SECONDS). Any of several v1 values may match (a secret being rotated)."""
    if not header:
        return SignatureCheck(False, "missing")
    parts: dict[str, list[str]] = {}
    for item in header.split(","):
        key, sep, value = item.strip().partition("=")
        if not sep or not value:
            return SignatureCheck(False, "malformed")
        parts.setdefault(key, []).append(value.strip())
    stamps = parts.get("t", [])
    if len(stamps) != 1 or not stamps[0].isdigit() or len(stamps[0]) > 12 or not parts.get(SCHEME):
        return SignatureCheck(False, "malformed")
    timestamp = int(stamps[0])
    moment = (now or clock.now()).timestamp()
    window = window_seconds if window_seconds is not None else get_settings().webhook_signature_window_seconds
    if abs(moment - timestamp) > window:
        return SignatureCheck(False, "stale", timestamp)
    expected = sign(secret, body, timestamp)
    if any(hmac.compare_digest(value.lower(), expected) for value in parts[SCHEME]):
        return SignatureCheck(True, "ok", timestamp)
    return SignatureCheck(False, "mismatch", timestamp)


def send_webhook(url: str, body: str, *, notification_id: UUID | None = None) -> str:
    """POST `body` to `url`, signed now; return the status line. Raise DeliveryError unless the answer is 2xx."""
    settings = get_settings()
    if not settings.webhook_secret:
        raise DeliveryError("webhook_secret is not set; unsigned webhooks are never sent")
    raw = body.encode("utf-8")
    timestamp = int(clock.now().timestamp())
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        SIGNATURE_HEADER: signature_header(settings.webhook_secret, raw, timestamp),
    }
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
