"""A resident's upload to an appeal: the same stream → hash → check → lock → record path as an owner's export,
ending in quarantine. Abuse limits come first: the appeal open, its quota and the address's quota, size and type;
nothing is stored for a refused upload."""

from __future__ import annotations

import io
import logging
import re
import urllib.parse
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from app.appeals.models import Appeal, Submission, SubmissionKind, SubmissionStatus
from app.appeals.service import is_open
from app.auth.models import User
from app.auth.permissions import Actor
from app.cases.models import Case
from app.core import clock, media, phones
from app.core.config import get_settings
from app.core.db import UnitOfWork
from app.core.errors import DomainError, PayloadTooLarge, RuleViolation, ServiceUnavailable, TooManyRequests
from app.core.storage import StorageError, get_storage
from app.custody.rows import row_state
from app.custody.service import append_event
from app.footage.receive import Received, stream_to_storage
from app.footage.retention import lock_period
from app.notifications import staff
from app.notifications.staff_models import StaffAlertKind

log = logging.getLogger(__name__)

# The words a resident agrees to before sending (shown on the page; its version is recorded with each upload).
ATTESTATION_VERSION = "APPEAL-ATTEST-2026-01"
VIDEO_TYPES = {"video/mp4", "video/quicktime", "video/x-matroska", "video/webm", "video/3gpp", "video/x-msvideo"}
PHOTO_TYPES = {"image/jpeg", "image/png", "image/heic", "image/heif", "image/webp"}
DAY = timedelta(hours=24)


class Gone(DomainError):
    status, slug, title = 410, "gone", "Gone"


# What a resident is told, in plain words (marked for the catalogue; the page shows the reader's translation).
def N_(message: str) -> str:  # noqa: N802 - the conventional name of the no-op gettext marker
    return message


CLOSED = N_("This appeal is closed and takes no more footage. Thank you for wanting to help.")
APPEAL_FULL = N_("This appeal has received all the footage it can take. Thank you for wanting to help.")
ADDRESS_FULL = N_("You have sent the most files one person may send to this appeal today. Try again tomorrow.")
TOO_LARGE = N_("The file is larger than %(mb)s MB. Send a shorter video, or only the part that shows the incident.")
WRONG_TYPE = N_("Only videos (MP4, MOV, MKV, WebM, 3GP, AVI) and photos (JPEG, PNG, HEIC, WebP) can be sent.")
NOT_A_VIDEO = N_("This file does not play as a video. Choose the video file itself, as the phone or camera saved it.")
NOT_A_PHOTO = N_("This file is not a photo we can open. Choose the photo itself (JPEG, PNG, HEIC or WebP).")
EMPTY = N_("The file is empty: nothing arrived. Choose the file again and send it.")
ATTEST = N_("Confirm the statement above before sending.")
# Every message above, for the page to translate what the API answers.
MESSAGES = (CLOSED, APPEAL_FULL, ADDRESS_FULL, TOO_LARGE, WRONG_TYPE, NOT_A_VIDEO, NOT_A_PHOTO, EMPTY, ATTEST)


@dataclass(frozen=True)
class SubmissionHeaders:
    filename: str
    content_type: str
    content_length: int | None
    attestation: str | None
    taken_at: str | None = None
    lat: str | None = None
    lon: str | None = None
    name: str | None = None
    phone: str | None = None
    description: str | None = None


@dataclass(frozen=True)
class Checked:
    appeal_id: UUID
    case_id: UUID
    unit_id: UUID
    submission_id: UUID
    key: str
    filename: str
    content_type: str
    kind: SubmissionKind
    taken_at: datetime | None
    lat: float | None
    lon: float | None
    name: str | None
    phone: str | None
    description: str | None


def _text(value: str | None, field: str, limit: int) -> str | None:
    """A header the page sends percent-encoded (Vietnamese names and descriptions are not Latin-1)."""
    if value is None:
        return None
    decoded = urllib.parse.unquote(value).strip()
    if len(decoded) > limit or not decoded.replace("\n", " ").isprintable():
        raise RuleViolation(field, f"at most {limit} printable characters")
    return decoded or None


def _float(value: str | None, field: str, low: float, high: float) -> float | None:
    if value is None or not value.strip():
        return None
    try:
        number = float(value)
    except ValueError as exc:
        raise RuleViolation(field, f"must be a number between {low} and {high}") from exc
    if not low <= number <= high:
        raise RuleViolation(field, f"must be a number between {low} and {high}")
    return number


def _taken_at(value: str | None, tz_name: str) -> datetime | None:
    if value is None or not value.strip():
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError as exc:
        raise RuleViolation("X-Taken-At", "must be a date and time, e.g. 2026-11-24T21:15") from exc
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=ZoneInfo(tz_name))  # a phone's local time
    if not datetime(2000, 1, 1, tzinfo=UTC) <= parsed <= clock.now() + timedelta(minutes=10):
        raise RuleViolation("X-Taken-At", "must be a time in the past")
    return parsed.astimezone(UTC)


def _filename(raw: str) -> str:
    name = urllib.parse.unquote(raw).replace("\\", "/").rsplit("/", 1)[-1].strip()
    name = re.sub(r"[^\w.\- ()]+", "_", name)[:200]
    if not name or name in {".", ".."}:
        raise RuleViolation("X-Filename", "must name the file, e.g. VID_20261124_211500.mp4")
    return name


def _kind(content_type: str) -> SubmissionKind:
    plain = content_type.split(";", 1)[0].strip().lower()
    if plain in VIDEO_TYPES:
        return SubmissionKind.video
    if plain in PHOTO_TYPES:
        return SubmissionKind.photo
    raise RuleViolation("Content-Type", WRONG_TYPE)


def check(unit: UnitOfWork, actor: Actor, slug: str, headers: SubmissionHeaders) -> Checked:
    """Everything decided before a byte is stored: the appeal open, the quotas, the headers' shape."""
    settings = get_settings()
    with unit() as session:
        appeal = session.scalar(select(Appeal).where(Appeal.slug == slug))
        if appeal is None:
            from app.core.errors import NotFound

            raise NotFound("no appeal at this address")
        if not is_open(appeal):
            raise Gone(CLOSED)
        if headers.attestation != ATTESTATION_VERSION:
            raise RuleViolation("X-Attestation", ATTEST)
        if headers.content_length is not None and headers.content_length > settings.appeal_max_upload_bytes:
            raise PayloadTooLarge(TOO_LARGE % {"mb": settings.appeal_max_upload_bytes // 1024**2})
        kind = _kind(headers.content_type)
        total = session.scalar(select(func.count()).where(Submission.appeal_id == appeal.id)) or 0
        if total >= settings.appeal_max_submissions:
            raise TooManyRequests(APPEAL_FULL)
        if actor.client_address is not None:
            since = clock.now() - DAY
            first, mine = session.execute(
                select(func.min(Submission.received_at), func.count()).where(
                    Submission.appeal_id == appeal.id,
                    Submission.client_address == actor.client_address,
                    Submission.received_at > since,
                )
            ).one()
            if mine >= settings.appeal_max_per_address:
                wait = max(60, int((first + DAY - clock.now()).total_seconds()))
                raise TooManyRequests(ADDRESS_FULL, headers={"Retry-After": str(wait)})
        lat = _float(headers.lat, "X-Lat", -90, 90)
        lon = _float(headers.lon, "X-Lon", -180, 180)
        if (lat is None) != (lon is None):
            raise RuleViolation("X-Lon" if lon is None else "X-Lat", "the map pin needs both latitude and longitude")
        # Kept in E.164 like owners' phones (app.core.phones), shown as people write it.
        try:
            phone = phones.normalise_optional(_text(headers.phone, "X-Contact-Phone", 20))
        except phones.PhoneError as exc:
            raise RuleViolation("X-Contact-Phone", "a phone number of 8 to 20 digits, e.g. 0912 345 678") from exc
        filename = _filename(headers.filename)
        submission_id = uuid4()
        return Checked(
            appeal_id=appeal.id,
            case_id=appeal.case_id,
            unit_id=appeal.unit_id,
            submission_id=submission_id,
            key=f"appeals/{appeal.id}/{submission_id}/{filename}",
            filename=filename,
            content_type=headers.content_type.split(";", 1)[0].strip().lower(),
            kind=kind,
            taken_at=_taken_at(headers.taken_at, appeal.timezone),
            lat=lat,
            lon=lon,
            name=_text(headers.name, "X-Contact-Name", 120),
            phone=phone,
            description=_text(headers.description, "X-Description", 1000),
        )


async def receive(
    unit: UnitOfWork, actor: Actor, slug: str, chunks: AsyncIterator[bytes], headers: SubmissionHeaders
) -> dict[str, Any]:
    """Check, stream to evidence storage while hashing, check the content, lock and record in quarantine."""
    checked = await run_in_threadpool(check, unit, actor, slug, headers)
    try:
        received = await stream_to_storage(
            chunks,
            checked.key,
            get_settings().appeal_max_upload_bytes,
            {"x-amz-meta-appeal-id": str(checked.appeal_id)},
            length=headers.content_length or None,
        )
    except PayloadTooLarge as exc:
        raise PayloadTooLarge(TOO_LARGE % {"mb": get_settings().appeal_max_upload_bytes // 1024**2}) from exc
    except StorageError as exc:
        log.warning("evidence storage failed during an appeal upload: %s", exc)
        raise ServiceUnavailable("evidence storage is unavailable; nothing was kept, send the file again") from exc
    return await run_in_threadpool(_accept, unit, actor, checked, received)


def _refuse(received: Received, error: DomainError) -> DomainError:
    try:
        get_storage().remove_version(received.key, received.version_id)
    except StorageError:
        log.exception("could not remove refused appeal upload %s@%s", received.key, received.version_id)
    return error


PHOTO_MAGIC = (
    (b"\xff\xd8\xff", "jpeg"),
    (b"\x89PNG\r\n\x1a\n", "png"),
)


def photo_fields(head: bytes) -> dict[str, Any] | None:
    """What the first bytes say of a photo: its format and, for JPEG/PNG/WebP, its size in pixels."""
    fmt = next((name for magic, name in PHOTO_MAGIC if head.startswith(magic)), None)
    if fmt is None and head[4:8] == b"ftyp" and head[8:12] in {b"heic", b"heix", b"mif1", b"msf1", b"heif"}:
        return {"container": "heif"}
    if fmt is None and head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        fmt = "webp"
    if fmt is None:
        return None
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(head)) as image:  # reads the header only
            return {"container": fmt, "width": image.width, "height": image.height}
    except (UnidentifiedImageError, OSError, ValueError):
        return None


def _accept(unit: UnitOfWork, actor: Actor, checked: Checked, received: Received) -> dict[str, Any]:
    if received.size == 0:
        raise _refuse(received, RuleViolation("body", EMPTY))
    store = get_storage()
    if checked.kind == SubmissionKind.photo:
        fields = photo_fields(store.read_range(received.key, received.version_id, 0, 65536))
        if fields is None:
            raise _refuse(received, RuleViolation("body", NOT_A_PHOTO))
    else:
        url = store.presign_get(received.key, received.version_id, timedelta(minutes=30))
        inspector = media.Inspector()
        try:
            info = inspector.inspect(url)
            if not info.duration_s:
                raise media.MediaError("no duration could be read")
        except media.MediaError as exc:
            log.info("refused an unplayable appeal upload %s: %s", received.key, exc)
            raise _refuse(received, RuleViolation("body", NOT_A_VIDEO)) from exc
        finally:
            inspector.close()
        fields = {k: v for k, v in info.as_dict().items() if k != "start_time_s"}
    with unit() as session:
        period = lock_period(session, checked.case_id)
    until = clock.now() + timedelta(days=get_settings().appeal_quarantine_days)
    # Locked and held before the row exists: a crash in between leaves a locked orphan for the sweep to report.
    store.lock(received.key, received.version_id, mode=period.mode, until=until)
    store.set_legal_hold(received.key, received.version_id, True)
    return _record(unit, actor, checked, received, fields, period.mode, until)


def _record(
    unit: UnitOfWork,
    actor: Actor,
    checked: Checked,
    received: Received,
    fields: dict[str, Any],
    mode: str,
    until: datetime,
) -> dict[str, Any]:
    with unit() as session:
        submission = Submission(
            id=checked.submission_id,
            appeal_id=checked.appeal_id,
            case_id=checked.case_id,
            unit_id=checked.unit_id,
            status=SubmissionStatus.quarantined,
            kind=checked.kind,
            object_key=received.key,
            version_id=received.version_id,
            sha256=received.sha256,
            size=received.size,
            filename=checked.filename,
            content_type=checked.content_type,
            media=fields,
            taken_at=checked.taken_at,
            lat=checked.lat,
            lon=checked.lon,
            description=checked.description,
            contributor_name=checked.name,
            contributor_phone=checked.phone,
            attestation_version=ATTESTATION_VERSION,
            client_address=actor.client_address,
            received_at=clock.now(),
            retention_mode=mode,
            retain_until=until,
            legal_hold=True,
        )
        session.add(submission)
        session.flush()
        common: dict[str, Any] = {
            "actor": actor.label,
            "object_type": "appeal_submission",
            "object_id": submission.id,
            "sha256": submission.sha256,
            "version_id": submission.version_id,
            "case_id": submission.case_id,
            "where": actor.where("appeal"),
        }
        append_event(
            session,
            action="submission.received",
            details={
                "appeal_id": str(checked.appeal_id),
                "object_key": received.key,
                "size": received.size,
                "filename": checked.filename,
                "content_type": checked.content_type,
                "kind": checked.kind.value,
                "taken_at": checked.taken_at.isoformat() if checked.taken_at else None,
                "pin": [checked.lat, checked.lon] if checked.lat is not None else None,
                "named": checked.name is not None or checked.phone is not None,
                "attestation_version": ATTESTATION_VERSION,
            },
            **common,
        )
        append_event(session, action="submission.probed", details=fields, **common)
        append_event(
            session,
            action="submission.quarantined",
            details={
                "retention_mode": mode,
                "retain_until": until.isoformat(),
                "legal_hold": True,
                "row": row_state("appeal_submissions", submission),
            },
            **common,
        )
        _tell_unit(session, submission)
        return {
            "reference": str(submission.id).split("-", 1)[0].upper(),
            "sha256": submission.sha256,
            "size": submission.size,
            "received_at": submission.received_at,
            "status": submission.status,
        }


def _tell_unit(session: Session, submission: Submission) -> int:
    """Tell the appeal's publisher and the case's lead investigator (active, still of the case's unit) that a
    resident sent something: in the app and by email, in this transaction."""
    appeal = session.get(Appeal, submission.appeal_id)
    case = session.get(Case, submission.case_id)
    assert appeal is not None and case is not None
    told = 0
    for user_id in dict.fromkeys([appeal.created_by, case.lead_investigator_id]):
        user = session.get(User, user_id)
        if user is None or not user.is_active or user.unit_id != submission.unit_id:
            continue
        raised = staff.raise_alert(
            session,
            user_id=user.id,
            unit_id=user.unit_id,
            email=user.email,
            locale=user.locale,
            kind=StaffAlertKind.appeal_submission,
            request_id=None,
            case_id=case.id,
            params={
                "case_number": case.number,
                "appeal_title": appeal.title,
                "submission_kind": submission.kind.value,  # worded by the template in the reader's language
            },
            link=f"{get_settings().public_base_url.rstrip('/')}/appeals/{appeal.id}",
        )
        told += raised is not None
    return told
