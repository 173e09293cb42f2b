"""Domain errors and their one mapping to RFC 9457 problem+json."""

from __future__ import annotations

import logging
from typing import Any

import psycopg
import psycopg_pool
import sqlalchemy.exc
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.core.storage import StorageError

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"
TYPE_BASE = "https://footage-tracker.example/problems/"
RESERVED_MEMBERS = frozenset({"type", "title", "status", "detail", "errors", "instance"})


class DomainError(Exception):
    """Base of every error a client can cause; carries its HTTP status and problem type."""

    status: int = 400
    slug: str = "bad-request"
    title: str = "Bad request"

    def __init__(
        self,
        detail: str,
        *,
        errors: list[dict[str, str]] | None = None,
        extra: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = errors
        self.extra = extra or {}
        self.headers = headers


class NotFound(DomainError):
    status, slug, title = 404, "not-found", "Not found"


class Conflict(DomainError):
    status, slug, title = 409, "conflict", "Conflict"


class Unauthorized(DomainError):
    status, slug, title = 401, "unauthorized", "Not authenticated"

    def __init__(self, detail: str = "A valid bearer token is required.") -> None:
        super().__init__(detail, headers={"WWW-Authenticate": "Bearer"})


class Forbidden(DomainError):
    status, slug, title = 403, "forbidden", "Forbidden"


class Gone(DomainError):
    status, slug, title = 410, "gone", "Gone"


class TooManyRequests(DomainError):
    status, slug, title = 429, "too-many-requests", "Too many requests"


class PayloadTooLarge(DomainError):
    status, slug, title = 413, "payload-too-large", "Payload too large"


# How long a client waits before retrying after a 503 (a database or S3 server restarting is back within seconds).
RETRY_AFTER_S = 5


class ServiceUnavailable(DomainError):
    """A backend is down; the request may be retried as it is, after RETRY_AFTER_S."""

    status, slug, title = 503, "service-unavailable", "Service unavailable"

    def __init__(self, detail: str, *, extra: dict[str, Any] | None = None) -> None:
        super().__init__(detail, extra=extra, headers={"Retry-After": str(RETRY_AFTER_S)})


class RuleViolation(DomainError):
    """A request that is well-formed but breaks a rule; names the field at fault."""

    status, slug, title = 422, "rule-violation", "Rule violated"

    def __init__(self, field: str, message: str, *, extra: dict[str, Any] | None = None) -> None:
        super().__init__(f"{field}: {message}", errors=[{"field": field, "message": message}], extra=extra)
        self.field = field


def problem(
    status: int,
    title: str,
    detail: str,
    *,
    slug: str,
    errors: list[dict[str, str]] | None = None,
    extra: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body: dict[str, Any] = {"type": TYPE_BASE + slug, "title": title, "status": status, "detail": detail}
    if errors is not None:
        body["errors"] = errors
    for key, value in (extra or {}).items():
        # The problem's own members keep their meaning: a "status" of the thing in conflict becomes
        # "current_status" instead of overwriting the HTTP status.
        body[f"current_{key}" if key in RESERVED_MEMBERS else key] = value
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def _field_name(loc: tuple[int | str, ...]) -> str:
    # Drop the "body"/"query"/"path"/"header" prefix FastAPI adds; clients think in field names.
    parts = [str(p) for p in loc]
    if parts and parts[0] in {"body", "query", "path", "header", "cookie", "form"}:
        parts = parts[1:] or parts
    return ".".join(parts)


def install_error_handlers(app: FastAPI) -> None:
    """Map every error to problem+json: domain errors, validation errors, HTTP errors and the unexpected."""

    @app.exception_handler(DomainError)
    async def _domain(_: Request, exc: DomainError) -> JSONResponse:
        return problem(
            exc.status,
            exc.title,
            exc.detail,
            slug=exc.slug,
            errors=exc.errors,
            extra=exc.extra,
            headers=exc.headers,
        )

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [{"field": _field_name(tuple(e["loc"])), "message": str(e["msg"])} for e in exc.errors()]
        detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors) or "Invalid request."
        return problem(422, "Invalid request", detail, slug="validation", errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        headers = dict(exc.headers) if exc.headers else {}
        if exc.status_code == 405:
            # The router names only the methods of the first route it matched; a path is often served by
            # several routes (GET and POST /cases), so list them all.
            headers["Allow"] = ", ".join(_allowed_methods(request))
        return problem(
            exc.status_code,
            _reason(exc.status_code),
            str(exc.detail),
            slug=f"http-{exc.status_code}",
            headers=headers or None,
        )

    @app.exception_handler(sqlalchemy.exc.OperationalError)
    @app.exception_handler(sqlalchemy.exc.InterfaceError)
    @app.exception_handler(sqlalchemy.exc.TimeoutError)
    @app.exception_handler(psycopg.OperationalError)  # the read pool (app.core.reads)
    @app.exception_handler(psycopg_pool.PoolTimeout)
    async def _database_unavailable(request: Request, exc: Exception) -> JSONResponse:
        # The database went away (restart, failover, network) or the pool is exhausted: the request may be
        # retried as it is, and the pool's pre-ping reconnects once the server is back.
        log.warning("database unavailable on %s %s: %s", request.method, request.url.path, exc)
        return problem(
            503,
            "Service unavailable",
            "the database is unavailable; retry in a few seconds",
            slug="database-unavailable",
            headers={"Retry-After": str(RETRY_AFTER_S)},
        )

    @app.exception_handler(StorageError)
    async def _storage_unavailable(request: Request, exc: Exception) -> JSONResponse:
        # The S3 server is unreachable or refused: the reason goes to the log, never to the client (it can carry
        # the server's address and a presigned URL).
        log.warning("evidence storage unavailable on %s %s: %s", request.method, request.url.path, exc)
        return problem(
            503,
            "Service unavailable",
            "evidence storage is unavailable; retry in a few seconds",
            slug="storage-unavailable",
            headers={"Retry-After": str(RETRY_AFTER_S)},
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return problem(500, "Internal error", "The server failed; the error was logged.", slug="internal")


def _allowed_methods(request: Request) -> list[str]:
    from starlette.routing import compile_path

    methods: set[str] = set()
    for route in request.app.routes:
        contexts = route.effective_route_contexts() if hasattr(route, "effective_route_contexts") else [route]
        for context in contexts:
            path, route_methods = getattr(context, "path", None), getattr(context, "methods", None)
            if path and route_methods and compile_path(path)[0].match(request.url.path):
                methods |= set(route_methods)
    return sorted(methods)


def _reason(status: int) -> str:
    from http import HTTPStatus

    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"
