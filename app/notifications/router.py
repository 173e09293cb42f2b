"""The bridge's inbound endpoint: delivery reports, authenticated by their signature (no user token)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Request

from app.core.db import SessionDep
from app.core.params import Schema
from app.notifications import delivery_reports
from app.notifications.delivery_reports import DeliveryReportsIn


class ReportResult(Schema):
    message_id: str
    status: str
    recorded: str


class DeliveryReportsOut(Schema):
    results: list[ReportResult]


router = APIRouter(prefix="/api/v1", tags=["notifications"])
SIGNATURE_WORDS = 't=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">'


async def _raw_body(request: Request) -> bytes:
    # The signature covers the exact bytes, so they are read as they came, before any JSON parsing.
    return await request.body()


@router.post(
    "/notifications/delivery-reports",
    response_model=DeliveryReportsOut,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": DeliveryReportsIn.model_json_schema()}},
        }
    },
    responses={401: {"description": "Missing, forged or stale X-Signature"}, 409: {"description": "A replay"}},
)
def delivery_reports_in(
    body: Annotated[bytes, Depends(_raw_body)],
    session: SessionDep,
    x_signature: Annotated[str | None, Header(description=SIGNATURE_WORDS)] = None,
) -> Any:
    """The bridge reports what became of messages (`delivered`, `read`, `failed`), signed like the webhooks."""
    delivery_reports.check_signature(body, x_signature)
    outcomes = delivery_reports.record(session, delivery_reports.parse(body))
    return {
        "results": [{"message_id": str(o.message_id), "status": o.status, "recorded": o.recorded} for o in outcomes]
    }
