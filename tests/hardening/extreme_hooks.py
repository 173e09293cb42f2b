"""Schemathesis hooks (loaded by name through SCHEMATHESIS_HOOKS): every generated header set, query and JSON
body gets one of its fields replaced by a non-finite number or a date at the edge of what a calendar holds, the
values that once reached the database and wedged reads. The answer must be a 4xx, never a 5xx."""

from __future__ import annotations

from typing import Any

import schemathesis
from hypothesis import strategies as st

NON_FINITE = ["NaN", "nan", "Infinity", "-Infinity", "inf", "1e999", "-1e999"]
EXTREME_DATES = [
    "0001-01-01T00:00:00",
    "0001-01-01T00:00:00Z",
    "0001-01-01",
    "9999-12-31T23:00:00Z",
    "9999-12-31T23:59:59.999999+00:00",
    "9999-12-31",
]
EXTREMES = NON_FINITE + EXTREME_DATES
KEEP = {"authorization", "tus-resumable", "content-type", "content-length"}  # how the request is sent, not data


def _one_extreme(values: dict[str, Any] | None) -> st.SearchStrategy[dict[str, Any] | None]:
    if not isinstance(values, dict):
        return st.just(values)
    keys = sorted(k for k in values if k.lower() not in KEEP)
    if not keys:
        return st.just(values)
    return st.tuples(st.sampled_from(keys), st.sampled_from(EXTREMES)).map(lambda kv: {**values, kv[0]: kv[1]})


def _body(body: Any) -> st.SearchStrategy[Any]:
    if isinstance(body, dict):
        return _one_extreme(body)
    if isinstance(body, list) and body and all(isinstance(item, dict) for item in body):
        return _one_extreme(body[0]).map(lambda first: [first, *body[1:]])
    return st.just(body)


@schemathesis.hook
def flatmap_headers(context: schemathesis.HookContext, headers: dict[str, Any] | None) -> st.SearchStrategy[Any]:
    return _one_extreme(headers)


@schemathesis.hook
def flatmap_query(context: schemathesis.HookContext, query: dict[str, Any] | None) -> st.SearchStrategy[Any]:
    return _one_extreme(query)


@schemathesis.hook
def flatmap_body(context: schemathesis.HookContext, body: Any) -> st.SearchStrategy[Any]:
    return _body(body)
