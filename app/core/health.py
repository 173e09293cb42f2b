"""Readiness: each dependency the service needs, checked for real and named when it fails."""

from __future__ import annotations

import logging

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from sqlalchemy import text

from app.core import media, metrics, storage
from app.core.config import get_settings
from app.core.db import get_engine
from app.core.errors import RETRY_AFTER_S

log = logging.getLogger(__name__)


def check_database() -> str | None:
    try:
        with get_engine().connect() as conn:
            conn.execute(text("SET LOCAL statement_timeout = 2000"))
            conn.execute(text("SELECT 1"))
    except Exception as exc:  # noqa: BLE001 - readiness reports any failure by name
        return f"unreachable: {type(exc).__name__}"
    return None


def readiness() -> dict[str, str]:
    """{"database": "ok"|problem, "s3": ..., "ffmpeg": ...}."""
    checks = {
        "database": check_database(),
        "s3": storage.check_ready(get_settings()),
        "ffmpeg": media.check_ready(),
    }
    return {name: problem or "ok" for name, problem in checks.items()}


router = APIRouter(tags=["service"])


@router.get("/healthz")
def healthz() -> dict[str, str]:
    """200 while the process lives."""
    return {"status": "ok"}


@router.get("/readyz")
def readyz() -> JSONResponse:
    """200 only when PostgreSQL, the S3 bucket (with Object Lock) and ffmpeg all answer; else 503 naming them."""
    checks = readiness()
    failed = [name for name, state in checks.items() if state != "ok"]
    if failed:
        # Anyone may ask: the answer names what failed, the reasons (addresses, ports, errors) go to the log.
        log.warning("not ready: %s", "; ".join(f"{name}: {checks[name]}" for name in failed))
        return JSONResponse(
            {
                "type": "https://footage-tracker.example/problems/not-ready",
                "title": "Service not ready",
                "status": 503,
                "detail": "not ready: " + ", ".join(failed),
                "checks": {name: "ok" if state == "ok" else "unavailable" for name, state in checks.items()},
            },
            status_code=503,
            media_type="application/problem+json",
            headers={"Retry-After": str(RETRY_AFTER_S)},
        )
    return JSONResponse({"status": "ready", "checks": checks})


@router.get("/metrics", include_in_schema=False)
def prometheus() -> Response:
    body, content_type = metrics.render()
    return Response(body, media_type=content_type)
