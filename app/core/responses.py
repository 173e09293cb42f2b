"""Answering with a model the service has already validated."""

from __future__ import annotations

from fastapi.responses import Response
from pydantic import BaseModel


def validated_json(model: BaseModel) -> Response:
    """The model's JSON as FastAPI would render it for `response_model` (by alias, nothing excluded).

    FastAPI passes a returned Response through as it is, so a model the service built and validated is not
    validated and serialised a second time on the hot read paths; the route keeps its `response_model`, which
    still describes the answer in the OpenAPI schema."""
    return Response(model.model_dump_json(by_alias=True), media_type="application/json")
