"""create_app(): routers, middleware, exception handlers, lifespan — nothing else."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool

import app.appeals.retention  # noqa: F401 - its listener keeps a submission in step with the original it became
from app.appeals.router import router as appeals_router
from app.auth.router import router as auth_router
from app.cases.router import router as cases_router
from app.core import health, metrics, reads
from app.core.config import get_settings
from app.core.errors import install_error_handlers
from app.core.http import install_http_hardening
from app.core.openapi import document_problems
from app.core.storage import get_storage
from app.disclosure.router import router as disclosure_router
from app.extractions.alerts_router import router as alerts_router
from app.extractions.router import router as extractions_router
from app.footage.clock_checks_router import router as clock_checks_router
from app.footage.hold_router import router as hold_router
from app.footage.redaction_router import router as redaction_router
from app.footage.router import router as footage_router
from app.footage.timeline_router import router as timeline_router
from app.footage.uploads_router import router as uploads_router
from app.notifications.router import router as notifications_router
from app.registry.districts_router import router as districts_router
from app.registry.router import router as registry_router
from app.reports.custody_router import router as custody_router
from app.reports.router import router as reports_router
from app.web import router as web

log = logging.getLogger(__name__)


@asynccontextmanager
async def lifespan(_: FastAPI) -> AsyncIterator[None]:
    # Refuse to start against a bucket without Object Lock: evidence must never land there.
    await run_in_threadpool(get_storage().ensure_bucket, create=get_settings().s3_create_bucket)
    try:
        yield
    finally:
        await reads.close()


def create_app() -> FastAPI:
    app = FastAPI(
        title="Camera-footage extraction request tracker",
        version="0.1.0",
        lifespan=lifespan,
        openapi_url="/api/v1/openapi.json",
        docs_url="/api/v1/docs",
        redoc_url=None,
    )
    install_error_handlers(app)
    document_problems(app)
    install_http_hardening(app)
    app.add_middleware(metrics.MetricsMiddleware)

    # Routes are matched in the order they are included, one by one, at a few microseconds each: the API's
    # most frequent reads (the request list and detail) come right after the service and sign-in routes, and
    # the pages, which people load at their own pace, come last.
    app.include_router(health.router)
    app.include_router(auth_router)
    app.include_router(extractions_router)
    app.include_router(alerts_router)
    app.include_router(footage_router)
    app.include_router(clock_checks_router)
    app.include_router(uploads_router)
    app.include_router(registry_router)
    app.include_router(cases_router)
    app.include_router(hold_router)
    app.include_router(timeline_router)
    app.include_router(redaction_router)
    app.include_router(reports_router)
    app.include_router(custody_router)
    app.include_router(notifications_router)
    app.include_router(appeals_router)
    app.include_router(districts_router)
    app.include_router(disclosure_router)
    web.install(app)
    return app
