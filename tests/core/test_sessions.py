"""The ways into the database: a write session commits its unit of work or nothing, a read session commits
nothing, and an Idempotency-Key held in transactions of its own (streamed uploads) is freed by any failure.
Outside app/core nothing opens a session from the session factory itself."""

from __future__ import annotations

import ast
import asyncio
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from app.core import clock, idempotency
from app.core.db import read_session, write_session
from app.core.errors import Conflict, RuleViolation
from app.core.idempotency import IdempotencyRecord

APP = Path(__file__).resolve().parents[2] / "app"


class Answer(BaseModel):
    value: int


def _record(key: str) -> IdempotencyRecord:
    now = clock.now()
    return IdempotencyRecord(
        owner="sessions-test", key=key, fingerprint="-", created_at=now, expires_at=now + timedelta(hours=1)
    )


def _stored(key: str) -> IdempotencyRecord | None:
    with read_session() as session:
        return session.get(IdempotencyRecord, ("sessions-test", key))


def test_a_write_session_commits_its_work_or_nothing(configured: str) -> None:
    kept, dropped = str(uuid.uuid4()), str(uuid.uuid4())
    with write_session() as session:
        session.add(_record(kept))
    assert _stored(kept) is not None
    with pytest.raises(RuntimeError), write_session() as session:
        session.add(_record(dropped))
        session.flush()
        raise RuntimeError("the unit of work fails after writing")
    assert _stored(dropped) is None


def test_a_read_session_commits_nothing(configured: str) -> None:
    key = str(uuid.uuid4())
    with read_session() as session:
        session.add(_record(key))
        session.flush()
        assert session.get(IdempotencyRecord, ("sessions-test", key)) is not None
    assert _stored(key) is None


def test_a_key_held_in_its_own_transactions_is_freed_by_a_failure(configured: str) -> None:
    key = str(uuid.uuid4())

    async def upload(fail: bool) -> object:
        async with idempotency.claimed(write_session, "sessions-test", key, "print") as held:
            if held.replay is not None:
                return held.replay
            # claimed and committed: a repeat meanwhile is told the first still runs
            with pytest.raises(Conflict), write_session() as session:
                idempotency.claim(session, "sessions-test", key, "print")
            if fail:
                raise RuntimeError("the stream broke")
            held.complete(201, Answer, {"value": 7})
            return "stored"

    with pytest.raises(RuntimeError):
        asyncio.run(upload(fail=True))
    assert _stored(key) is None  # the key is free again
    assert asyncio.run(upload(fail=False)) == "stored"
    repeated = asyncio.run(upload(fail=False))
    assert isinstance(repeated, JSONResponse) and repeated.body == b'{"value":7}'
    assert repeated.headers["Idempotent-Replayed"] == "true"
    with pytest.raises(RuleViolation), idempotency.claimed(write_session, "sessions-test", key, "another request"):
        pass


def test_a_block_that_ends_without_an_answer_frees_its_key(configured: str) -> None:
    key = str(uuid.uuid4())
    with idempotency.claimed(write_session, "sessions-test", key, "print") as held:
        assert held.replay is None
    assert _stored(key) is None
    with write_session() as session, idempotency.claimed(session, "sessions-test", key, "print") as held:
        assert held.replay is None
    assert _stored(key) is None


def test_no_session_is_opened_from_the_factory_outside_core() -> None:
    opened = []
    for path in APP.rglob("*.py"):
        if path.is_relative_to(APP / "core"):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            inner = node.func if isinstance(node, ast.Call) else None
            if (
                isinstance(inner, ast.Call)
                and isinstance(inner.func, ast.Name | ast.Attribute)
                and (inner.func.id if isinstance(inner.func, ast.Name) else inner.func.attr) == "session_factory"
            ):
                opened.append(f"{path.relative_to(APP.parent)}:{node.lineno}")
    assert opened == [], "open sessions with app.core.db.write_session()/read_session(), or take a UnitOfWork"
