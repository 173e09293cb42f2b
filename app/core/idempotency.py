"""Idempotency keys for the requests that create cases, extraction requests and evidence.

A client that may retry (a flaky station network, a phone on 3G) sends `Idempotency-Key: <unique string>`
(IETF draft "The Idempotency-Key HTTP Header Field"). The first request with a key claims it, in the same
transaction as its work, and stores its status and response body there; a repeat from the same caller with
the same key and the same request gets that stored response again (`Idempotent-Replayed: true`) and creates
nothing. The same key with a different request is a 422; a repeat while the first is still running (uploads
only: they commit before they stream) is a 409. If the work fails, its transaction — claim included — rolls
back, so the key can be used again. Keys are kept `idempotency_key_hours` (settings), then forgotten.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import Header
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import Index, Integer, Text, delete, select
from sqlalchemy.dialects.postgresql import JSONB, insert
from sqlalchemy.orm import Mapped, Session, mapped_column

from app.core import clock
from app.core.config import get_settings
from app.core.db import Base
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


def replay(record: IdempotencyRecord) -> JSONResponse:
    return JSONResponse(record.response, status_code=record.status_code or 200, headers={"Idempotent-Replayed": "true"})


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
    if key is None:
        return work()
    earlier = claim(session, owner, key, request_print)
    if earlier is not None:
        return replay(earlier)
    result = work()
    complete(
        session, owner, key, status_code, model.model_validate(result, from_attributes=True).model_dump(mode="json")
    )
    return result
