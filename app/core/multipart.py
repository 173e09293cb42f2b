"""Streaming writes to S3 with a CRC32 checksum on every request, for `storage.Storage.put_parts`.

The minio SDK signs each request's payload with its SHA-256 over plain HTTP (and sends a Content-MD5 over
HTTPS), which costs a second full hash of every upload beside the evidence SHA-256 the caller computes, and
a join of each part into one buffer. Here a part is sent as the pieces it was received in, under
`UNSIGNED-PAYLOAD`, with an `x-amz-checksum-crc32` header that the server checks before it keeps the part
(`BadDigest` otherwise); the multipart upload is created with that algorithm and completed with every part's
checksum, and the composite checksum the server reports for the object is compared with the parts sent.
CRC32 (ISA-L's, some twenty times faster than zlib's and thirty than SHA-256) is checked by every S3 server
that implements the checksum headers (SeaweedFS does; a signed payload's hash it does not check at all).

What this module takes from the SDK beyond its public calls (its connection pool, URL builder, region lookup
and request executor) is pinned by the minio version range in pyproject.toml.
"""

from __future__ import annotations

import base64
import contextlib
import threading
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import urlunsplit

from minio import Minio
from minio.credentials.credentials import Credentials
from minio.error import S3Error
from minio.helpers import DictType, md5sum_hash
from minio.signer import sign_v4_s3
from minio.time import to_amz_date, utcnow

try:
    from isal.isal_zlib import crc32
except ImportError:  # pragma: no cover - a platform without its wheel: the same CRC, slower
    from zlib import crc32

UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
S3_NS = "{http://s3.amazonaws.com/doc/2006-03-01/}"


class PartSource(Protocol):
    def read_part(self, size: int) -> Sequence[bytes]:
        """The next `size` bytes as pieces; fewer only at the end of the stream, none after it."""
        ...


class ChecksumMismatch(Exception):
    """The server reports a checksum for the stored object other than that of the parts sent."""

    def __init__(self, message: str, version_id: str | None) -> None:
        super().__init__(message)
        self.version_id = version_id  # the version it stored, for the caller to remove


class Refused(Exception):
    """The server answered a write with an error status and no S3 error document."""


@dataclass(frozen=True)
class Written:
    version_id: str | None
    etag: str


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


class Writer:
    """One bucket's checksummed writes through an SDK client (its pool, endpoint style and region)."""

    def __init__(self, client: Minio, bucket: str, credentials: Credentials) -> None:
        self.client = client
        self.bucket = bucket
        self.credentials = credentials

    def _send(
        self, method: str, key: str, pieces: Sequence[bytes], headers: dict[str, str], query: DictType
    ) -> tuple[dict[str, str], bytes]:
        """One request whose body is `pieces` (sent as they are, no join), signed without its payload hash."""
        region = self.client._get_region(self.bucket)
        url = self.client._base_url.build(
            method=method, region=region, bucket_name=self.bucket, object_name=key, query_params=query
        )
        date = utcnow()
        headers = {
            **headers,
            "Host": url.netloc,
            "Content-Length": str(sum(len(p) for p in pieces)),
            "x-amz-date": to_amz_date(date),
            "x-amz-content-sha256": UNSIGNED_PAYLOAD,
        }
        signed = sign_v4_s3(
            method=method,
            url=url,
            region=region,
            headers=headers,  # type: ignore[arg-type]
            credentials=self.credentials,
            content_sha256=UNSIGNED_PAYLOAD,
            date=date,
        )
        # A list body is sent piece by piece with the declared Content-Length, and can be sent again on a retry.
        response = self.client._http.urlopen(method, urlunsplit(url), body=list(pieces), headers=signed)
        if response.status != 200:
            if "xml" in response.headers.get("content-type", "") and response.data:
                raise S3Error.fromxml(response)
            raise Refused(f"{method} {url.path}: status {response.status}")
        return {k.lower(): v for k, v in response.headers.items()}, response.data

    def put(self, key: str, pieces: Sequence[bytes], headers: dict[str, str]) -> Written:
        """A single PutObject of `pieces`, refused by the server unless it received them intact."""
        crc = crc32_of(pieces)
        got, _ = self._send("PUT", key, pieces, {**headers, "x-amz-checksum-crc32": _b64(crc)}, {})
        reported = got.get("x-amz-checksum-crc32")
        version_id = got.get("x-amz-version-id")
        if reported is not None and reported != _b64(crc):
            raise ChecksumMismatch(
                f"{key}: the server reports CRC32 {reported}, the bytes sent have {_b64(crc)}", version_id
            )
        return Written(version_id, got.get("etag", "").replace('"', ""))

    def upload(
        self,
        key: str,
        source: PartSource,
        *,
        part_size: int,
        parts_in_flight: int,
        headers: dict[str, str],
    ) -> Written:
        """A multipart upload of `source`'s parts, `parts_in_flight` at a time: each part is held until its
        request ends, and one more while it waits for room, so the memory is about `part_size` × (parts in
        flight + 1)."""
        upload_id = self.client._create_multipart_upload(
            self.bucket, key, {**headers, "x-amz-checksum-algorithm": "CRC32"}
        )
        room = threading.BoundedSemaphore(parts_in_flight)
        failed = threading.Event()
        sent: list[Future[tuple[str, int]]] = []

        def part_done(job: Future[tuple[str, int]]) -> None:
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
                    job = pool.submit(self._upload_part, key, upload_id, number, pieces)
                    job.add_done_callback(part_done)
                    sent.append(job)
                    pieces = ()  # the part is the sender's now: hold no reference while reading the next
                    pieces = source.read_part(part_size)
            results = [f.result() for f in sent]
            return self._complete(key, upload_id, results)
        except BaseException:
            for job in sent:
                job.cancel()
            # The first error is the one to report; an upload that cannot be aborted now expires on the server.
            with contextlib.suppress(Exception):
                self.client._abort_multipart_upload(self.bucket, key, upload_id)
            raise

    def _upload_part(self, key: str, upload_id: str, number: int, pieces: Sequence[bytes]) -> tuple[str, int]:
        crc = crc32_of(pieces)
        got, _ = self._send(
            "PUT",
            key,
            pieces,
            {"x-amz-checksum-crc32": _b64(crc)},
            {"partNumber": str(number), "uploadId": upload_id},
        )
        return got.get("etag", "").replace('"', ""), crc

    def _complete(self, key: str, upload_id: str, results: list[tuple[str, int]]) -> Written:
        root = ET.Element("CompleteMultipartUpload")
        for number, (etag, crc) in enumerate(results, start=1):
            part = ET.SubElement(root, "Part")
            ET.SubElement(part, "PartNumber").text = str(number)
            ET.SubElement(part, "ETag").text = f'"{etag}"'
            ET.SubElement(part, "ChecksumCRC32").text = _b64(crc)
        body = ET.tostring(root)
        response = self.client._execute(
            "POST",
            self.bucket,
            key,
            body=body,
            headers={"Content-Type": "application/xml", "Content-MD5": str(md5sum_hash(body))},
            query_params={"uploadId": upload_id},
        )
        element = ET.fromstring(response.data.decode())
        version_id = response.headers.get("x-amz-version-id")
        etag = (element.findtext(f"{S3_NS}ETag") or "").replace('"', "")
        reported = element.findtext(f"{S3_NS}ChecksumCRC32") or response.headers.get("x-amz-checksum-crc32")
        expected = composite_crc32([crc for _, crc in results])
        # A composite checksum ("…-N") is the parts'; a full-object one would need the CRC of the whole stream.
        if reported and "-" in reported and reported != expected:
            raise ChecksumMismatch(
                f"{key}@{version_id}: the server reports CRC32 {reported} for the object, its parts give {expected}",
                version_id,
            )
        return Written(version_id, etag)
