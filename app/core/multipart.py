"""Checksummed writes to S3 through boto3's public API: single puts, multipart uploads streamed in one call
(`Storage.put_parts`), and the part-level calls a resumable upload makes over several requests.

Every request carries an `x-amz-checksum-crc32` of its bytes, which the server checks before it keeps them
(`BadDigest` otherwise), and is sent under `UNSIGNED-PAYLOAD` (`payload_signing_enabled=False`): a signed
payload would cost a second SHA-256 of every byte beside the evidence SHA-256 the caller computes, and S3
servers such as SeaweedFS do not check it anyway. A multipart upload is created with the CRC32 algorithm and
completed with every part's checksum; the composite checksum the server reports for the object is compared
with the parts sent. CRC32 is ISA-L's, some twenty times faster than zlib's and thirty than SHA-256.

The minio SDK (used for everything else in `storage.py`) offers no public call for a single part; boto3 does.
A part is handed over as the pieces it was received in, read through a seekable view (no join into one buffer).
"""

from __future__ import annotations

import base64
import contextlib
import io
import threading
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import IO, TYPE_CHECKING, Protocol, cast

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

try:
    from isal.isal_zlib import crc32
except ImportError:  # pragma: no cover - a platform without its wheel: the same CRC, slower
    from zlib import crc32

if TYPE_CHECKING:
    from types_boto3_s3.client import S3Client
    from types_boto3_s3.type_defs import CompletedPartTypeDef


class PartSource(Protocol):
    def read_part(self, size: int) -> Sequence[bytes]:
        """The next `size` bytes as pieces; fewer only at the end of the stream, none after it."""
        ...


class ChecksumMismatch(Exception):
    """The server reports a checksum for the stored object other than that of the parts sent."""

    def __init__(self, message: str, version_id: str | None) -> None:
        super().__init__(message)
        self.version_id = version_id  # the version it stored, for the caller to remove


@dataclass(frozen=True)
class Written:
    version_id: str | None
    etag: str


@dataclass(frozen=True)
class SentPart:
    number: int
    etag: str
    crc32: int
    size: int


@dataclass(frozen=True)
class PendingUpload:
    key: str
    upload_id: str
    initiated: datetime | None


def crc32_of(pieces: Sequence[bytes]) -> int:
    crc = 0
    for piece in pieces:
        crc = crc32(piece, crc)
    return crc


def _b64(crc: int) -> str:
    return base64.b64encode(crc.to_bytes(4, "big")).decode()


def composite_crc32(part_crcs: Sequence[int]) -> str:
    """S3's checksum of a multipart object: the CRC32 of the parts' CRC32s, then '-' and the part count."""
    return f"{_b64(crc32(b''.join(c.to_bytes(4, 'big') for c in part_crcs)))}-{len(part_crcs)}"


def s3_client(
    endpoint: str, access_key: str, secret_key: str, *, secure: bool, region: str | None, pool: int = 10
) -> S3Client:
    return boto3.session.Session().client(
        "s3",
        endpoint_url=f"{'https' if secure else 'http'}://{endpoint}",
        aws_access_key_id=access_key,
        aws_secret_access_key=secret_key,
        region_name=region or "us-east-1",
        config=Config(
            s3={"addressing_style": "path", "payload_signing_enabled": False},
            # The checksum is given with each request; the SDK computes none of its own.
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
            retries={"max_attempts": 3, "mode": "standard"},
            max_pool_connections=pool,
        ),
    )


class PiecesBody(io.RawIOBase):
    """Pieces read as one seekable stream (the SDK rewinds a body to retry it), without joining them."""

    def __init__(self, pieces: Sequence[bytes]) -> None:
        self._pieces = [memoryview(p) for p in pieces if p]
        self._size = sum(len(p) for p in self._pieces)
        self._pos = 0

    @property
    def size(self) -> int:
        return self._size

    def as_io(self) -> IO[bytes]:
        return cast("IO[bytes]", self)

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._size}[whence]
        self._pos = max(0, min(self._size, base + offset))
        return self._pos

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        wanted, done, skip = len(buffer), 0, self._pos
        for piece in self._pieces:
            if done == wanted:
                break
            if skip >= len(piece):
                skip -= len(piece)
                continue
            take = min(len(piece) - skip, wanted - done)
            buffer[done : done + take] = piece[skip : skip + take]
            done += take
            skip = 0
        self._pos += done
        return done


class Writer:
    """One bucket's checksummed writes."""

    def __init__(self, client: S3Client, bucket: str) -> None:
        self.client = client
        self.bucket = bucket

    def put(self, key: str, pieces: Sequence[bytes], content_type: str, metadata: dict[str, str]) -> Written:
        """A single PutObject of `pieces`, refused by the server unless it received them intact."""
        crc = _b64(crc32_of(pieces))
        body = PiecesBody(pieces)
        got = self.client.put_object(
            Bucket=self.bucket,
            Key=key,
            Body=body.as_io(),
            ContentLength=body.size,
            ContentType=content_type,
            Metadata=metadata,
            ChecksumCRC32=crc,
        )
        version_id = got.get("VersionId")
        reported = got.get("ChecksumCRC32")
        if reported is not None and reported != crc:
            raise ChecksumMismatch(f"{key}: the server reports CRC32 {reported}, the bytes sent have {crc}", version_id)
        return Written(version_id, got.get("ETag", "").replace('"', ""))

    # -- part-level calls (a multipart upload that may span several requests and processes) ------------
    def start(self, key: str, content_type: str, metadata: dict[str, str]) -> str:
        got = self.client.create_multipart_upload(
            Bucket=self.bucket, Key=key, ContentType=content_type, Metadata=metadata, ChecksumAlgorithm="CRC32"
        )
        return got["UploadId"]

    def send_part(self, key: str, upload_id: str, number: int, pieces: Sequence[bytes]) -> SentPart:
        crc = crc32_of(pieces)
        body = PiecesBody(pieces)
        got = self.client.upload_part(
            Bucket=self.bucket,
            Key=key,
            UploadId=upload_id,
            PartNumber=number,
            Body=body.as_io(),
            ContentLength=body.size,
            ChecksumCRC32=_b64(crc),
        )
        return SentPart(number, got.get("ETag", "").replace('"', ""), crc, body.size)

    def finish(self, key: str, upload_id: str, parts: Sequence[SentPart]) -> Written:
        """Complete the upload from its parts, and check the object's composite checksum against them."""
        completed: list[CompletedPartTypeDef] = [
            {"PartNumber": p.number, "ETag": f'"{p.etag}"', "ChecksumCRC32": _b64(p.crc32)} for p in parts
        ]
        got = self.client.complete_multipart_upload(
            Bucket=self.bucket, Key=key, UploadId=upload_id, MultipartUpload={"Parts": completed}
        )
        version_id = got.get("VersionId")
        reported = got.get("ChecksumCRC32")
        expected = composite_crc32([p.crc32 for p in parts])
        # A composite checksum ("…-N") is the parts'; a full-object one would need the CRC of the whole stream.
        if reported and "-" in reported and reported != expected:
            raise ChecksumMismatch(
                f"{key}@{version_id}: the server reports CRC32 {reported} for the object, its parts give {expected}",
                version_id,
            )
        return Written(version_id, got.get("ETag", "").replace('"', ""))

    def abort(self, key: str, upload_id: str) -> None:
        """Abort a multipart upload (its parts are deleted); one the server no longer knows is already gone."""
        try:
            self.client.abort_multipart_upload(Bucket=self.bucket, Key=key, UploadId=upload_id)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") not in {"NoSuchUpload", "404"}:
                raise

    def pending(self, prefix: str) -> list[PendingUpload]:
        """Multipart uploads begun under `prefix` and neither completed nor aborted."""
        found: list[PendingUpload] = []
        for page in self.client.get_paginator("list_multipart_uploads").paginate(Bucket=self.bucket, Prefix=prefix):
            for upload in page.get("Uploads", []):
                if "Key" in upload and "UploadId" in upload:
                    found.append(PendingUpload(upload["Key"], upload["UploadId"], upload.get("Initiated")))
        return found

    # -- one stream, one call --------------------------------------------------------------------------
    def upload(
        self,
        key: str,
        source: PartSource,
        *,
        part_size: int,
        parts_in_flight: int,
        content_type: str,
        metadata: dict[str, str],
    ) -> Written:
        """A multipart upload of `source`'s parts, `parts_in_flight` at a time: each part is held until its
        request ends, and one more while it waits for room, so the memory is about `part_size` × (parts in
        flight + 1)."""
        upload_id = self.start(key, content_type, metadata)
        room = threading.BoundedSemaphore(parts_in_flight)
        failed = threading.Event()
        sent: list[Future[SentPart]] = []

        def part_done(job: Future[SentPart]) -> None:
            if job.cancelled() or job.exception() is not None:
                failed.set()
            room.release()

        try:
            with ThreadPoolExecutor(parts_in_flight, thread_name_prefix="s3-part") as pool:
                pieces = source.read_part(part_size)
                number = 0
                while pieces:
                    number += 1
                    room.acquire()
                    if failed.is_set():
                        break  # a part was refused: stop reading, its error is raised below
                    job = pool.submit(self.send_part, key, upload_id, number, pieces)
                    job.add_done_callback(part_done)
                    sent.append(job)
                    pieces = ()  # the part is the sender's now: hold no reference while reading the next
                    pieces = source.read_part(part_size)
            return self.finish(key, upload_id, [f.result() for f in sent])
        except BaseException:
            for job in sent:
                job.cancel()
            # The first error is the one to report; an upload that cannot be aborted now is swept later.
            with contextlib.suppress(Exception):
                self.abort(key, upload_id)
            raise
