"""An upload's hold on its request, and the lock of its object once the row is recorded.

The order of an upload's side effects: claim the request (committed) → stream the object, unlocked → probe →
record the row with its custody events and drop the claim (one transaction) → set retention and legal hold on
the object → note that on the row with a custody event. A refused or failed upload so never leaves a locked
object: before the row commits the object is unlocked and is removed (by the upload, or by the orphan sweep when
the upload could not). A crash between the commit and the lock leaves a row whose object is not locked yet:
:func:`finish_locks` (a periodic task) sets it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID, uuid4

from sqlalchemy import delete, select, text, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from app.core import clock
from app.core.config import get_settings
from app.core.db import UnitOfWork
from app.core.errors import Conflict
from app.core.storage import RetentionMode, StorageError, get_storage
from app.custody.service import append_event
from app.extractions.models import ExtractionRequest
from app.footage.models import Original
from app.footage.upload_models import UploadClaim

log = logging.getLogger(__name__)

FINISH_LOCKS_TASK = "footage.finish_locks"  # the periodic sweep, by the name it is queued under
FINISH_LOCKS_ACTOR = "system:finish-locks"
# A row this young may still be between its commit and its lock in the upload that wrote it.
FINISH_LOCKS_AFTER = timedelta(seconds=30)
IN_PROGRESS = "another upload of this request's footage is in progress; wait for it to finish, then check the request"


def _stale_before() -> datetime:
    return clock.now() - timedelta(seconds=get_settings().upload_claim_seconds)


def claim(session: Session, request_id: UUID, who: str) -> UUID:
    """Take the request for one upload (absent or stale claims are taken over), or refuse with a 409 at once.
    The caller commits before it reads the body."""
    token, now = uuid4(), clock.now()
    taken = session.execute(
        text(
            "INSERT INTO upload_claims (request_id, token, claimed_by, claimed_at) "
            "VALUES (:request, :token, :who, :now) "
            "ON CONFLICT (request_id) DO UPDATE SET token = :token, claimed_by = :who, claimed_at = :now "
            "WHERE upload_claims.claimed_at < :stale RETURNING token"
        ),
        {"request": request_id, "token": token, "who": who, "now": now, "stale": _stale_before()},
    ).scalar()
    if taken is None:
        seconds = get_settings().upload_claim_seconds
        raise Conflict(IN_PROGRESS, extra={"retry_after_s": seconds})
    return token


def release(session: Session, request_id: UUID, token: UUID) -> bool:
    """Drop the claim in the caller's transaction; False when it is no longer this upload's (it went stale
    and another upload took it over)."""
    gone = session.scalar(
        delete(UploadClaim)
        .where(UploadClaim.request_id == request_id, UploadClaim.token == token)
        .returning(UploadClaim.token)
    )
    return gone is not None


def release_quietly(unit: UnitOfWork, request_id: UUID, token: UUID) -> None:
    """Drop the claim of an upload that failed; with the database unreachable it stays until it is stale."""
    try:
        with unit() as session:
            release(session, request_id, token)
    except SQLAlchemyError:
        log.warning("could not release the upload claim of request %s; it lapses when stale", request_id)


def _renew(unit: UnitOfWork, request_id: UUID, token: UUID) -> None:
    with unit() as session:
        session.execute(
            update(UploadClaim)
            .where(UploadClaim.request_id == request_id, UploadClaim.token == token)
            .values(claimed_at=clock.now())
        )


@asynccontextmanager
async def kept(unit: UnitOfWork, request_id: UUID, token: UUID | None) -> AsyncIterator[None]:
    """Renew the claim every third of UPLOAD_CLAIM_SECONDS while the block runs (a long upload stays claimed);
    drop it if the block raises."""
    if token is None:
        yield
        return
    every = get_settings().upload_claim_seconds / 3

    async def renew() -> None:
        while True:
            await asyncio.sleep(every)
            try:
                await run_in_threadpool(_renew, unit, request_id, token)
            except SQLAlchemyError:
                log.warning("could not renew the upload claim of request %s", request_id)

    renewing = asyncio.create_task(renew())
    try:
        yield
    except BaseException:
        renewing.cancel()
        await run_in_threadpool(release_quietly, unit, request_id, token)
        raise
    finally:
        renewing.cancel()


# -- the lock, after the row -------------------------------------------------------------------------------
def apply_lock(unit: UnitOfWork, original_id: UUID, actor: str) -> bool:
    """Set the row's retention and legal hold on its object and note it (custody event in the same transaction).
    False when there was nothing to do (already locked, deleted, or no such row)."""
    with unit() as session:
        original = session.get(Original, original_id, with_for_update=True)
        if original is None or original.lock_applied_at is not None or original.deleted_at is not None:
            return False
        storage = get_storage()
        mode: RetentionMode = "COMPLIANCE" if original.retention_mode == "COMPLIANCE" else "GOVERNANCE"
        storage.lock(original.object_key, original.version_id, mode=mode, until=original.retain_until)
        storage.set_legal_hold(original.object_key, original.version_id, original.legal_hold)
        original.lock_applied_at = clock.now()
        request = session.get(ExtractionRequest, original.request_id)
        append_event(
            session,
            actor=actor,
            action="original.lock_applied",
            object_type="original",
            object_id=original.id,
            sha256=original.sha256,
            version_id=original.version_id,
            case_id=request.case_id if request else None,
            where={"component": "footage.claims"},
            details={
                "retention_mode": original.retention_mode,
                "retain_until": original.retain_until.isoformat(),
                "legal_hold": original.legal_hold,
            },
        )
        return True


def lock_quietly(unit: UnitOfWork, original_id: UUID, actor: str) -> None:
    """The upload's own lock after its commit: a failure is logged, and the finish-locks sweep retries it."""
    try:
        apply_lock(unit, original_id, actor)
    except (StorageError, SQLAlchemyError):
        log.warning("the lock of original %s is pending; the finish-locks sweep will set it", original_id)


@dataclass
class FinishReport:
    locked: list[UUID]
    failed: list[UUID]


def finish_locks(unit: UnitOfWork, *, older_than: timedelta = FINISH_LOCKS_AFTER) -> FinishReport:
    """Lock every recorded original whose object is not locked yet (its upload died between commit and lock)."""
    with unit() as session:
        pending = list(
            session.scalars(
                select(Original.id)
                .where(
                    Original.lock_applied_at.is_(None),
                    Original.deleted_at.is_(None),
                    Original.received_at < clock.now() - older_than,
                )
                .order_by(Original.received_at)
            )
        )
    report = FinishReport(locked=[], failed=[])
    for original_id in pending:
        try:
            if apply_lock(unit, original_id, FINISH_LOCKS_ACTOR):
                report.locked.append(original_id)
        except (StorageError, SQLAlchemyError):
            log.exception("could not lock original %s", original_id)
            report.failed.append(original_id)
    return report
