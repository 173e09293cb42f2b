"""Delivery reports from the Zalo/SMS bridge: what became of a message after the service handed it over.

The bridge POSTs them signed exactly as the service signs its webhooks (`X-Signature: t=<unix>,v1=<hmac>` over
"<t>.<body>"); a missing, forged or stale signature is refused before the body is read as JSON. Each report is one
row of the message's attempts log (`delivered`, `read` or `failed`, reported_by = "bridge", at the bridge's time);
the same report twice is recorded once, and a body that brings nothing new but reports already recorded (a replay
inside the signature's window) is refused.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Literal
from uuid import UUID

from pydantic import Field, ValidationError
from sqlalchemy import select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from app.core.config import get_settings
from app.core.errors import Conflict, DomainError, RuleViolation
from app.core.params import Schema, UtcDatetime
from app.notifications.models import Channel, DeliveryAttempt, Notification
from app.notifications.webhook import verify_signature

log = logging.getLogger(__name__)

BRIDGE = "bridge"


class SignatureRefused(DomainError):
    status, slug, title = 401, "signature-refused", "Signature refused"

    def __init__(self, detail: str) -> None:
        super().__init__(detail, headers={"WWW-Authenticate": 'Signature realm="bridge"'})


class DeliveryReportIn(Schema):
    message_id: UUID = Field(description="The `message_id` of the payload the report is about.")
    status: Literal["delivered", "read", "failed"]
    at: UtcDatetime = Field(description="When the bridge saw it happen (ISO 8601 with offset).")
    channel: str = Field("zalo", min_length=1, max_length=20, pattern=r"^[a-z0-9_-]+$", examples=["zalo", "sms"])
    error: str | None = Field(None, max_length=500, description="Why a `failed` message did not arrive.")


class DeliveryReportsIn(Schema):
    reports: list[DeliveryReportIn] = Field(min_length=1, max_length=100)


@dataclass(frozen=True)
class ReportOutcome:
    message_id: UUID
    status: str
    recorded: Literal["recorded", "duplicate", "unknown_message"]


_WORDS = {
    "missing": 'the report must be signed: X-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">',
    "malformed": 'X-Signature must read t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">',
    "stale": "the signature's time is more than the allowed window away from now; sign each report when sending",
    "mismatch": "the signature does not match the body",
}


def check_signature(body: bytes, header: str | None) -> None:
    """Refuse (401) a report not signed by the shared secret within the window; say which check failed."""
    secret = get_settings().webhook_secret
    if not secret:
        raise SignatureRefused("delivery reports are not accepted: the bridge's shared secret is not configured")
    check = verify_signature(secret, body, header)
    if not check.ok:
        log.warning("delivery report refused: signature %s", check.reason)
        raise SignatureRefused(_WORDS[check.reason])


def parse(body: bytes) -> DeliveryReportsIn:
    try:
        return DeliveryReportsIn.model_validate_json(body)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"]) or "body"
        raise RuleViolation(field, first["msg"]) from None
    except (ValueError, json.JSONDecodeError):
        raise RuleViolation("body", 'must be a JSON object {"reports": [...]}') from None


def record(session: Session, reports: DeliveryReportsIn) -> list[ReportOutcome]:
    """Record each report in its message's attempts log; refuse (409) a body that brings nothing new."""
    ids = {report.message_id for report in reports.reports}
    known = {
        n.id: n
        for n in session.scalars(
            select(Notification).where(Notification.id.in_(ids), Notification.channel == Channel.webhook.value)
        )
    }
    outcomes: list[ReportOutcome] = []
    for report in reports.reports:
        notification = known.get(report.message_id)
        if notification is None:
            outcomes.append(ReportOutcome(report.message_id, report.status, "unknown_message"))
            continue
        inserted = session.execute(
            insert(DeliveryAttempt)
            .values(
                notification_id=notification.id,
                attempt=max(notification.attempts, 1),
                at=report.at,
                outcome=report.status,
                error=report.error if report.status == "failed" else None,
                response=f"{BRIDGE} {report.channel}: {report.status}",
                reported_by=BRIDGE,
            )
            .on_conflict_do_nothing(
                index_elements=["notification_id", "outcome", "at"], index_where=text("reported_by IS NOT NULL")
            )
            .returning(DeliveryAttempt.id)
        ).scalar_one_or_none()
        outcomes.append(
            ReportOutcome(report.message_id, report.status, "recorded" if inserted is not None else "duplicate")
        )
    if not any(o.recorded == "recorded" for o in outcomes) and any(o.recorded == "duplicate" for o in outcomes):
        raise Conflict("every report in this body was already received (a replay)")
    return outcomes
