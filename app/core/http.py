"""HTTP hardening shared by every route: security headers, a body-size cap for non-upload requests, CORS only
when configured."""

from __future__ import annotations

from functools import lru_cache

from fastapi import FastAPI
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.core.config import get_settings

SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=(self)"),
    (b"cache-control", b"no-store"),
]
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data: blob: https: http:; style-src 'self' 'unsafe-inline'; "
    "script-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'"
)


@lru_cache(maxsize=4)
def content_security_policy(s3_endpoint: str | None, s3_secure: bool) -> bytes:
    """The page policy. A download form answers with a redirect to a presigned URL on the S3 server, and
    form-action governs redirects too, so that one origin is allowed beside the service's own; the player's
    video follows an evidence link to the same server, so media-src allows it as well."""
    policy = CONTENT_SECURITY_POLICY
    storage = f" {'https' if s3_secure else 'http'}://{s3_endpoint}" if s3_endpoint else ""
    return f"{policy}{storage}; media-src 'self'{storage}".encode()


class SecurityHeadersMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                headers = list(message.get("headers", []))
                headers += [(n, v) for n, v in SECURITY_HEADERS if n not in present]
                if b"content-security-policy" not in present:
                    settings = get_settings()
                    policy = content_security_policy(settings.s3_endpoint, settings.s3_secure)
                    headers.append((b"content-security-policy", policy))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_wrapper)


class BodyLimitMiddleware:
    """Refuse bodies over the cap with 413 before they are read, except on streamed evidence uploads."""

    def __init__(
        self, app: ASGIApp, limit: int, exempt_suffixes: tuple[str, ...], exempt_prefixes: tuple[str, ...] = ()
    ) -> None:
        self.app = app
        self.limit = limit
        self.exempt_suffixes = exempt_suffixes
        self.exempt_prefixes = exempt_prefixes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = str(scope.get("path", ""))
        if scope["type"] != "http" or path.endswith(self.exempt_suffixes) or path.startswith(self.exempt_prefixes):
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers", [])).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.limit:
            await _too_large(send, self.limit)
            return
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    raise _BodyTooLarge
            return message

        try:
            await self.app(scope, limited_receive, send)
        except _BodyTooLarge:
            await _too_large(send, self.limit)


class _BodyTooLarge(Exception):
    pass


async def _too_large(send: Send, limit: int) -> None:
    import json

    body = json.dumps(
        {
            "type": "https://footage-tracker.example/problems/payload-too-large",
            "title": "Payload too large",
            "status": 413,
            "detail": f"request body exceeds {limit} bytes; evidence files go to the /original upload endpoints",
        }
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [(b"content-type", b"application/problem+json"), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})


class NulCharacterMiddleware:
    """Refuse the NUL character in text input with a 422 naming the field, before any handler sees it.

    PostgreSQL cannot store NUL in text, so such input would otherwise fail deep in a transaction. JSON and form
    bodies are buffered to look (they are small: the body cap applies); evidence uploads are binary and exempt.
    """

    def __init__(self, app: ASGIApp, exempt_suffixes: tuple[str, ...]) -> None:
        self.app = app
        self.exempt_suffixes = exempt_suffixes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        query = scope.get("query_string", b"")
        if b"%00" in query or "\x00" in str(scope.get("path", "")):
            field = _query_field(query) if b"%00" in query else "path"
            await _nul_refused(send, field)
            return
        path = str(scope.get("path", ""))
        content_type = dict(scope.get("headers", [])).get(b"content-type", b"").split(b";")[0].strip().lower()
        if path.endswith(self.exempt_suffixes) or content_type not in _TEXT_BODIES:
            await self.app(scope, receive, send)
            return
        messages: list[Message] = []
        body = b""
        while True:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request":
                break
            body += message.get("body", b"")
            if not message.get("more_body", False):
                break
        in_body = _body_field(body, content_type)
        if in_body is not None:
            await _nul_refused(send, in_body)
            return

        async def replay() -> Message:
            return messages.pop(0) if messages else await receive()

        await self.app(scope, replay, send)


_TEXT_BODIES = {b"application/json", b"application/x-www-form-urlencoded"}


def _query_field(query: bytes) -> str:
    from urllib.parse import parse_qsl

    for name, value in parse_qsl(query.decode("latin-1"), keep_blank_values=True):
        if "\x00" in name or "\x00" in value:
            return name.replace("\x00", "") or "query"
    return "query"


def _body_field(body: bytes, content_type: bytes) -> str | None:
    """The name of the first field holding a NUL character, or None when there is none."""
    import json
    from urllib.parse import parse_qsl

    if content_type == b"application/x-www-form-urlencoded":
        if b"%00" not in body:
            return None
        for name, value in parse_qsl(body.decode("latin-1"), keep_blank_values=True):
            if "\x00" in name or "\x00" in value:
                return name.replace("\x00", "") or "body"
        return None
    if b"\\u0000" not in body:
        return None
    try:
        document = json.loads(body)
    except ValueError:
        return None  # malformed JSON: the handler's own validation answers it

    def find(value: object, where: str) -> str | None:
        if isinstance(value, str):
            return where if "\x00" in value else None
        if isinstance(value, dict):
            for key, item in value.items():
                found = find(key, where) if "\x00" in key else find(item, f"{where}.{key}" if where else key)
                if found is not None:
                    return found or "body"
        if isinstance(value, list):
            for index, item in enumerate(value):
                found = find(item, f"{where}.{index}" if where else str(index))
                if found is not None:
                    return found
        return None

    return find(document, "")


async def _nul_refused(send: Send, field: str) -> None:
    import json

    message = "must not contain the NUL character (\\u0000)"
    body = json.dumps(
        {
            "type": "https://footage-tracker.example/problems/validation",
            "title": "Invalid request",
            "status": 422,
            "detail": f"{field}: {message}",
            "errors": [{"field": field, "message": message}],
        }
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 422,
            "headers": [(b"content-type", b"application/problem+json"), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})


def install_http_hardening(app: FastAPI) -> None:
    settings = get_settings()
    # the evidence uploads: one file (PUT .../original) or each file of an export in several (POST .../originals)
    evidence = ("/original", "/originals")
    app.add_middleware(NulCharacterMiddleware, exempt_suffixes=evidence)
    app.add_middleware(
        BodyLimitMiddleware,
        limit=settings.max_request_body_bytes,
        exempt_suffixes=evidence,
        exempt_prefixes=("/api/v1/uploads/",),  # resumable uploads' PATCH bodies (tus)
    )
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
            allow_headers=[
                "Authorization",
                "Content-Type",
                "Idempotency-Key",
                "X-Filename",
                "X-Content-SHA256",
                "X-Recording-Start",
                "X-Clock-Offset-Seconds",
                "X-Frame-Rate",
            ],
        )
    app.add_middleware(SecurityHeadersMiddleware)


def content_disposition(filename: str) -> str:
    """An attachment header that survives any file name: an ASCII fallback, and the exact name as RFC 6266 /
    RFC 5987 `filename*` (HTTP header values are Latin-1; case numbers and Vietnamese names are not)."""
    from urllib.parse import quote

    fallback = "".join(c if c.isascii() and c.isprintable() and c not in '"\\' else "_" for c in filename)
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"
