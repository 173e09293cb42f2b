"""Accepting an original for a request: who may upload, what the headers mean, and the order of side effects
(stream → verify → probe → lock → record, with removal of the unlocked version on any refusal)."""

from __future__ import annotations

import dataclasses
import logging
import re
import urllib.parse
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4
from zoneinfo import ZoneInfo

from fastapi.responses import JSONResponse
from sqlalchemy import delete
from starlette.concurrency import run_in_threadpool

from app.auth.models import Role
from app.auth.permissions import Actor
from app.core import clock, idempotency, media
from app.core.config import get_settings
from app.core.db import session_factory
from app.core.errors import Conflict, DomainError, Forbidden, PayloadTooLarge, RuleViolation
from app.core.params import EARLIEST_YEAR, FINITE_FLOAT, LATEST_YEAR, header_value, within_years
from app.core.storage import StorageError, get_storage
from app.custody.service import append_event
from app.extractions import service as extractions
from app.extractions.models import ExtractionRequest
from app.extractions.states import RequestStatus
from app.footage.clock_checks import offset_for_upload
from app.footage.models import ClockOffsetSource, Original
from app.footage.receive import Received, stream_to_storage
from app.footage.retention import LockPeriod, lock_period
from app.footage.schemas import OriginalReceived

log = logging.getLogger(__name__)
ACCEPTING = {RequestStatus.approved, RequestStatus.partially_approved, RequestStatus.footage_mismatch}
HEX64 = re.compile(r"^[0-9a-f]{64}$")
# A recorder a week off is already far outside what owners report; larger values are typing errors.
MAX_CLOCK_OFFSET_S = 7 * 86400


@dataclass(frozen=True)
class UploadHeaders:
    filename: str
    content_length: int | None
    client_sha256: str | None
    recording_start: str
    clock_offset_s: str | None
    frame_rate: str | None


@dataclass(frozen=True)
class Prepared:
    request_id: UUID
    case_id: UUID
    original_id: UUID
    key: str
    filename: str
    recording_start_recorder: datetime
    clock_offset_s: float
    frame_rate: float | None
    client_sha256: str | None
    recording_start_stated: str
    lock: LockPeriod
    clock_offset_source: ClockOffsetSource = ClockOffsetSource.none
    clock_check_id: UUID | None = None


def parse_recording_start(value: str, tz_name: str) -> datetime:
    """The recorder's clock at the first frame; without an offset it is read in the camera's time zone."""
    try:
        parsed = within_years(datetime.fromisoformat(value.strip()))
    except ValueError as exc:
        raise RuleViolation(
            "X-Recording-Start",
            f"must be an ISO 8601 time between the years {EARLIEST_YEAR} and {LATEST_YEAR}, "
            "e.g. 2026-11-24T21:15:00+07:00",
        ) from exc
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=ZoneInfo(tz_name))
    return parsed.astimezone(UTC)


def _safe_filename(raw: str) -> str:
    name = urllib.parse.unquote(raw).replace("\\", "/").rsplit("/", 1)[-1].strip()
    name = re.sub(r"[^\w.\- ()]+", "_", name)[:200]
    if not name or name in {".", ".."}:
        raise RuleViolation("X-Filename", "must name the exported file, e.g. ch01_20261124.mp4")
    return name


def _prepare(actor: Actor, request_id: UUID, headers: UploadHeaders) -> Prepared:
    settings = get_settings()
    if headers.content_length is not None and headers.content_length > settings.max_upload_bytes:
        raise PayloadTooLarge(f"the file exceeds the upload limit of {settings.max_upload_bytes} bytes")
    with session_factory()() as session:
        request = extractions.get_request(session, actor, request_id)
        if actor.kind != "link" and not (actor.role == Role.owner and actor.owner_id == request.owner_id):
            raise Forbidden("only the camera's owner hands over footage")
        if RequestStatus(request.status) not in ACCEPTING:
            raise Conflict(
                f"the request is {request.status}; footage is accepted once it is approved",
                extra={"status": request.status},
            )
        client_sha = headers.client_sha256.strip().lower() if headers.client_sha256 else None
        if client_sha is not None and not HEX64.match(client_sha):
            raise RuleViolation("X-Content-SHA256", "must be 64 hexadecimal characters")
        # Without the header, the request's latest clock check applies (else 0); the header wins when given.
        offset, offset_source, check_id = offset_for_upload(session, request.id)
        if headers.clock_offset_s not in (None, ""):
            offset_source, check_id = ClockOffsetSource.header, None
            offset = header_value(
                FINITE_FLOAT, "X-Clock-Offset-Seconds", str(headers.clock_offset_s), "must be a number of seconds"
            )
            if abs(offset) > MAX_CLOCK_OFFSET_S:
                raise RuleViolation("X-Clock-Offset-Seconds", "must be within a week of true time")
        rate = None
        if headers.frame_rate not in (None, ""):
            rate = header_value(
                FINITE_FLOAT, "X-Frame-Rate", str(headers.frame_rate), "must be a number of frames per second"
            )
            if not 0 < rate <= 240:
                raise RuleViolation("X-Frame-Rate", "must be between 0 and 240")
        filename = _safe_filename(headers.filename)
        original_id = uuid4()
        return Prepared(
            request_id=request.id,
            case_id=request.case_id,
            original_id=original_id,
            key=f"originals/{request.id}/{original_id}/{filename}",
            filename=filename,
            recording_start_recorder=parse_recording_start(headers.recording_start, request.camera_timezone),
            clock_offset_s=offset,
            frame_rate=rate,
            client_sha256=client_sha,
            recording_start_stated=headers.recording_start.strip(),
            lock=lock_period(session, request.case_id),
            clock_offset_source=offset_source,
            clock_check_id=check_id,
        )


async def receive_original(
    actor: Actor,
    request_id: UUID,
    chunks: AsyncIterator[bytes],
    headers: UploadHeaders,
    idempotency_key: str | None = None,
) -> dict[str, Any] | JSONResponse:
    """Stream, hash, probe, lock and record one recorder export. With an Idempotency-Key the key is claimed (and
    committed) before the bytes stream, so a repeat while this one runs is a 409 and a repeat after it returns
    the stored answer without storing the bytes again; a failed upload releases its key."""
    if idempotency_key is None:
        return await _receive(actor, request_id, chunks, headers)
    print_ = idempotency.fingerprint("PUT", f"/requests/{request_id}/original", dataclasses.asdict(headers))
    earlier = await run_in_threadpool(_claim_upload_key, actor.label, idempotency_key, print_)
    if earlier is not None:
        async for _ in chunks:  # read the repeated body to its end, keep nothing of it
            pass
        return earlier
    try:
        result = await _receive(actor, request_id, chunks, headers)
    except BaseException:
        await run_in_threadpool(_release_upload_key, actor.label, idempotency_key)
        raise
    await run_in_threadpool(_complete_upload_key, actor.label, idempotency_key, result)
    return result


def _claim_upload_key(owner: str, key: str, print_: str) -> JSONResponse | None:
    with session_factory()() as session, session.begin():
        earlier = idempotency.claim(session, owner, key, print_)
        return idempotency.replay(earlier) if earlier is not None else None


def _release_upload_key(owner: str, key: str) -> None:
    with session_factory()() as session, session.begin():
        session.execute(
            delete(idempotency.IdempotencyRecord).where(
                idempotency.IdempotencyRecord.owner == owner,
                idempotency.IdempotencyRecord.key == key,
                idempotency.IdempotencyRecord.status_code.is_(None),
            )
        )


def _complete_upload_key(owner: str, key: str, result: dict[str, Any]) -> None:
    with session_factory()() as session, session.begin():
        idempotency.complete(session, owner, key, 201, OriginalReceived.model_validate(result).model_dump(mode="json"))


async def _receive(
    actor: Actor, request_id: UUID, chunks: AsyncIterator[bytes], headers: UploadHeaders
) -> dict[str, Any]:
    prepared = await run_in_threadpool(_prepare, actor, request_id, headers)
    # The probe's child process starts now and loads its libraries while the body streams.
    inspector = await run_in_threadpool(media.Inspector)
    try:
        try:
            received = await stream_to_storage(
                chunks,
                prepared.key,
                get_settings().max_upload_bytes,
                {"x-amz-meta-request-id": str(request_id)},
                length=headers.content_length or None,
            )
        except StorageError as exc:
            raise _unavailable(exc) from exc
        return await run_in_threadpool(_accept, actor, prepared, received, inspector)
    finally:
        await run_in_threadpool(inspector.close)


def _unavailable(exc: Exception) -> DomainError:
    from app.core.errors import ServiceUnavailable

    log.warning("evidence storage failed during an upload: %s", exc)
    return ServiceUnavailable("evidence storage is unavailable; nothing was kept, retry the upload")


def _refuse(received: Received, error: DomainError) -> DomainError:
    """Remove the unlocked version, then report the refusal."""
    try:
        get_storage().remove_version(received.key, received.version_id)
    except StorageError:
        log.exception("could not remove refused upload %s@%s", received.key, received.version_id)
    return error


def _accept(actor: Actor, prepared: Prepared, received: Received, inspector: media.Inspector) -> dict[str, Any]:
    if received.size == 0:
        raise _refuse(received, RuleViolation("body", "the upload is empty"))
    if prepared.client_sha256 and prepared.client_sha256 != received.sha256:
        raise _refuse(
            received,
            RuleViolation(
                "X-Content-SHA256", f"the bytes received hash to {received.sha256}, not {prepared.client_sha256}"
            ),
        )
    fmt, options = media.open_options(prepared.filename, prepared.frame_rate)
    url = get_storage().presign_get(received.key, received.version_id, timedelta(minutes=30))
    try:
        info = inspector.inspect(url, options=options, format=fmt)
    except media.MediaError as exc:
        raise _refuse(received, RuleViolation("body", f"not a playable video: {exc}")) from exc
    if not info.duration_s:
        raise _refuse(received, RuleViolation("body", "not a playable video: no duration could be read"))
    retain_until = prepared.lock.until()
    # Lock before the row exists: a crash in between leaves a locked orphan the sweep reports, never an
    # evidence row pointing at an unlocked object.
    get_storage().lock(received.key, received.version_id, mode=prepared.lock.mode, until=retain_until)
    get_storage().set_legal_hold(received.key, received.version_id, True)
    return _record(actor, prepared, received, info, retain_until)


def _record(
    actor: Actor, prepared: Prepared, received: Received, info: media.MediaInfo, retain_until: datetime
) -> dict[str, Any]:
    media_fields = info.as_dict()
    with session_factory()() as session, session.begin():
        request = session.get(ExtractionRequest, prepared.request_id, with_for_update=True)
        assert request is not None
        original = Original(
            id=prepared.original_id,
            request_id=request.id,
            object_key=received.key,
            version_id=received.version_id,
            size=received.size,
            sha256=received.sha256,
            client_sha256=prepared.client_sha256,
            filename=prepared.filename,
            media=media_fields,
            frame_rate_assumed=prepared.frame_rate is None
            and media.open_options(prepared.filename, None)[0] is not None,
            recording_start_recorder=prepared.recording_start_recorder,
            recording_start_stated=prepared.recording_start_stated,
            clock_offset_s=prepared.clock_offset_s,
            clock_offset_source=prepared.clock_offset_source.value,
            clock_check_id=prepared.clock_check_id,
            uploaded_by=actor.label,
            client_address=actor.client_address,
            received_at=clock.now(),
            retention_mode=prepared.lock.mode,
            retain_until=retain_until,
            legal_hold=True,
        )
        session.add(original)
        session.flush()
        common: dict[str, Any] = {
            "actor": actor.label,
            "object_type": "original",
            "object_id": original.id,
            "sha256": original.sha256,
            "version_id": original.version_id,
            "case_id": request.case_id,
            "where": actor.where(),
        }
        append_event(
            session,
            action="original.received",
            details={
                "object_key": original.object_key,
                "size": original.size,
                "filename": original.filename,
                "request_id": str(request.id),
                "uploaded_by": actor.label,
            },
            **common,
        )
        if prepared.client_sha256:
            append_event(
                session, action="original.hash_verified", details={"client_sha256": prepared.client_sha256}, **common
            )
        append_event(
            session,
            action="original.probed",
            details={
                **media_fields,
                "recording_start_recorder": original.recording_start_recorder.isoformat(),
                "clock_offset_s": original.clock_offset_s,
                "clock_offset_source": original.clock_offset_source,
                "clock_check_id": str(original.clock_check_id) if original.clock_check_id else None,
                "frame_rate_assumed": original.frame_rate_assumed,
            },
            **common,
        )
        append_event(
            session,
            action="original.locked",
            details={
                "retention_mode": prepared.lock.mode,
                "retention_category": prepared.lock.category,
                "retain_until": retain_until.isoformat(),
                "legal_hold": True,
            },
            **common,
        )
        extractions.move(
            session,
            request,
            RequestStatus.footage_received,
            actor,
            "recorder export received",
            details={"original_id": str(original.id)},
        )
        result = {
            "id": original.id,
            "sha256": original.sha256,
            "size": original.size,
            "version_id": original.version_id,
            "media": {
                k: media_fields.get(k)
                for k in ("container", "video_codec", "duration_s", "width", "height", "frame_rate", "start_time_s")
            },
            "frame_rate_assumed": original.frame_rate_assumed,
            "recording_start_recorder": original.recording_start_recorder,
            "clock_offset_s": original.clock_offset_s,
            "clock_offset_source": original.clock_offset_source,
            "clock_check_id": original.clock_check_id,
        }
    _queue_clip(prepared.request_id)
    return result


def _queue_clip(request_id: UUID) -> None:
    """Defer the clip job; if the queue cannot be reached, the periodic clip sweep picks the request up."""
    try:
        from app.jobs import queue
        from app.jobs.tasks import make_clip

        queue.defer(make_clip.name, request_id=str(request_id))
    except Exception:  # noqa: BLE001 - the sweep is the fallback, the upload has succeeded
        log.warning("could not defer the clip job for %s; the sweep will make it", request_id, exc_info=True)
