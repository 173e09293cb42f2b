"""Fixtures for the custody tests: a log database of a test's own, for tests that tamper with it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.orm import Session

from app.custody.service import append_event, log_head
from tests.services import fresh_database


@pytest.fixture()
def own_log(configured: str, pg_server_url: str) -> Iterator[Engine]:
    """A fresh, migrated database used by one test only (the session's S3 and signing key still apply)."""
    with fresh_database(pg_server_url) as url:
        engine = create_engine(url)
        try:
            yield engine
        finally:
            engine.dispose()


def append(engine: Engine, count: int, **fields: Any) -> list[int]:
    """Append `count` events through the real writer, one transaction each; return their seqs."""
    seqs = []
    for i in range(count):
        with Session(engine) as session, session.begin():
            append_event(
                session,
                actor=fields.get("actor", "system:test"),
                action=fields.get("action", "test.touch"),
                reason=fields.get("reason", f"lần {i}"),
                where=fields.get("where", {"component": "test"}),
                details={"i": i, **fields.get("details", {})},
            )
        with Session(engine) as session:  # sequenced at that commit: the newest event is this one
            seqs.append(log_head(session).tree_size)
    return seqs


def tamper(engine: Engine, statement: str, **params: Any) -> None:
    """Run `statement` as a superuser with triggers bypassed (session_replication_role = replica)."""
    with engine.begin() as conn:
        conn.execute(text("SET LOCAL session_replication_role = replica"))
        conn.execute(text(statement), params)
