"""Idempotency keys for the requests that create cases, extraction requests and evidence.

A client that may retry (a flaky station network, a phone on 3G) sends `Idempotency-Key: <unique string>`
(IETF draft "The Idempotency-Key HTTP Header Field"). The first request with a key claims it, in the same
transaction as its work, and stores its status and response body there; a repeat from the same caller with
the same key and the same request gets that stored response again (`Idempotent-Replayed: true`) and creates
nothing. The same key with a different request is a 422; a repeat while the first is still running (uploads
only: they commit before they stream) is a 409. If the work fails, its transaction — claim included — rolls
back, so the key can be used again. Keys are kept `idempotency_key_hours` (settings), then forgotten.

`claimed()` holds a key for one request, both ways: in the request's own transaction (`with`), or, for a
streamed body, in short transactions of its own around the stream (`async with`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import datetime, timedelta
from types import TracebackType
from typing import Annotated, Any

from fastapi import Header
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import Index, Integer, Text, delete, select
from sqlalchemy.dialects.postgresql import JSONB, insert
from sqlalchemy.orm import Mapped, Session, mapped_column
from starlette.concurrency import run_in_threadpool

from app.core import clock
from app.core.config import get_settings
from app.core.db import Base, UnitOfWork
from app.core.errors import Conflict, RuleViolation

HEADER = "Idempotency-Key"
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias=HEADER,
        min_length=1,
        max_length=255,
        description="Makes a retry of this request safe: the same key and request returns the first response.",
    ),
]


class IdempotencyRecord(Base):
    __tablename__ = "idempotency_keys"

    owner: Mapped[str] = mapped_column(Text, primary_key=True)  # the caller (user id or owner link)
    key: Mapped[str] = mapped_column(Text, primary_key=True)
    fingerprint: Mapped[str] = mapped_column(Text)  # SHA-256 of method, path and body
    status_code: Mapped[int | None] = mapped_column(Integer)  # None while the first request runs
    response: Mapped[Any | None] = mapped_column(JSONB)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime] = mapped_column(index=False)

    __table_args__ = (Index("ix_idempotency_keys_expires_at", "expires_at"),)


def fingerprint(method: str, path: str, body: Any) -> str:
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(f"{method} {path}\n{canonical}".encode()).hexdigest()


def claim(session: Session, owner: str, key: str, print_: str) -> IdempotencyRecord | None:
    """Claim `key` for this request in the session's transaction; return the earlier record if there is one.

    A concurrent first request holding the same key makes this wait for its transaction (the primary key's
    lock), then see its outcome.
    """
    now = clock.now()
    session.execute(delete(IdempotencyRecord).where(IdempotencyRecord.expires_at < now))
    inserted = session.execute(
        insert(IdempotencyRecord)
        .values(
            owner=owner,
            key=key,
            fingerprint=print_,
            created_at=now,
            expires_at=now + timedelta(hours=get_settings().idempotency_key_hours),
        )
        .on_conflict_do_nothing()
        .returning(IdempotencyRecord.key)
    ).first()
    if inserted is not None:
        return None
    earlier = session.scalars(
        select(IdempotencyRecord).where(IdempotencyRecord.owner == owner, IdempotencyRecord.key == key)
    ).one()
    if earlier.fingerprint != print_:
        raise RuleViolation(HEADER, "was already used for a different request; use a new key for a new request")
    if earlier.status_code is None:
        raise Conflict("the first request with this Idempotency-Key is still running; retry when it has finished")
    return earlier


def complete(session: Session, owner: str, key: str, status_code: int, response: Any) -> None:
    record = session.get(IdempotencyRecord, (owner, key))
    if record is not None:
        record.status_code = status_code
        record.response = response


def release(session: Session, owner: str, key: str) -> None:
    """Free a key whose first request failed before it had an answer, so it can be used again."""
    session.execute(
        delete(IdempotencyRecord).where(
            IdempotencyRecord.owner == owner, IdempotencyRecord.key == key, IdempotencyRecord.status_code.is_(None)
        )
    )


def replay(record: IdempotencyRecord) -> JSONResponse:
    return JSONResponse(record.response, status_code=record.status_code or 200, headers={"Idempotent-Replayed": "true"})


class Claim:
    """One request's hold on its Idempotency-Key; without a key it holds nothing and does nothing.

    After entering, `replay` is the stored answer when this request repeats an earlier one: return it and do no
    work. Otherwise do the work and `complete` with the answer a repeat will get; a block that raises, or ends
    without an answer, leaves the key free.
    """

    def __init__(self, where: Session | UnitOfWork, owner: str, key: str | None, request_print: str) -> None:
        self._where = where
        self._owner, self._key, self._print = owner, key, request_print
        self._answer: tuple[int, type[BaseModel], Any] | None = None
        self.replay: JSONResponse | None = None

    def complete(self, status_code: int, model: type[BaseModel], result: Any) -> None:
        """Keep `result`, shaped by `model`, as the answer to repeats of this request."""
        self._answer = (status_code, model, result)

    def __enter__(self) -> Claim:
        self._claim()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self._finish(failed=exc_type is not None)

    async def __aenter__(self) -> Claim:
        await run_in_threadpool(self._claim)
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        await run_in_threadpool(self._finish, failed=exc_type is not None)

    def _in_transaction(self, step: Callable[[Session], Any]) -> Any:
        if isinstance(self._where, Session):
            return step(self._where)
        with self._where() as session:
            return step(session)

    def _claim(self) -> None:
        if self._key is None:
            return
        key = self._key
        earlier = self._in_transaction(lambda session: claim(session, self._owner, key, self._print))
        self.replay = replay(earlier) if earlier is not None else None

    def _finish(self, *, failed: bool) -> None:
        if self._key is None or self.replay is not None:
            return
        key = self._key
        if failed and isinstance(self._where, Session):
            return  # the request's transaction rolls back, the claim with it
        if failed or self._answer is None:
            self._in_transaction(lambda session: release(session, self._owner, key))
            return
        status_code, model, result = self._answer
        answer = model.model_validate(result, from_attributes=True).model_dump(mode="json")
        self._in_transaction(lambda session: complete(session, self._owner, key, status_code, answer))


def claimed(where: Session | UnitOfWork, owner: str, key: str | None, request_print: str) -> Claim:
    """Hold `key` for one request of `owner`. Given the request's Session (`with`), the claim shares its
    transaction: the work's rollback frees the key. Given a unit of work (`async with`, for streamed bodies), the
    claim commits before the body streams — so a repeat meanwhile is a 409 — and its release or answer commits
    after, each in a transaction of its own."""
    return Claim(where, owner, key, request_print)


def once(
    session: Session,
    owner: str,
    key: str | None,
    request_print: str,
    work: Callable[[], Any],
    model: type[BaseModel],
    status_code: int,
) -> Any:
    """Run `work` once per key: without a key it simply runs; with one, a repeat returns the stored response."""
    with claimed(session, owner, key, request_print) as held:
        if held.replay is not None:
            return held.replay
        result = work()
        held.complete(status_code, model, result)
        return result
