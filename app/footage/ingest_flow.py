"""Accepting an original for a request: who may upload, what the headers mean, and the order of side effects
(claim → stream → verify → probe → record → lock, with removal of the unlocked version on any refusal; see
app/footage/claims.py)."""

from __future__ import annotations

import dataclasses
import functools
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
from starlette.concurrency import run_in_threadpool

from app.auth.permissions import Actor, ensure_may
from app.core import clock, idempotency, media, native_formats
from app.core.config import get_settings
from app.core.db import UnitOfWork
from app.core.errors import Conflict, DomainError, PayloadTooLarge, RuleViolation
from app.core.params import EARLIEST_YEAR, FINITE_FLOAT, LATEST_YEAR, header_value, within_years
from app.core.storage import StorageError, get_storage
from app.custody.rows import row_state
from app.custody.service import append_event
from app.extractions import service as extractions
from app.extractions.models import ExtractionRequest
from app.extractions.states import RequestStatus
from app.footage import claims, playable, recorder_names, recording_start, segments
from app.footage.clip_queue import queue_clip
from app.footage.clock_checks import offset_for_upload
from app.footage.models import ClockOffsetSource, Original
from app.footage.receive import Received, stream_to_storage
from app.footage.recording_start import RecordingStart
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
    recording_start: str | None
    clock_offset_s: str | None
    frame_rate: str | None
    # The maker or player of a file no reader here decodes: with it such a file is kept for conversion.
    vendor_format: str | None = None


@dataclass(frozen=True)
class ConvertedFrom:
    """The kept original a converted copy derives from, and how it was converted (as the investigator states)."""

    original_id: UUID
    sha256: str
    tool: str
    tool_version: str
    recording_start: RecordingStart


@dataclass(frozen=True)
class Prepared:
    request_id: UUID
    case_id: UUID
    original_id: UUID
    key: str
    filename: str
    recording_start_recorder: datetime | None  # as stated in X-Recording-Start, if it was
    clock_offset_s: float
    frame_rate: float | None
    client_sha256: str | None
    recording_start_stated: str
    lock: LockPeriod
    clock_offset_source: ClockOffsetSource = ClockOffsetSource.none
    clock_check_id: UUID | None = None
    camera_timezone: str = "Asia/Ho_Chi_Minh"
    vendor_format: str | None = None
    converted_from: ConvertedFrom | None = None
    # False for one file of an export in several (POST .../originals): the request waits for `complete`.
    completes: bool = True
    # The upload's claim on its request (claims.claim), dropped in the transaction that records the original.
    claim_token: UUID | None = None


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


def _prepare(
    unit: UnitOfWork, actor: Actor, request_id: UUID, headers: UploadHeaders, *, claim: bool = False
) -> Prepared:
    """Authorise and check an upload before a byte of its body is read; with `claim`, also take the request for
    this upload (committed with the checks), so a second one at the same time is refused now, not after it
    streamed."""
    settings = get_settings()
    if headers.content_length is not None and headers.content_length > settings.max_upload_bytes:
        raise PayloadTooLarge(f"the file exceeds the upload limit of {settings.max_upload_bytes} bytes")
    with unit() as session:
        request = extractions.get_request(session, actor, request_id)
        ensure_may(actor, "footage.upload", request)
        if request.status not in ACCEPTING:
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
        prepared = Prepared(
            request_id=request.id,
            case_id=request.case_id,
            original_id=original_id,
            key=f"originals/{request.id}/{original_id}/{filename}",
            filename=filename,
            recording_start_recorder=stated_recording_start(headers.recording_start, request.camera_timezone),
            clock_offset_s=offset,
            frame_rate=rate,
            client_sha256=client_sha,
            recording_start_stated=(headers.recording_start or "").strip(),
            lock=lock_period(session, request.case_id),
            clock_offset_source=offset_source,
            clock_check_id=check_id,
            camera_timezone=request.camera_timezone,
            vendor_format=vendor_format_named(headers.vendor_format),
        )
        if claim:  # last: every check above passed
            prepared = dataclasses.replace(prepared, claim_token=claims.claim(session, request.id, actor.label))
        return prepared


def stated_recording_start(value: str | None, tz_name: str) -> datetime | None:
    """X-Recording-Start parsed, or None when not given (the file or its name may carry the time)."""
    return parse_recording_start(value, tz_name) if value and value.strip() else None


def vendor_format_named(value: str | None) -> str | None:
    """X-Vendor-Format as stated; percent-encoded UTF-8 is read as X-Filename is (a header carries Latin-1 only,
    and a maker's or player's name may be typed in Vietnamese)."""
    if value is None or not value.strip():
        return None
    name = urllib.parse.unquote(value).strip()
    if len(name) > 100 or not name.isprintable():
        raise RuleViolation("X-Vendor-Format", "name the recorder's maker or player in at most 100 characters")
    return name


async def receive_original(
    unit: UnitOfWork,
    actor: Actor,
    request_id: UUID,
    chunks: AsyncIterator[bytes],
    headers: UploadHeaders,
    idempotency_key: str | None = None,
    *,
    completes: bool = True,
) -> dict[str, Any] | JSONResponse:
    """Stream, hash, probe, lock and record one recorder export, each database step a short transaction of
    `unit`'s. With an Idempotency-Key the key is claimed (and committed) before the bytes stream, so a repeat while
    this one runs is a 409 and a repeat after it returns the stored answer without storing the bytes again; a
    failed upload releases its key. `completes` is False for one file of an export in several (POST
    .../originals): the request then waits for `complete`."""
    route = ("PUT", f"/requests/{request_id}/original") if completes else ("POST", f"/requests/{request_id}/originals")
    print_ = idempotency.fingerprint(*route, dataclasses.asdict(headers))
    async with idempotency.claimed(unit, actor.label, idempotency_key, print_) as held:
        if held.replay is not None:
            async for _ in chunks:  # read the repeated body to its end, keep nothing of it
                pass
            return held.replay
        result = await _receive(unit, actor, request_id, chunks, headers, completes)
        held.complete(201, OriginalReceived, result)
        return result


async def _receive(
    unit: UnitOfWork,
    actor: Actor,
    request_id: UUID,
    chunks: AsyncIterator[bytes],
    headers: UploadHeaders,
    completes: bool = True,
) -> dict[str, Any]:
    # The whole export (PUT) claims the request; the files of an export in several may stream side by side.
    prepared = await run_in_threadpool(functools.partial(_prepare, claim=completes), unit, actor, request_id, headers)
    if not completes:
        prepared = dataclasses.replace(prepared, completes=False)
    return await receive_prepared(unit, actor, prepared, chunks, headers.content_length)


async def receive_prepared(
    unit: UnitOfWork, actor: Actor, prepared: Prepared, chunks: AsyncIterator[bytes], content_length: int | None
) -> dict[str, Any]:
    """Stream, verify, probe, lock and record a file whose upload was authorised and checked into `prepared`."""
    request_id = prepared.request_id
    # The probe's child process starts now and loads its libraries while the body streams.
    async with claims.kept(unit, request_id, prepared.claim_token):
        inspector = await run_in_threadpool(media.Inspector)
        try:
            try:
                received = await stream_to_storage(
                    chunks,
                    prepared.key,
                    get_settings().max_upload_bytes,
                    {"x-amz-meta-request-id": str(request_id)},
                    length=content_length or None,
                )
            except StorageError as exc:
                raise _unavailable(exc) from exc
            return await run_in_threadpool(_accept, unit, actor, prepared, received, inspector)
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


def _accept(
    unit: UnitOfWork, actor: Actor, prepared: Prepared, received: Received, inspector: media.Inspector
) -> dict[str, Any]:
    if received.size == 0:
        raise _refuse(received, RuleViolation("body", EMPTY))
    if prepared.client_sha256 and prepared.client_sha256 != received.sha256:
        raise _refuse(
            received,
            RuleViolation(
                "X-Content-SHA256", f"the bytes received hash to {received.sha256}, not {prepared.client_sha256}"
            ),
        )
    native = native_formats.sniff(get_storage().read_range(received.key, received.version_id, 0, 64))
    named = recorder_names.parse(prepared.filename) if prepared.converted_from is None else None
    if native != native_formats.DHAV and _no_time_stated(prepared, named):
        raise _refuse(received, RuleViolation("X-Recording-Start", NO_TIME))
    fmt, options = media.open_options(prepared.filename, prepared.frame_rate, native)
    url = get_storage().presign_get(received.key, received.version_id, timedelta(minutes=30))
    try:
        info = inspector.inspect(url, options=options, format=fmt)
        if not info.duration_s:
            raise media.MediaError("no duration could be read")
    except media.TruncatedMedia as exc:
        # a recording cut short is refused even with a vendor format named: it decodes, it is just incomplete
        log.info("refused a cut-short upload %s: %s", received.key, exc)
        raise _refuse(received, RuleViolation("body", CUT_SHORT)) from exc
    except media.MediaError as exc:
        if prepared.vendor_format and prepared.converted_from is None:
            return _keep_for_conversion(unit, actor, prepared, received, native, named, str(exc))
        # the decoder's own words (which name the internal storage address) go to the log, never to the uploader
        log.info("refused an unplayable upload %s: %s", received.key, exc)
        raise _refuse(received, RuleViolation("body", NOT_PLAYABLE)) from exc
    file_clock = (
        recording_start.file_clock(received.key, received.version_id, received.size)
        if native == native_formats.DHAV
        else None
    )
    if file_clock is not None:
        # The frames' stamps time the span to the millisecond (the demuxer's duration is whole seconds).
        info = dataclasses.replace(info, duration_s=round(file_clock.span_s + 1 / (info.frame_rate or 25), 6))
    start = _recording_start(prepared, file_clock, named)
    if start is None:
        raise _refuse(received, RuleViolation("X-Recording-Start", NO_TIME))
    media_fields = {**info.as_dict(), **recording_start.native_fields(native, file_clock)}
    return _lock_and_record(unit, actor, prepared, received, media_fields, start)


# What an uploader is told, in words a shopkeeper acts on (the pages show the catalogue's translation).
EMPTY = "The file is empty: nothing arrived. Choose the recording file again and upload it."
NOT_PLAYABLE = (
    "This file does not play as a video. Choose another file: the whole export as the recorder made it, "
    "not a photo, a shortcut or a piece of it."
)
CUT_SHORT = (
    "The file ends before its last frame, as when a copy or download stops early. Copy or export it again from "
    "the recorder and upload the whole file."
)
NO_TIME = (
    "state the recorder's clock at the first frame (ISO 8601, e.g. 2026-11-24T21:15:00): neither the file nor "
    "its name carries it"
)


def _no_time_stated(prepared: Prepared, named: recorder_names.NamedRecording | None) -> bool:
    return prepared.recording_start_recorder is None and named is None and prepared.converted_from is None


def _recording_start(
    prepared: Prepared, file_clock: native_formats.RecorderClock | None, named: recorder_names.NamedRecording | None
) -> RecordingStart | None:
    parent = prepared.converted_from
    return recording_start.resolve(
        file_time=file_clock.first if file_clock else None,
        header=prepared.recording_start_recorder,
        header_stated=prepared.recording_start_stated,
        named=named,
        tz_name=prepared.camera_timezone,
        parent=(parent.original_id, parent.recording_start) if parent else None,
    )


def _keep_for_conversion(
    unit: UnitOfWork,
    actor: Actor,
    prepared: Prepared,
    received: Received,
    native: str | None,
    named: recorder_names.NamedRecording | None,
    decode_error: str,
) -> dict[str, Any]:
    """A file nothing here decodes, kept because the uploader named its vendor format: hashed, locked and
    recorded like any original, marked as needing conversion; the request waits for the converted copy."""
    start = _recording_start(prepared, None, named)
    if start is None:
        raise _refuse(received, RuleViolation("X-Recording-Start", NO_TIME))
    return _lock_and_record(
        unit, actor, prepared, received, {"native_format": native}, start, decode_error=decode_error[-2000:]
    )


def _lock_and_record(
    unit: UnitOfWork,
    actor: Actor,
    prepared: Prepared,
    received: Received,
    media_fields: dict[str, Any],
    start: RecordingStart,
    *,
    decode_error: str | None = None,
) -> dict[str, Any]:
    """Record the original, then lock its object once the row has committed. Until then the object is unlocked,
    so a refusal or failure of the record removes it (or leaves it to the orphan sweep); a failure of the lock
    leaves it to the finish-locks sweep (claims.finish_locks)."""
    retain_until = prepared.lock.until()
    try:
        result = _record(unit, actor, prepared, received, media_fields, retain_until, start, decode_error)
    except BaseException:
        _discard_unrecorded(unit, prepared.original_id, received)
        raise
    claims.lock_quietly(unit, prepared.original_id, actor.label)
    return result


def _discard_unrecorded(unit: UnitOfWork, original_id: UUID, received: Received) -> None:
    """Remove the unlocked version of an upload whose row did not commit. Only when the database says there is
    no row (a commit whose answer was lost may still have written it); else the orphan sweep decides later."""
    try:
        with unit() as session:
            recorded = session.get(Original, original_id) is not None
    except Exception:  # noqa: BLE001 - the database is unreachable: leave the unlocked object to the orphan sweep
        log.warning("upload %s not recorded; its unlocked object is left to the orphan sweep", received.key)
        return
    if not recorded:
        _refuse(received, Conflict("not recorded"))


def _record(
    unit: UnitOfWork,
    actor: Actor,
    prepared: Prepared,
    received: Received,
    media_fields: dict[str, Any],
    retain_until: datetime,
    start: RecordingStart,
    decode_error: str | None,
) -> dict[str, Any]:
    parent = prepared.converted_from
    with unit() as session:
        request = session.get(ExtractionRequest, prepared.request_id, with_for_update=True)
        assert request is not None
        if prepared.claim_token is not None and not claims.release(session, request.id, prepared.claim_token):
            raise Conflict(claims.IN_PROGRESS)  # this upload's claim went stale and another upload took it over
        if not prepared.completes and RequestStatus(request.status) not in segments.ACCEPTING:
            raise Conflict(  # the export was declared whole while this file streamed
                f"the request is {request.status}; its export was completed, no further file is taken",
                extra={"status": request.status},
            )
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
            recording_start_recorder=start.recorder,
            recording_start_stated=prepared.recording_start_stated,
            recording_start_source=start.source.value,
            clock_offset_s=prepared.clock_offset_s,
            clock_offset_source=prepared.clock_offset_source,
            clock_check_id=prepared.clock_check_id,
            uploaded_by=actor.label,
            client_address=actor.client_address,
            received_at=clock.now(),
            retention_mode=prepared.lock.mode,
            retain_until=retain_until,
            legal_hold=True,
            lock_applied_at=None,  # set once the object is locked, after this commits
            vendor_format=prepared.vendor_format,
            needs_conversion=decode_error is not None,
            decode_error=decode_error,
            parent_original_id=parent.original_id if parent else None,
            parent_sha256=parent.sha256 if parent else None,
            conversion_tool=parent.tool if parent else None,
            conversion_tool_version=parent.tool_version if parent else None,
            arrived_after_transition_id=segments.latest_transition_id(session, request.id),
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
                **_lineage(prepared),
            },
            **common,
        )
        if prepared.client_sha256:
            append_event(
                session, action="original.hash_verified", details={"client_sha256": prepared.client_sha256}, **common
            )
        append_event(
            session,
            action="original.needs_conversion" if decode_error is not None else "original.probed",
            details={
                **media_fields,
                **start.details,
                "recording_start_recorder": original.recording_start_recorder.isoformat(),
                "clock_offset_s": original.clock_offset_s,
                "clock_offset_source": original.clock_offset_source,
                "clock_check_id": str(original.clock_check_id) if original.clock_check_id else None,
                "frame_rate_assumed": original.frame_rate_assumed,
                # the decoder's own words stay in the original's record; the log says that it refused
                **({"decoder_refused": True, "vendor_format": prepared.vendor_format} if decode_error else {}),
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
                "row": row_state("originals", original),
            },
            **common,
        )
        if prepared.completes:
            extractions.move(
                session,
                request,
                RequestStatus.needs_conversion if decode_error is not None else RequestStatus.footage_received,
                actor,
                _move_reason(prepared, decode_error),
                details={"original_id": str(original.id), "recording_start_source": original.recording_start_source},
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
            "recording_start_source": original.recording_start_source,
            "clock_offset_s": original.clock_offset_s,
            "clock_offset_source": original.clock_offset_source,
            "clock_check_id": original.clock_check_id,
            "needs_conversion": original.needs_conversion,
            "conversion_message": original.conversion_message,
            "parent_original_id": original.parent_original_id,
        }
    if decode_error is None and prepared.completes:
        queue_clip(prepared.request_id)
    if decode_error is None and playable.wants_media(media_fields):
        playable.queue_copy(prepared.original_id)
    return result


def _lineage(prepared: Prepared) -> dict[str, Any]:
    parent = prepared.converted_from
    details: dict[str, Any] = {}
    if prepared.vendor_format:
        details["vendor_format"] = prepared.vendor_format
    if parent is not None:
        details |= {
            "derived_from": str(parent.original_id),
            "parent_sha256": parent.sha256,
            "conversion_tool": parent.tool,
            "conversion_tool_version": parent.tool_version,
        }
    return details


def _move_reason(prepared: Prepared, decode_error: str | None) -> str:
    if decode_error is not None:
        return f"kept for conversion: no reader here decodes this {prepared.vendor_format} file"
    if prepared.converted_from is not None:
        return "converted copy of the kept original received"
    return "recorder export received"


# A resumable upload (footage/uploads.py) has its object in S3 already: it takes the same checks at creation and
# completion, and joins at the accept step.
prepare = _prepare
accept = _accept
