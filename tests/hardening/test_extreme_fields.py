"""Every header, query parameter and body field of every operation in the OpenAPI description, one at a time, set
to a non-finite number or a date at the edge of the calendar (as text, and as a raw JSON literal where the body
is JSON), on real objects of the caller's (a case, an approved request, its camera and owner): refused or taken,
never a 5xx. The schemathesis run samples these values; this goes through all of them."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient

from app.auth.models import Role
from tests.factories import account, make_unit
from tests.footage.test_footage import approved_request

TEXT_EXTREMES = [
    "NaN",
    "-Infinity",
    "1e999",
    "0001-01-01T00:00:00",
    "0001-01-01",
    "9999-12-31T23:00:00Z",
    "9999-12-31",
]
RAW_EXTREMES = ["NaN", "Infinity", "-Infinity", "1e999"]  # JSON literals Python's parser takes as floats
SKIPPED = {("POST", "/api/v1/auth/logout")}  # revokes the very token the sweep uses
ADMIN_PREFIXES = (
    "/api/v1/units",
    "/api/v1/users",
    "/api/v1/owners",
    "/api/v1/cameras",
    "/api/v1/consents",
    "/api/v1/retention-categories",
)
SENDING = {"authorization", "content-type", "content-length", "tus-resumable"}


def _resolve(schema: dict[str, Any], spec: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        schema = spec["components"]["schemas"][name]
    for key in ("anyOf", "oneOf", "allOf"):
        if key in schema:
            options = [o for o in schema[key] if o.get("type") != "null"]
            if options:
                return _resolve(options[0], spec)
    return schema


def _example(schema: dict[str, Any], spec: dict[str, Any], depth: int = 0) -> Any:
    """A plain value of the schema's type: the baseline the one extreme field is set into."""
    schema = _resolve(schema, spec)
    if "default" in schema and schema["default"] is not None:
        return schema["default"]
    if "enum" in schema:
        return schema["enum"][0]
    kind = schema.get("type")
    if kind == "object" or "properties" in schema:
        if depth > 3:
            return {}
        props = schema.get("properties", {})
        return {k: _example(props[k], spec, depth + 1) for k in schema.get("required", []) if k in props}
    if kind == "array":
        return []
    if kind == "integer":
        return max(1, int(schema.get("minimum", 1)))
    if kind == "number":
        return 1.0
    if kind == "boolean":
        return True
    fmt = schema.get("format")
    if fmt == "uuid":
        return str(uuid.uuid4())
    if fmt == "date-time":
        return (datetime.now(UTC) - timedelta(hours=2)).isoformat()
    if fmt == "date":
        return datetime.now(UTC).date().isoformat()
    if fmt == "email":
        return "someone@example.org"
    return "x" * max(3, int(schema.get("minLength", 3)))


def _cases(spec: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            if method.upper() in {"GET", "POST", "PUT", "PATCH", "DELETE"} and (method.upper(), path) not in SKIPPED:
                yield method.upper(), path, operation


def test_every_field_of_every_operation_takes_extreme_values_without_a_server_error(configured: str) -> None:
    from app.main import create_app

    with TestClient(create_app(), raise_server_exceptions=False, client=("extremes", 50000)) as client:
        investigator, owner, request_id, _ = approved_request(client)
        admin = account(client, Role.admin)
        spare = account(client, Role.investigator, unit_id=make_unit())
        detail = client.get(f"/api/v1/requests/{request_id}", headers=investigator.headers).json()
        ids = {
            "case_id": detail["case_id"],
            "request_id": request_id,
            "camera_id": detail["camera_id"],
            "owner_id": str(owner.owner_id),
            "user_id": str(spare.id),
        }
        spec = client.get("/api/v1/openapi.json").json()
        failures: list[str] = []
        sent = 0

        def send(method: str, url: str, headers: dict[str, str], **kwargs: Any) -> None:
            nonlocal sent
            sent += 1
            answer = client.request(method, url, headers=headers, **kwargs)
            if answer.status_code >= 500:
                shown = {k: v for k, v in headers.items() if k.lower() != "authorization"}
                failures.append(f"{method} {url} {shown} {kwargs}: {answer.status_code} {answer.text[:200]}")

        for method, path, operation in _cases(spec):
            who = admin if path.startswith(ADMIN_PREFIXES) else investigator
            url = path
            for name in (p["name"] for p in operation.get("parameters", []) if p["in"] == "path"):
                url = url.replace("{" + name + "}", ids.get(name, str(uuid.uuid4())))
            params = [p for p in operation.get("parameters", []) if p["in"] in ("query", "header")]
            content = operation.get("requestBody", {}).get("content", {})
            schema = next(iter(content.values()), {}).get("schema") if content else None
            body = _example(schema, spec) if schema else None
            media = next(iter(content), None)
            base_headers = {**who.headers, "Tus-Resumable": "1.0.0"}

            def baseline(media: str | None = media, body: Any = body) -> dict[str, Any]:
                if media == "application/json":
                    return {"json": body}
                if media == "application/x-www-form-urlencoded":
                    return {"data": body}
                if media is not None and "json" not in media and "form" not in media:
                    return {"content": b"x"}
                return {}

            for param in params:
                if param["name"].lower() in SENDING:
                    continue
                for value in TEXT_EXTREMES:
                    if param["in"] == "query":
                        send(method, url, base_headers, params={param["name"]: value}, **baseline())
                    else:
                        send(method, url, {**base_headers, param["name"]: value}, **baseline())
            if isinstance(body, dict) and schema is not None:
                props = _resolve(schema, spec).get("properties", {})
                for field in props:
                    for value in TEXT_EXTREMES:
                        if media == "application/json":
                            send(method, url, base_headers, json={**body, field: value})
                        elif media == "application/x-www-form-urlencoded":
                            send(method, url, base_headers, data={**body, field: value})
                    if media == "application/json":
                        for literal in RAW_EXTREMES:
                            text = json.dumps({**body, field: "__extreme__"}).replace('"__extreme__"', literal)
                            send(
                                method,
                                url,
                                {**base_headers, "Content-Type": "application/json"},
                                content=text.encode(),
                            )
        assert sent > 1000  # the sweep reached the operations
        assert not failures, "\n".join(failures[:30])
