"""The published OpenAPI document says what the API really answers: every error is RFC 9457 problem+json.

FastAPI documents only the success response and its own 422 shape; the service answers errors through one
handler (app/core/errors.py) with `application/problem+json`. This adds the Problem schema and, to every
operation, the error statuses that handler can produce, so clients (and schema-driven fuzzers) are told the
truth about them.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from app.core.errors import PROBLEM_JSON

# What any operation may answer: bad input, not signed in, not allowed, not found (or out of scope), state
# conflicts, body too large, rule violations, too many attempts, a dependency down.
ERROR_STATUSES = {
    "400": "Bad request",
    "401": "Not signed in, or the token is invalid, expired or revoked",
    "403": "Signed in but not allowed",
    "404": "Not found, or outside what the caller may see",
    "409": "Conflicts with the current state",
    "413": "Body larger than allowed",
    "422": "Invalid input; `errors` names each field",
    "429": "Too many attempts; see Retry-After",
    "503": "A dependency (database, storage) is unavailable; retry",
}

PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "type": "object",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["field", "message"],
                "properties": {"field": {"type": "string"}, "message": {"type": "string"}},
            },
        },
    },
    "additionalProperties": True,
}


def document_problems(app: FastAPI) -> None:
    """Replace app.openapi with a generator that adds the problem responses to every operation."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = get_openapi(
            title=app.title,
            version=app.version,
            routes=app.routes,
            description=app.description,
        )
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        components["Problem"] = PROBLEM_SCHEMA
        problem = {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}}
        for path_item in schema.get("paths", {}).values():
            for operation in path_item.values():
                responses = operation.setdefault("responses", {})
                for status, description in ERROR_STATUSES.items():
                    responses[status] = {"description": description, "content": problem}
        for unused in ("HTTPValidationError", "ValidationError"):
            components.pop(unused, None)
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
