"""The fast leaf recomputation agrees with canonical_entry on awkward rows (else it would fall back, slowly)."""

from __future__ import annotations

import logging
import uuid
from typing import Any

import psycopg
import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from app.custody.recompute import walk_range
from app.custody.service import append_event

AWKWARD: list[dict[str, Any]] = [
    {"reason": 'quote " backslash \\ slash / tab \t newline \n cr \r bell \x07 del \x7f', "details": {}},
    {"reason": "Tiếng Việt: Đường Nguyễn Huệ, Quận 1 — “ngoặc” 🚓 \u2028 \u2029 \ufeff", "details": {"ý": "đ"}},
    {"reason": "", "details": {"": "", "z": [], "a": {}, "n": None, "t": True, "f": False}},
    {"reason": None, "details": {"float": 0.1, "neg": -2.5, "big": 12345678901234567890, "e": 1e-7, "k": 1e15}},
    {"reason": "x", "details": {"nested": {"b": [1, {"d": "é", "c": [None, 1.5]}], "a": "nul"}}},
    {"reason": "objects", "object_id": uuid.uuid4(), "case_id": uuid.uuid4(), "sha256": "ab" * 32, "version_id": "v"},
]


@pytest.mark.parametrize("fields", AWKWARD)
def test_fast_path_matches_canonical_entry(
    own_log: Engine, fields: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    with Session(own_log) as session, session.begin():
        append_event(
            session,
            actor="user:" + str(uuid.uuid4()),
            action="test.awkward",
            object_type="clip" if "object_id" in fields else None,
            where={"component": "api", "client": "2001:db8::1", "path": "/ü"},
            **fields,
        )
    dsn = own_log.url.set(drivername="postgresql").render_as_string(hide_password=False)
    with caplog.at_level(logging.WARNING, logger="app.custody.recompute"), psycopg.connect(dsn) as conn:
        result = walk_range(conn, None, None, include_objects=True)
    assert result.rows == 1 and result.suspects == [] and result.gaps == []
    assert not caplog.records, "the fast rendering disagreed with canonical_entry"


def test_large_floats_in_details_round_trip(own_log: Engine) -> None:
    with Session(own_log) as session, session.begin():
        append_event(session, actor="system:test", action="test.large-float", details={"bytes": 2.5e16})
    dsn = own_log.url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(dsn) as conn:
        assert walk_range(conn, None, None, include_objects=False).suspects == []
