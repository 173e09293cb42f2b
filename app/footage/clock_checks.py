"""The recorder's clock, measured: a reading of its screen paired with the server's true time at receipt.

A check records the offset (recorder minus true time), how the screen was read, by whom, and how far the
figure can be trusted. The request's latest check is the offset its originals take when the uploader states
none (app.footage.ingest_flow). A photo of the screen is evidence like an original: hashed, locked, logged.

Uncertainty (± seconds) is a rule of thumb per method, stated in UNCERTAINTY_S; the screen shows whole seconds,
and a person typing what they read adds the seconds between looking and sending. When the client says how
long ago the reading was taken (`read_ago_s`, from its own elapsed-time clock, so its wall clock's error does
not enter), the reading is dated that much before receipt and only reaction and rounding remain.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import BinaryIO
from uuid import UUID, uuid4
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.auth.permissions import POLICY, Actor
from app.core import clock
from app.core.errors import Conflict, RuleViolation
from app.core.storage import StorageError, get_storage
from app.custody.service import append_event
from app.extractions import service as extractions
from app.extractions.models import ExtractionRequest
from app.extractions.states import TERMINAL, RequestStatus
from app.footage.models import ClockCheck, ClockCheckMethod, ClockOffsetSource
from app.footage.retention import lock_period
from app.footage.schemas import ClockCheckIn

# A recorder a week off is far outside what owners report; a larger difference is a misreading (wrong day).
MAX_OFFSET_S = 7 * 86400
# method -> (± s when only the time of receipt is known, ± s when the client states when the reading was taken).
# Typed by hand, a reading reaches the server some 10-30 s after the person looked; on site an investigator
# reads and sends at once; a photo's moment is known to the second from the file when the client sends it.
UNCERTAINTY_S: dict[ClockCheckMethod, tuple[float, float]] = {
    ClockCheckMethod.owner_reading: (30.0, 5.0),
    ClockCheckMethod.investigator_on_site: (10.0, 3.0),
    ClockCheckMethod.photo: (60.0, 2.0),
}
PHOTO_MAX_BYTES = 20 * 1024 * 1024
# What a phone's camera writes: the file's first bytes name the format whatever the client claims.
PHOTO_SIGNATURES: tuple[tuple[bytes, int, str, str], ...] = (
    (b"\xff\xd8\xff", 0, "image/jpeg", "jpg"),
    (b"\x89PNG\r\n\x1a\n", 0, "image/png", "png"),
    (b"WEBP", 8, "image/webp", "webp"),
    (b"ftypheic", 4, "image/heic", "heic"),
    (b"ftypheix", 4, "image/heic", "heic"),
    (b"ftypmif1", 4, "image/heif", "heif"),
)


@dataclass(frozen=True)
class Reading:
    """A reading checked against its request, before anything is stored."""

    request: ExtractionRequest
    method: ClockCheckMethod
    displayed_at: datetime  # the screen's time, UTC
    received_at: datetime
    measured_at: datetime
    offset_s: float
    uncertainty_s: float


def _default_method(actor: Actor) -> ClockCheckMethod:
    on_site = actor.role is not None and actor.role in POLICY["footage.clock_check_on_site"]
    return ClockCheckMethod.investigator_on_site if on_site else ClockCheckMethod.owner_reading


def _read(session: Session, actor: Actor, request_id: UUID, body: ClockCheckIn, *, photo: bool) -> Reading:
    """Pair the reading with true time at receipt; refuse what cannot be a reading of this request's recorder."""
    received_at = clock.now()
    request = extractions.get_request(session, actor, request_id)
    if RequestStatus(request.status) in TERMINAL:
        raise Conflict(
            f"the request is {request.status}; its recorder's clock is no longer measured",
            extra={"status": request.status},
        )
    method = ClockCheckMethod.photo if photo else (body.method or _default_method(actor))
    if method == ClockCheckMethod.photo and not photo:
        raise RuleViolation("method", "a photo of the recorder's screen is sent to .../clock-checks/photo")
    if method == ClockCheckMethod.investigator_on_site and method != _default_method(actor):
        raise RuleViolation("method", "only an investigator reading the recorder on site uses investigator_on_site")
    displayed = body.displayed
    if displayed.tzinfo is None:
        displayed = displayed.replace(tzinfo=ZoneInfo(request.camera_timezone))
    displayed_at = displayed.astimezone(UTC)
    read_ago = body.read_ago_s
    measured_at = received_at - timedelta(seconds=read_ago or 0.0)
    offset = round((displayed_at - measured_at).total_seconds(), 3)
    if abs(offset) > MAX_OFFSET_S:
        raise RuleViolation(
            "displayed",
            f"is {abs(offset) / 86400:.1f} days from the true time; a recorder more than a week off is a "
            "misreading: check the date and the time on the screen",
        )
    typed, timed = UNCERTAINTY_S[method]
    return Reading(
        request=request,
        method=method,
        displayed_at=displayed_at,
        received_at=received_at,
        measured_at=measured_at,
        offset_s=offset,
        uncertainty_s=timed if read_ago is not None else typed,
    )


def _record(
    session: Session, actor: Actor, reading: Reading, body: ClockCheckIn, check_id: UUID, **photo: object
) -> ClockCheck:
    request = reading.request
    check = ClockCheck(
        id=check_id,
        request_id=request.id,
        camera_id=request.camera_id,
        method=reading.method,
        displayed_stated=body.displayed.isoformat(),
        displayed_at=reading.displayed_at,
        measured_at=reading.measured_at,
        received_at=reading.received_at,
        read_ago_s=body.read_ago_s,
        offset_s=reading.offset_s,
        uncertainty_s=reading.uncertainty_s,
        measured_by=actor.label,
        client_address=actor.client_address,
        **photo,
    )
    session.add(check)
    session.flush()
    append_event(
        session,
        actor=actor.label,
        action="clock.checked",
        object_type="clock_check",
        object_id=check.id,
        sha256=check.photo_sha256,
        version_id=check.photo_version_id,
        case_id=request.case_id,
        reason="the recorder's screen read and paired with true time",
        where=actor.where(),
        details={
            "request_id": str(request.id),
            "camera_id": str(request.camera_id),
            "camera_timezone": request.camera_timezone,
            "displayed": check.displayed_stated,
            "displayed_utc": check.displayed_at.isoformat(),
            "true_time": check.measured_at.isoformat(),
            "received_at": check.received_at.isoformat(),
            "read_ago_s": check.read_ago_s,
            "offset_s": check.offset_s,
            "method": check.method,
            "uncertainty_s": check.uncertainty_s,
            **({"photo_object_key": check.photo_object_key, "photo_size": check.photo_size} if photo else {}),
        },
    )
    return check


def record_check(session: Session, actor: Actor, request_id: UUID, body: ClockCheckIn) -> ClockCheck:
    """Record a typed reading of the recorder's screen for a request the actor may act on (the request's owner,
    its link, or an investigator of the filing unit), with its custody event, in the caller's transaction."""
    reading = _read(session, actor, request_id, body, photo=False)
    return _record(session, actor, reading, body, uuid4())


def _photo_format(head: bytes) -> tuple[str, str]:
    for signature, at, content_type, suffix in PHOTO_SIGNATURES:
        if head[at : at + len(signature)] == signature:
            return content_type, suffix
    raise RuleViolation("photo", "must be a photo of the recorder's screen (JPEG, PNG, WebP or HEIC)")


def record_photo_check(
    session: Session, actor: Actor, request_id: UUID, body: ClockCheckIn, photo: BinaryIO
) -> ClockCheck:
    """A reading with a photo of the recorder's screen: the photo is hashed, stored and locked as evidence (as an
    original is) before the check and its custody event are written; a refusal leaves no unlocked object."""
    reading = _read(session, actor, request_id, body, photo=True)
    head = photo.read(16)
    content_type, suffix = _photo_format(head)
    digest = hashlib.sha256(head)
    size = len(head)
    while chunk := photo.read(1024 * 1024):
        size += len(chunk)
        if size > PHOTO_MAX_BYTES:
            raise RuleViolation("photo", f"must be at most {PHOTO_MAX_BYTES // (1024 * 1024)} MB")
        digest.update(chunk)
    photo.seek(0)
    check_id = uuid4()
    key = f"clock-photos/{reading.request.id}/{check_id}.{suffix}"
    store = get_storage()
    lock = lock_period(session, reading.request.case_id)
    stored = store.put_stream(
        key, photo, length=size, content_type=content_type, metadata={"x-amz-meta-request-id": str(request_id)}
    )
    try:
        # Locked before the row exists: a crash in between leaves a locked object, never a row without one.
        store.lock(key, stored.version_id, mode=lock.mode, until=lock.until())
        store.set_legal_hold(key, stored.version_id, True)
    except StorageError:
        store.remove_version(key, stored.version_id)
        raise
    return _record(
        session,
        actor,
        reading,
        body,
        check_id,
        photo_object_key=key,
        photo_version_id=stored.version_id,
        photo_sha256=digest.hexdigest(),
        photo_size=size,
        photo_content_type=content_type,
    )


def list_checks(session: Session, actor: Actor, request_id: UUID) -> list[ClockCheck]:
    """A request's clock checks, oldest first, for whoever may see the request."""
    extractions.get_request(session, actor, request_id)
    return list(
        session.scalars(select(ClockCheck).where(ClockCheck.request_id == request_id).order_by(ClockCheck.measured_at))
    )


def latest_check(session: Session, request_id: UUID) -> ClockCheck | None:
    """The request's most recent reading: the offset its originals take when the uploader states none."""
    return session.scalar(
        select(ClockCheck)
        .where(ClockCheck.request_id == request_id)
        .order_by(ClockCheck.measured_at.desc(), ClockCheck.received_at.desc())
        .limit(1)
    )


def offset_for_upload(session: Session, request_id: UUID) -> tuple[float, ClockOffsetSource, UUID | None]:
    """The offset an original takes without X-Clock-Offset-Seconds: the latest check's, else 0 (none)."""
    check = latest_check(session, request_id)
    if check is None:
        return 0.0, ClockOffsetSource.none, None
    return check.offset_s, ClockOffsetSource.clock_check, check.id
