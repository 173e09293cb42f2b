"""The only code that talks to S3 (the minio SDK; checksummed writes and multipart parts as signed requests in
`multipart.py`).

The evidence bucket must have Object Lock (and therefore versioning); every object is addressed by key
*and* version id, so a later write under the same key can never stand in for evidence.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import BinaryIO, Literal

import urllib3
from minio import Minio
from minio.commonconfig import COMPLIANCE, GOVERNANCE
from minio.error import S3Error
from minio.retention import Retention

from app.core.config import Settings, get_settings
from app.core.multipart import (
    ChecksumMismatch,
    PartSource,
    PendingUpload,
    S3Http,
    S3Refused,
    SentPart,
    SpooledPart,
    Writer,
)

RetentionMode = Literal["COMPLIANCE", "GOVERNANCE"]
Headers = dict[str, str | list[str] | tuple[str]]
PART_SIZE = 8 * 1024 * 1024
# Parts sent at once. Each part in flight (plus the one being read) is held in memory, so this bounds an upload's
# memory; two keep a loopback S3 server busy (bench/ingest.py measures the throughput against a raw put).
UPLOAD_PARALLEL_PARTS = 2
MIN_PART_SIZE = 5 * 1024 * 1024  # S3's smallest part (all but the last)
MAX_PARTS = 10_000  # S3's largest part count


def part_size_for(max_bytes: int) -> int:
    """The smallest part size (whole MiB, at least S3's 5 MiB) that fits `max_bytes` into 10,000 parts. Parts
    in flight are held in memory, so a stream's memory is bounded by a few of them, not by the file."""
    mib = 1024 * 1024
    needed = -(-max_bytes // MAX_PARTS)
    return max(MIN_PART_SIZE, -(-needed // mib) * mib)


class StorageError(Exception):
    """The S3 server is unreachable or refused an operation."""


class BucketWithoutObjectLock(StorageError):
    """The configured bucket exists but has no Object Lock; evidence must never go there."""


@dataclass(frozen=True)
class StoredObject:
    key: str
    version_id: str
    etag: str


@dataclass(frozen=True)
class ListedVersion:
    key: str
    version_id: str
    last_modified: datetime | None
    size: int


@dataclass(frozen=True)
class ObjectVersion:
    key: str
    version_id: str
    size: int
    retention_mode: str | None
    retain_until: datetime | None
    legal_hold: bool


def _client(settings: Settings, *, fast: bool = False) -> Minio:
    if not settings.s3_endpoint:
        raise StorageError("s3_endpoint is not set; start the embedded default first")
    http = None
    if fast:
        # Readiness probes must answer quickly: no retries, short timeouts.
        http = urllib3.PoolManager(
            timeout=urllib3.Timeout(connect=2, read=3), retries=urllib3.Retry(total=0), maxsize=2
        )
    return Minio(
        settings.s3_endpoint,
        access_key=settings.s3_access_key,
        secret_key=settings.s3_secret_key,
        secure=settings.s3_secure,
        region=settings.s3_region,
        http_client=http,
    )


class Storage:
    """The evidence bucket: streaming writes, version-pinned reads and links, retention and legal hold."""

    def __init__(self, settings: Settings, *, fast: bool = False) -> None:
        self.bucket = settings.s3_bucket
        self.client = _client(settings, fast=fast)
        self._settings = settings
        self._writer: Writer | None = None

    @property
    def writer(self) -> Writer:
        if self._writer is None:  # made on the first write: a readiness probe needs none
            settings = self._settings
            assert settings.s3_endpoint
            client = S3Http(
                settings.s3_endpoint,
                settings.s3_access_key or "",
                settings.s3_secret_key or "",
                secure=settings.s3_secure,
                region=settings.s3_region,
            )
            self._writer = Writer(client, self.bucket)
        return self._writer

    # -- bucket ---------------------------------------------------------------------------------
    def has_object_lock(self) -> bool:
        try:
            self.client.get_object_lock_config(self.bucket)
        except S3Error as exc:
            if exc.code in {"ObjectLockConfigurationNotFoundError", "InvalidRequest"}:
                return False
            raise
        return True

    def ensure_bucket(self, *, create: bool) -> None:
        """Make sure the evidence bucket exists with Object Lock; refuse one without it."""
        try:
            exists = self.client.bucket_exists(self.bucket)
            if not exists:
                if not create:
                    raise StorageError(f"bucket {self.bucket!r} does not exist and creation is disabled")
                self.client.make_bucket(self.bucket, object_lock=True)
            if not self.has_object_lock():
                raise BucketWithoutObjectLock(
                    f"bucket {self.bucket!r} has no Object Lock; evidence cannot be stored there. "
                    "Create a bucket with Object Lock enabled (see storage/README.md)."
                )
        except S3Error as exc:
            raise StorageError(f"S3 refused the bucket check: {exc.code}: {exc.message}") from exc
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise StorageError(f"S3 server unreachable: {exc}") from exc

    # -- objects --------------------------------------------------------------------------------
    def put_stream(
        self,
        key: str,
        stream: BinaryIO,
        *,
        length: int = -1,
        content_type: str = "application/octet-stream",
        metadata: Headers | None = None,
        part_size: int = PART_SIZE,
    ) -> StoredObject:
        """Stream `stream` to `key` (multipart when large or of unknown length); return its version."""
        return self.put_parts(
            key, _StreamParts(stream), length=length, content_type=content_type, metadata=metadata, part_size=part_size
        )

    def put_parts(
        self,
        key: str,
        source: PartSource,
        *,
        length: int = -1,
        content_type: str = "application/octet-stream",
        metadata: Headers | None = None,
        part_size: int = PART_SIZE,
    ) -> StoredObject:
        """Write `source`'s parts to `key`: one PutObject when it fits a part, else a multipart upload with
        UPLOAD_PARALLEL_PARTS in flight. Every request carries the CRC32 of its bytes, which the server checks
        before keeping them; with `length`, a source that ends early is refused."""
        meta = _metadata(metadata)
        content_type = content_type or "application/octet-stream"
        counted = _Counted(source, None if length < 0 else length)
        try:
            first = counted.read_part(part_size)
            if counted.size < part_size or counted.size == length:
                written = self.writer.put(key, first, content_type, meta)
            else:
                rest = _Resumed(first, counted)
                del first  # held by `rest` until it is sent, by nothing after that
                written = self.writer.upload(
                    key,
                    rest,
                    part_size=part_size,
                    parts_in_flight=UPLOAD_PARALLEL_PARTS,
                    content_type=content_type,
                    metadata=meta,
                )
        except ChecksumMismatch as exc:
            if exc.version_id:
                self.remove_version(key, exc.version_id)
            raise StorageError(f"S3 stored other bytes than were sent for {key}: {exc}") from exc
        except S3Refused as exc:
            raise StorageError(f"S3 refused the upload of {key}: {exc.code}") from exc
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise StorageError(f"S3 server unreachable during upload of {key}: {exc}") from exc
        if not written.version_id:
            raise BucketWithoutObjectLock(f"S3 returned no version id for {key}; versioning is off")
        return StoredObject(key=key, version_id=written.version_id, etag=written.etag)

    # -- a multipart upload over several requests (resumable uploads) ---------------------------------
    @contextmanager
    def _multipart(self, what: str) -> Iterator[None]:
        try:
            yield
        except S3Refused as exc:
            raise StorageError(f"S3 refused {what}: {exc.code}") from exc
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise StorageError(f"S3 server unreachable during {what}: {exc}") from exc

    def start_multipart(self, key: str, *, metadata: Headers | None = None) -> str:
        """Begin a multipart upload to `key`; its id names it in the calls below, from any process."""
        with self._multipart(f"the start of an upload to {key}"):
            return self.writer.start(key, "application/octet-stream", _metadata(metadata))

    def put_part(self, key: str, upload_id: str, number: int, pieces: Sequence[bytes] | SpooledPart) -> SentPart:
        """Send part `number` (all but the last at least MIN_PART_SIZE), checked by the server's CRC32."""
        with self._multipart(f"part {number} of {key}"):
            return self.writer.send_part(key, upload_id, number, pieces)

    def finish_multipart(self, key: str, upload_id: str, parts: Sequence[SentPart]) -> StoredObject:
        """Join the parts into one object version; the server's composite CRC32 must be the parts'."""
        try:
            with self._multipart(f"the completion of {key}"):
                written = self.writer.finish(key, upload_id, parts)
        except ChecksumMismatch as exc:
            if exc.version_id:
                self.remove_version(key, exc.version_id)
            raise StorageError(f"S3 stored other bytes than were sent for {key}: {exc}") from exc
        if not written.version_id:
            raise BucketWithoutObjectLock(f"S3 returned no version id for {key}; versioning is off")
        return StoredObject(key=key, version_id=written.version_id, etag=written.etag)

    def abort_multipart(self, key: str, upload_id: str) -> None:
        """Abort the upload and let the server delete its parts (an unknown upload is already gone)."""
        with self._multipart(f"the abort of an upload to {key}"):
            self.writer.abort(key, upload_id)

    def pending_multipart(self, prefix: str) -> list[PendingUpload]:
        with self._multipart(f"the listing of uploads under {prefix}"):
            return self.writer.pending(prefix)

    def put_file(self, key: str, path: Path, *, content_type: str = "application/octet-stream") -> StoredObject:
        with path.open("rb") as fh:
            return self.put_stream(key, fh, length=path.stat().st_size, content_type=content_type)

    @contextmanager
    def open_version(self, key: str, version_id: str, *, offset: int = 0) -> Iterator[urllib3.BaseHTTPResponse]:
        """A streaming reader of exactly one version (never "the latest")."""
        try:
            response = self.client.get_object(self.bucket, key, version_id=version_id, offset=offset)
        except S3Error as exc:
            raise StorageError(f"S3 refused the read of {key}@{version_id}: {exc.code}") from exc
        try:
            yield response
        finally:
            response.close()
            response.release_conn()

    def read_range(self, key: str, version_id: str, offset: int, length: int) -> bytes:
        """`length` bytes of one version from `offset` (one ranged GET: a file's head or tail, not the file)."""
        try:
            response = self.client.get_object(self.bucket, key, version_id=version_id, offset=offset, length=length)
        except S3Error as exc:
            raise StorageError(f"S3 refused the read of {key}@{version_id}: {exc.code}") from exc
        try:
            return response.read()
        finally:
            response.close()
            response.release_conn()

    def iter_version(self, key: str, version_id: str, chunk_size: int = 1024 * 1024) -> Iterator[bytes]:
        with self.open_version(key, version_id) as response:
            yield from response.stream(chunk_size)

    def download(self, key: str, version_id: str, path: Path) -> None:
        with path.open("wb") as out:
            for chunk in self.iter_version(key, version_id):
                out.write(chunk)

    def stat(self, key: str, version_id: str) -> ObjectVersion:
        try:
            st = self.client.stat_object(self.bucket, key, version_id=version_id)
        except S3Error as exc:
            raise StorageError(f"S3 has no {key}@{version_id}: {exc.code}") from exc
        meta = {k.lower(): v for k, v in (st.metadata or {}).items()}
        until = meta.get("x-amz-object-lock-retain-until-date")
        return ObjectVersion(
            key=key,
            version_id=version_id,
            size=st.size or 0,
            retention_mode=meta.get("x-amz-object-lock-mode"),
            retain_until=datetime.fromisoformat(until.replace("Z", "+00:00")) if until else None,
            legal_hold=meta.get("x-amz-object-lock-legal-hold") == "ON",
        )

    def presign_get(self, key: str, version_id: str, expires: timedelta, *, filename: str | None = None) -> str:
        headers: Headers | None = None
        if filename:
            headers = {"response-content-disposition": f'attachment; filename="{filename}"'}
        return self.client.presigned_get_object(
            self.bucket, key, expires=expires, version_id=version_id, response_headers=headers
        )

    def lock(self, key: str, version_id: str, *, mode: RetentionMode, until: datetime) -> None:
        """Apply Object Lock retention to one version: from then on the server refuses its deletion."""
        self.client.set_object_retention(
            self.bucket,
            key,
            Retention(COMPLIANCE if mode == "COMPLIANCE" else GOVERNANCE, until),
            version_id=version_id,
        )

    def set_legal_hold(self, key: str, version_id: str, on: bool) -> None:
        if on:
            self.client.enable_object_legal_hold(self.bucket, key, version_id=version_id)
        else:
            self.client.disable_object_legal_hold(self.bucket, key, version_id=version_id)

    def versions(self, key: str) -> list[str]:
        """Version ids stored under exactly `key`, newest first."""
        return [
            str(o.version_id)
            for o in self.client.list_objects(self.bucket, prefix=key, include_version=True)
            if o.object_name == key and o.version_id and not o.is_delete_marker
        ]

    def list_versions(self, prefix: str) -> Iterator[ListedVersion]:
        """Every stored version under `prefix` (delete markers left out), as the server lists them."""
        try:
            for o in self.client.list_objects(self.bucket, prefix=prefix, recursive=True, include_version=True):
                if o.object_name and o.version_id and not o.is_delete_marker:
                    yield ListedVersion(str(o.object_name), str(o.version_id), o.last_modified, o.size or 0)
        except S3Error as exc:
            raise StorageError(f"S3 refused the listing of {prefix}: {exc.code}") from exc

    def remove_version(self, key: str, version_id: str) -> None:
        """Delete one version; the server refuses it while the version is locked or held."""
        try:
            self.client.remove_object(self.bucket, key, version_id=version_id)
        except S3Error as exc:
            raise StorageError(f"S3 refused deletion of {key}@{version_id}: {exc.code}") from exc


def _metadata(metadata: Headers | None) -> dict[str, str]:
    """User metadata as S3 stores it: `x-amz-meta-` names without the prefix."""
    prefix = "x-amz-meta-"
    return {
        (str(k)[len(prefix) :] if str(k).lower().startswith(prefix) else str(k)): str(v)
        for k, v in (metadata or {}).items()
    }


class _StreamParts:
    """A file-like as parts (one piece each)."""

    def __init__(self, stream: BinaryIO) -> None:
        self.stream = stream

    def read_part(self, size: int) -> Sequence[bytes]:
        pieces: list[bytes] = []
        while size > 0 and (data := self.stream.read(size)):
            pieces.append(data)
            size -= len(data)
        return pieces


class _Counted:
    """A source read up to a declared length (refused if it ends before), counting what it gives."""

    def __init__(self, source: PartSource, length: int | None) -> None:
        self.source = source
        self.length = length
        self.size = 0

    def read_part(self, size: int) -> Sequence[bytes]:
        if self.length is not None:
            size = min(size, self.length - self.size)
        pieces = self.source.read_part(size) if size > 0 else ()
        got = sum(len(p) for p in pieces)
        self.size += got
        if self.length is not None and got < size:
            raise StorageError(f"the stream ended after {self.size} of the {self.length} bytes declared")
        return pieces


class _Resumed:
    """A source whose first part was already read (to choose between a single put and a multipart upload)."""

    def __init__(self, first: Sequence[bytes], rest: PartSource) -> None:
        self.first: Sequence[bytes] | None = first
        self.rest = rest

    def read_part(self, size: int) -> Sequence[bytes]:
        if self.first is not None:
            first, self.first = self.first, None
            return first
        return self.rest.read_part(size)


_storage: Storage | None = None


def get_storage() -> Storage:
    global _storage
    if _storage is None:
        _storage = Storage(get_settings())
    return _storage


def reset_storage() -> None:
    global _storage
    _storage = None


def check_ready(settings: Settings) -> str | None:
    """None when the bucket answers and has Object Lock, else what is wrong."""
    try:
        storage = Storage(settings, fast=True)
        if not storage.client.bucket_exists(settings.s3_bucket):
            return f"bucket {settings.s3_bucket!r} does not exist"
        if not storage.has_object_lock():
            return f"bucket {settings.s3_bucket!r} has no Object Lock"
    except (S3Error, StorageError, urllib3.exceptions.HTTPError, OSError, ValueError) as exc:
        return f"unreachable: {type(exc).__name__}: {exc}"
    return None
