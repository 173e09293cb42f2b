"""Resumable uploads (tus 1.0): an original sent in as many requests as the connection needs.

Creation checks what a PUT of the original checks (who, the request accepting footage, the headers) and
begins an S3 multipart upload; each PATCH streams on into it in parts, hashing on the way with a SHA-256 whose
state is saved with the offset, so no byte is read twice; the last bytes complete the upload, and the object,
already in S3, joins the PUT's path at the verify → probe → lock → record step (`ingest_flow.accept`), after
the same checks run again. Everything needed to go on lives in PostgreSQL, so any process can take the next
request, and a restart loses at most the bytes of a part not yet acknowledged (the client is told the offset).
An upload left unfinished past its expiry is swept: its multipart upload aborted (the server drops the parts)
and its row deleted.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import dataclasses
import logging
from collections import deque
from collections.abc import AsyncIterator, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect

from app.auth import links, throttle
from app.auth.links import refusal_reason
from app.auth.models import OwnerLink
from app.auth.permissions import Actor, ActorKind
from app.core import clock, media
from app.core.config import get_settings
from app.core.db import get_engine, read_session, write_session
from app.core.errors import (
    Conflict,
    DomainError,
    NotFound,
    PayloadTooLarge,
    RuleViolation,
    ServiceUnavailable,
    Unauthorized,
)
from app.core.multipart import SentPart, SpooledPart
from app.core.sha256state import ResumableSha256
from app.core.storage import StorageError, get_storage, part_size_for
from app.footage import ingest_flow
from app.footage.ingest_flow import UploadHeaders
from app.footage.receive import Received
from app.footage.upload_models import ResumableUpload, UploadedPart, UploadTailSlice

log = logging.getLogger(__name__)
PARTS_IN_FLIGHT = 3  # parts being sent (and recorded) while the next is received; spooled, not in memory
BODY_PIECE = 1024 * 1024  # the body is taken from the connection this much at a time
# A resumable upload's parts: this size (fewer requests to S3 and fewer records than S3's 5 MiB least), or
# larger when the largest upload accepted needs it to fit S3's 10,000 parts.
UPLOAD_PART_SIZE = 8 * 1024 * 1024
# The tail is written and read in slices of this size, a row each: a slice at a time in the database driver's
# buffers, not the whole tail (up to a part) joined, escaped and parsed in several copies.
TAIL_SLICE = 256 * 1024
# How long a request waits for another still appending to the same upload: a dropped request settles (its parts
# in flight acknowledged and recorded, its tail kept) in well under a second; a client's HEAD after a drop then
# learns the settled offset and its next PATCH fits, instead of a refusal and a retry seconds later.
SETTLE_WAIT_MS = 3000
LOCK_NOT_AVAILABLE = "55P03"  # PostgreSQL's lock_not_available: the wait ran out
EXPORT_PART = "export_part"  # kept beside the recorder headers: one file of an export in several
UPLOAD_SWEEP_TASK = "footage.sweep_uploads"  # the periodic sweep of expired uploads, run by the worker


def part_size() -> int:
    """The size of a resumable upload's parts: a client that sends requests of a multiple of it ends each on a
    part boundary, so no tail is kept in the database between its requests (the owner pages' tus client does)."""
    return max(UPLOAD_PART_SIZE, part_size_for(get_settings().max_upload_bytes))


class UploadBusy(DomainError):
    """Another request is appending to this upload (a client's retry while the dropped one winds down)."""

    status, slug, title = 423, "locked", "Locked"


@dataclass(frozen=True)
class UploadState:
    id: UUID
    length: int
    offset: int
    expires_at: datetime
    original: dict[str, Any] | None = None  # the recorded original, once the last bytes are in


def _expiry() -> timedelta:
    return timedelta(hours=get_settings().upload_expiry_hours)


def _holder_checked(upload: ResumableUpload | None, actor: Actor | None, upload_id: UUID) -> ResumableUpload:
    """The upload, if the caller may go on with it and it has not expired; else as missing."""
    if (
        upload is None
        or upload.expires_at <= clock.now()
        or (upload.user_id is not None and (actor is None or actor.user_id != upload.user_id))
    ):
        raise NotFound(f"upload {upload_id} not found (unknown, expired or not yours)")
    return upload


def _state(upload: ResumableUpload, original: dict[str, Any] | None = None) -> UploadState:
    return UploadState(upload.id, upload.length, upload.offset, upload.expires_at, original)


def _push_expiry(upload_id: UUID) -> datetime:
    """An upload a client is still busy with expires a full period after its last request."""
    expires_at = clock.now() + _expiry()
    with write_session() as session:
        session.execute(update(ResumableUpload).where(ResumableUpload.id == upload_id).values(expires_at=expires_at))
    return expires_at


# -- creation -------------------------------------------------------------------------------------
def parse_metadata(raw: str) -> dict[str, str]:
    """tus `Upload-Metadata`: comma-separated `key base64(value)` pairs (a key alone has an empty value)."""
    found: dict[str, str] = {}
    for pair in filter(None, (p.strip() for p in raw.split(","))):
        key, _, encoded = pair.partition(" ")
        try:
            found[key] = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError) as exc:
            raise RuleViolation("Upload-Metadata", f"the value of {key!r} is not base64 of UTF-8 text") from exc
    return found


def begin(actor: Actor | None, raw_metadata: str, length: int, client_address: str | None, path: str) -> UploadState:
    """Creation as the tus client asks for it: the owner link's `token`, or the bearer account and a
    `request_id`; the recorder headers from the metadata."""
    meta = parse_metadata(raw_metadata)
    if meta.get("token"):
        throttle.check(throttle.OWNER_LINKS, client_address, path)
        with write_session() as session:
            link = links.resolve(session, meta["token"], client_address, path)
            actor = Actor(
                kind=ActorKind.link, link_id=link.id, link_request_id=link.request_id, client_address=client_address
            )
        request_id = link.request_id
    else:
        if actor is None:
            raise Unauthorized("sign in, or name the owner link's token in Upload-Metadata")
        try:
            request_id = UUID(meta.get("request_id", ""))
        except ValueError as exc:
            raise RuleViolation("Upload-Metadata", "request_id must name the request (a UUID)") from exc
    if not meta.get("filename"):
        raise RuleViolation("Upload-Metadata", "filename must name the exported file, e.g. ch01_20261124.mp4")
    headers = UploadHeaders(
        filename=meta["filename"],
        content_length=length,
        client_sha256=meta.get("sha256") or None,
        recording_start=meta.get("recording_start") or None,
        clock_offset_s=meta.get("clock_offset_seconds") or None,
        frame_rate=meta.get("frame_rate") or None,
        vendor_format=meta.get("vendor_format") or None,
    )
    return create(actor, request_id, length, headers, export_part=_export_part(meta.get("export_part")))


def _export_part(value: str | None) -> bool:
    """`export_part` in the metadata: the file is one of an export in several (as POST .../originals), and the
    request waits for `POST .../originals/complete`; absent or false, it completes at once (as the PUT)."""
    said = (value or "").strip().lower()
    if said in ("", "0", "false", "no"):
        return False
    if said in ("1", "true", "yes"):
        return True
    raise RuleViolation("Upload-Metadata", "export_part must be true or false")


def create(
    actor: Actor, request_id: UUID, length: int, headers: UploadHeaders, *, export_part: bool = False
) -> UploadState:
    """Begin an upload of `length` bytes for the request, under the rules of a PUT of the original (the owner,
    the request accepting footage, valid recorder headers); nothing is stored when they refuse."""
    limit = get_settings().max_upload_bytes
    if length > limit:
        raise PayloadTooLarge(f"Upload-Length exceeds the upload limit of {limit} bytes")
    prepared = ingest_flow.prepare(
        write_session, actor, request_id, dataclasses.replace(headers, content_length=length)
    )
    storage = get_storage()
    # The multipart upload first: a crash before the row leaves one the sweep finds by its age (never a row
    # pointing at nothing).
    try:
        multipart_id = storage.start_multipart(prepared.key, metadata={"x-amz-meta-request-id": str(request_id)})
    except StorageError as exc:
        # the storage's own words (its address, the object's key) go to the log, never to the uploader
        log.warning("starting the multipart upload of %s failed: %s", prepared.key, exc)
        raise ServiceUnavailable("evidence storage is unavailable; retry the upload") from exc
    now = clock.now()
    upload = ResumableUpload(
        request_id=prepared.request_id,
        user_id=actor.user_id if actor.kind == ActorKind.user else None,
        link_id=actor.link_id if actor.is_link else None,
        length=length,
        offset=0,
        upload_headers={**dataclasses.asdict(headers), **({EXPORT_PART: True} if export_part else {})},
        original_id=prepared.original_id,
        object_key=prepared.key,
        multipart_id=multipart_id,
        sha256_state=ResumableSha256().state(),
        created_at=now,
        expires_at=now + _expiry(),
    )
    try:
        with write_session() as session:
            session.add(upload)
    except BaseException:
        storage.abort_multipart(prepared.key, multipart_id)
        raise
    return _state(upload)


def offset(actor: Actor | None, upload_id: UUID, client_address: str | None = None) -> UploadState:
    """The upload's offset, once a request still appending to it has settled (a dropped one recording its last
    parts), so a client resuming after a drop is told where the bytes really end and its next PATCH fits; while a
    live request goes on appending past `SETTLE_WAIT_MS`, the offset it has reached so far. An upload whose every
    byte arrived but whose completion did not finish (the last PATCH failed after its bytes were saved, or is
    still completing) is completed here first: a client that reads the full length takes the upload as done, so
    that must only be said once its original exists (423 while another request completes it)."""
    with read_session() as session:
        upload = _holder_checked(session.get(ResumableUpload, upload_id), actor, upload_id)
    if upload.completed_at is not None:
        return _state(upload)
    try:
        with _appending(upload_id, SETTLE_WAIT_MS):
            with read_session() as session:
                upload = _holder_checked(session.get(ResumableUpload, upload_id), actor, upload_id)
            if upload.completed_at is not None or upload.offset < upload.length:
                return _state(upload)
            completing = _completing_actor(upload, actor, client_address)
            with _read_tail(upload.id) as tail:
                return _state(upload, _complete(upload, completing, tail))
    except UploadBusy:
        with read_session() as session:
            upload = _holder_checked(session.get(ResumableUpload, upload_id), actor, upload_id)
        if upload.completed_at is not None or upload.offset < upload.length:
            return _state(upload)  # another request is appending: the offset it has recorded so far
        raise


def terminate(actor: Actor | None, upload_id: UUID) -> None:
    """Abandon an unfinished upload: its parts are dropped with the multipart upload, and its row deleted."""
    with _appending(upload_id, SETTLE_WAIT_MS):
        with read_session() as session:
            upload = _holder_checked(session.get(ResumableUpload, upload_id), actor, upload_id)
            if upload.completed_at is not None:
                raise Conflict("the upload is complete: its file is evidence now and stays")
        _discard(upload)


def _discard(upload: ResumableUpload) -> None:
    if upload.completed_at is None:
        get_storage().abort_multipart(upload.object_key, upload.multipart_id)
    with write_session() as session:
        session.execute(delete(ResumableUpload).where(ResumableUpload.id == upload.id))


# -- appending ------------------------------------------------------------------------------------
@contextmanager
def _appending(upload_id: UUID, wait_ms: int = 0) -> Iterator[None]:
    """One writer per upload, across processes: a session-level advisory lock, which PostgreSQL also drops
    with the connection if this process dies. With `wait_ms`, a request waits that long for the one holding it
    (a dropped request winding down takes a fraction of a second) before it is told the upload is busy."""
    key = int.from_bytes(upload_id.bytes[:8], "big", signed=True)
    connection: Connection = get_engine().connect()
    try:
        if not _lock(connection, key, wait_ms):
            raise UploadBusy("another request is appending to this upload; ask for its offset and retry")
        connection.commit()
        try:
            yield
        finally:
            connection.execute(select(func.pg_advisory_unlock(key)))
            connection.commit()
    finally:
        connection.close()


def _lock(connection: Connection, key: int, wait_ms: int) -> bool:
    if wait_ms <= 0:
        return bool(connection.execute(select(func.pg_try_advisory_lock(key))).scalar())
    connection.execute(select(func.set_config("lock_timeout", f"{wait_ms}ms", True)))  # this transaction only
    try:
        connection.execute(select(func.pg_advisory_lock(key)))
    except OperationalError as exc:
        if getattr(exc.orig, "sqlstate", None) != LOCK_NOT_AVAILABLE:
            raise
        connection.rollback()
        return False
    return True


class _Body:
    """The PATCH body as parts for a worker thread: the event loop gathers exactly the bytes asked for (the
    excess kept for the next call); a dropped connection ends the body where it broke."""

    def __init__(self, chunks: AsyncIterator[bytes], loop: asyncio.AbstractEventLoop) -> None:
        self._chunks = chunks
        self._loop = loop
        self._leftover = b""
        self.ended = False
        self.dropped = False

    async def _gather(self, wanted: int) -> list[bytes]:
        pieces = [self._leftover] if self._leftover else []
        have = len(self._leftover)
        self._leftover = b""
        while have < wanted and not self.ended:
            try:
                chunk = await self._chunks.__anext__()
            except StopAsyncIteration:
                self.ended = True
            except ClientDisconnect:
                self.ended = self.dropped = True
            else:
                pieces.append(chunk)
                have += len(chunk)
        if have > wanted:
            excess = have - wanted
            self._leftover = pieces[-1][-excess:]
            pieces[-1] = pieces[-1][:-excess]
        return pieces

    def read(self, wanted: int) -> list[bytes]:
        return asyncio.run_coroutine_threadsafe(self._gather(wanted), self._loop).result()

    @property
    def overflowed(self) -> bool:
        return bool(self._leftover)


async def append(
    actor: Actor | None,
    upload_id: UUID,
    stated_offset: int,
    content_length: int | None,
    chunks: AsyncIterator[bytes],
    client_address: str | None,
) -> UploadState:
    """Append a PATCH body at `stated_offset`, which must be the upload's offset (409 otherwise, so a client
    that lost track asks again); the last bytes complete the upload into an original."""
    body = _Body(chunks, asyncio.get_running_loop())
    return await run_in_threadpool(_append, actor, upload_id, stated_offset, content_length, body, client_address)


def _append(
    actor: Actor | None,
    upload_id: UUID,
    stated_offset: int,
    content_length: int | None,
    body: _Body,
    client_address: str | None,
) -> UploadState:
    if content_length is None:
        raise RuleViolation("Content-Length", "state the length of the bytes sent")
    with _appending(upload_id, SETTLE_WAIT_MS):
        with read_session() as session:
            upload = _holder_checked(session.get(ResumableUpload, upload_id), actor, upload_id)
        if upload.completed_at is not None:
            raise Conflict("the upload is complete", extra={"offset": upload.offset})
        if stated_offset != upload.offset:
            raise Conflict(
                f"Upload-Offset {stated_offset} is not the upload's offset {upload.offset}; ask for it with HEAD",
                extra={"offset": upload.offset},
            )
        if upload.offset + content_length > upload.length:
            raise RuleViolation(
                "Content-Length", f"the upload takes {upload.length - upload.offset} more bytes, not {content_length}"
            )
        if content_length == 0 and upload.offset < upload.length:
            upload.expires_at = _push_expiry(upload.id)  # nothing to add: the tail stays as it is
            return _state(upload)
        upload, tail = _stream(upload, content_length, body)
        with tail:
            if upload.offset < upload.length:
                return _state(upload)
            completing = _completing_actor(upload, actor, client_address)
            return _state(upload, _complete(upload, completing, tail))


def _read_tail(upload_id: UUID) -> SpooledPart:
    """The stored tail, spooled a slice (one row, one query) at a time."""
    tail = SpooledPart()
    try:
        with read_session() as session:
            numbers = session.scalars(
                select(UploadTailSlice.seq).where(UploadTailSlice.upload_id == upload_id).order_by(UploadTailSlice.seq)
            ).all()
            for seq in numbers:
                piece = session.scalar(
                    select(UploadTailSlice.data).where(
                        UploadTailSlice.upload_id == upload_id, UploadTailSlice.seq == seq
                    )
                )
                tail.write([bytes(piece or b"")])
    except BaseException:
        tail.close()
        raise
    return tail


def _stream(upload: ResumableUpload, content_length: int, body: _Body) -> tuple[ResumableUpload, SpooledPart]:
    """Send whole parts as they fill; record each acknowledged part (the offset it reaches, the hash state
    there) in order, and the tail (and its hash) when the body ends, however it ends. Returns the upload and
    its tail, spooled (the caller closes it).

    This thread only takes the body in, hashes it and spools it: a part is sent and recorded by the pool while
    the next one is received, so the body keeps flowing while S3 and PostgreSQL answer. A part is recorded
    only after the part before it, so the stored offset never passes a part that was not acknowledged. Parts
    wait in temporary files, not in memory, which holds a piece of the body at a time."""
    storage = get_storage()
    full = part_size()
    hasher = ResumableSha256.resume(upload.sha256_state)
    with read_session() as session:
        numbered = session.scalar(
            select(func.coalesce(func.max(UploadedPart.number), 0)).where(UploadedPart.upload_id == upload.id)
        )
    number = int(numbered or 0)
    part = _read_tail(upload.id)  # the tail kept by the request before: the first part's beginning
    position, remaining = upload.offset, content_length

    def send_and_record(number: int, part: SpooledPart, after: int, state: bytes, before: Future[None] | None) -> None:
        try:
            sent = storage.put_part(upload.object_key, upload.multipart_id, number, part)
        finally:
            part.close()
        if before is not None:
            before.result()  # recorded first; if it failed, this part is not recorded (its exception is)
        _save(upload.id, after, state, (), sent)

    sending: deque[Future[None]] = deque()
    last: Future[None] | None = None
    try:
        with ThreadPoolExecutor(PARTS_IN_FLIGHT, thread_name_prefix="tus-part") as pool:
            while remaining > 0:
                pieces = body.read(min(BODY_PIECE, full - part.size, remaining))
                got = sum(len(p) for p in pieces)
                hasher.update_all(pieces)
                part.write(pieces)
                del pieces
                position, remaining = position + got, remaining - got
                if part.size == full:
                    while sending and (len(sending) >= PARTS_IN_FLIGHT or sending[0].done()):
                        wait([sending.popleft()])
                    if last is not None and last.done() and last.exception() is not None:
                        break  # a part was refused: take no more; the client resumes from the recorded offset
                    number += 1
                    last = pool.submit(send_and_record, number, part, position, hasher.state(), last)
                    sending.append(last)
                    part = SpooledPart()
                if body.ended:
                    break
        failure = last.exception() if last is not None else None
        if failure is not None:
            log.warning("a part of upload %s was refused or not recorded: %s", upload.id, failure)
            raise ServiceUnavailable(
                "evidence storage refused a part; the upload keeps what was acknowledged, resume it"
            )
        if body.overflowed:
            log.warning("upload %s: body longer than its Content-Length; the excess was ignored", upload.id)
        _save(upload.id, position, hasher.state(), part.slices(TAIL_SLICE), None)
    except BaseException:
        part.close()
        raise
    upload.offset, upload.sha256_state = position, hasher.state()
    return upload, part


def _save(upload_id: UUID, position: int, state: bytes, tail: Iterable[bytes], part: SentPart | None) -> None:
    """Record progress in one transaction: the part just acknowledged (if any), the offset it reaches, the
    hash state at that offset, the tail beyond the parts (written a slice at a time); and push the expiry on."""
    with write_session() as session:
        if part is not None:
            session.add(
                UploadedPart(upload_id=upload_id, number=part.number, etag=part.etag, crc32=part.crc32, size=part.size)
            )
        session.execute(
            update(ResumableUpload)
            .where(ResumableUpload.id == upload_id)
            .values(offset=position, sha256_state=state, expires_at=clock.now() + _expiry())
        )
        session.execute(delete(UploadTailSlice).where(UploadTailSlice.upload_id == upload_id))
        for seq, piece in enumerate(tail):
            session.execute(insert(UploadTailSlice).values(upload_id=upload_id, seq=seq, data=piece))


# -- completion -----------------------------------------------------------------------------------
def _completing_actor(upload: ResumableUpload, actor: Actor | None, client_address: str | None) -> Actor:
    """Who completes the upload, checked again now: the same account, or a link still live."""
    if upload.user_id is not None:
        assert actor is not None  # _holder_checked let only the creating account through
        return actor
    with read_session() as session:
        link = session.get(OwnerLink, upload.link_id)
        reason = refusal_reason(link)
    if reason is not None or link is None or link.request_id != upload.request_id:
        _discard(upload)
        raise NotFound(f"This link is not valid any more ({reason}); the upload was discarded.")
    return Actor(kind=ActorKind.link, link_id=link.id, link_request_id=link.request_id, client_address=client_address)


def _complete(upload: ResumableUpload, actor: Actor, tail: SpooledPart) -> dict[str, Any]:
    """Check the PUT's rules again, join the parts into one object version, and hand it to the ingest path
    (verify the client's hash, probe, lock, record with custody) exactly as a streamed PUT."""
    stated = dict(upload.upload_headers)
    export_part = bool(stated.pop(EXPORT_PART, False))
    headers = UploadHeaders(**{**stated, "content_length": upload.length})
    try:
        prepared = ingest_flow.prepare(write_session, actor, upload.request_id, headers)
    except DomainError:
        _discard(upload)  # the request stopped accepting footage (or the account lost the right) meanwhile
        raise
    prepared = dataclasses.replace(
        prepared, original_id=upload.original_id, key=upload.object_key, completes=not export_part
    )
    storage = get_storage()
    with read_session() as session:
        parts = [
            SentPart(p.number, p.etag, p.crc32, p.size)
            for p in session.scalars(
                select(UploadedPart).where(UploadedPart.upload_id == upload.id).order_by(UploadedPart.number)
            )
        ]
    received_size = sum(p.size for p in parts) + tail.size
    if received_size != upload.length:
        raise Conflict(f"the parts hold {received_size} of {upload.length} bytes; the upload cannot complete")
    inspector = media.Inspector()
    try:
        try:
            if tail.size:
                parts.append(storage.put_part(upload.object_key, upload.multipart_id, len(parts) + 1, tail))
            stored = storage.finish_multipart(upload.object_key, upload.multipart_id, parts)
        except StorageError as exc:
            log.warning("completing the multipart upload of %s failed: %s", upload.object_key, exc)
            raise ServiceUnavailable("evidence storage is unavailable; resume the upload later") from exc
        received = Received(
            key=stored.key,
            version_id=stored.version_id,
            sha256=ResumableSha256.resume(upload.sha256_state).hexdigest(),
            size=upload.length,
        )
        try:
            original = ingest_flow.accept(write_session, actor, prepared, received, inspector)
        except DomainError:
            _discard(_as_completed(upload))  # the refused version is already removed; the row goes too
            raise
    finally:
        inspector.close()
    with write_session() as session:
        session.execute(
            update(ResumableUpload)
            .where(ResumableUpload.id == upload.id)
            .values(completed_at=clock.now(), expires_at=clock.now() + _expiry())
        )
        session.execute(delete(UploadTailSlice).where(UploadTailSlice.upload_id == upload.id))
    return original


def _as_completed(upload: ResumableUpload) -> ResumableUpload:
    upload.completed_at = clock.now()  # its multipart upload is completed: nothing left to abort
    return upload


@dataclass(frozen=True)
class Unfinished:
    """An upload of the request begun and not finished: what the uploader is shown to pick up again."""

    filename: str
    offset: int
    length: int
    export_part: bool


def unfinished(session: Session, request_id: UUID) -> list[Unfinished]:
    """The request's uploads begun, not finished and not expired, oldest first."""
    rows = session.scalars(
        select(ResumableUpload)
        .where(
            ResumableUpload.request_id == request_id,
            ResumableUpload.completed_at.is_(None),
            ResumableUpload.expires_at > clock.now(),
        )
        .order_by(ResumableUpload.created_at)
    )
    return [
        Unfinished(
            str(row.upload_headers.get("filename") or ""),
            row.offset,
            row.length,
            bool(row.upload_headers.get(EXPORT_PART)),
        )
        for row in rows
    ]


# -- expiry ---------------------------------------------------------------------------------------
@dataclass
class SweepReport:
    expired: int = 0  # rows past their expiry, their multipart uploads aborted
    strays: int = 0  # multipart uploads under originals/ with no row, older than the expiry


def sweep_expired() -> SweepReport:
    """Abort and delete uploads past their expiry, and multipart uploads that lost their row (a crash between
    the two steps of creation) once older than the expiry; the S3 server deletes their parts."""
    report = SweepReport()
    now = clock.now()
    with read_session() as session:
        expired = list(session.scalars(select(ResumableUpload).where(ResumableUpload.expires_at <= now)))
        known = set(session.scalars(select(ResumableUpload.multipart_id)))
    for upload in expired:
        try:
            with _appending(upload.id):
                _discard(upload)
        except (UploadBusy, StorageError):
            log.warning("upload %s: not swept now (busy or storage down); the next sweep retries", upload.id)
            continue
        report.expired += 1
    storage = get_storage()
    for pending in storage.pending_multipart("originals/"):
        if pending.upload_id in known or pending.initiated is None or pending.initiated > now - _expiry():
            continue
        storage.abort_multipart(pending.key, pending.upload_id)
        report.strays += 1
    return report
