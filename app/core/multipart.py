"""Checksummed writes to S3 over plain HTTP requests signed with AWS Signature V4: single puts, multipart
uploads streamed in one call (`Writer.upload`), and the part-level calls a resumable upload makes over several
requests.

Every request carries an `x-amz-checksum-crc32` of its bytes, which the server checks before it keeps them
(`BadDigest` otherwise), and is sent under `UNSIGNED-PAYLOAD`: a signed payload would cost a second SHA-256 of
every byte beside the evidence SHA-256 the caller computes, and S3 servers such as SeaweedFS do not check it
anyway. The checksum header itself is signed. A multipart upload is created with the CRC32 algorithm and
completed with every part's checksum; the composite checksum the server reports for the object is compared
with the parts sent. CRC32 is ISA-L's, some twenty times faster than zlib's and thirty than SHA-256.

The minio SDK (used for everything else in `storage.py`) offers no public call for a single part. An SDK that
does (boto3) costs every API process about 20 MB for its S3 model, so these six calls are made here directly:
the requests are signed by the minio SDK's own SigV4 signer (`minio.signer`), go through urllib3 (which minio
loads already), and a part is sent as the pieces it was received in (no join into one buffer).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import tempfile
import threading
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol, cast
from urllib.parse import quote, urlsplit
from xml.etree import ElementTree

import urllib3
from minio.credentials.credentials import Credentials
from minio.signer import sign_v4_s3
from minio.time import to_amz_date

try:
    from isal.isal_zlib import crc32
except ImportError:  # pragma: no cover - a platform without its wheel: the same CRC, slower
    from zlib import crc32

S3_NS = "{http://s3.amazonaws.com/doc/2006-03-01/}"
UNSIGNED = "UNSIGNED-PAYLOAD"
ATTEMPTS = 3  # a request that fails to connect or gets a 5xx is sent again, twice at most
RETRIED_STATUS = frozenset({500, 502, 503, 504})
SPOOL_CHUNK = 1024 * 1024  # a spooled part is sent through a reused buffer of this size


class PartSource(Protocol):
    def read_part(self, size: int) -> Sequence[bytes]:
        """The next `size` bytes as pieces; fewer only at the end of the stream, none after it."""
        ...


class S3Refused(Exception):
    """The S3 server answered with an error (its code, e.g. `BadDigest`, `NoSuchUpload`)."""

    def __init__(self, code: str, message: str, status: int) -> None:
        super().__init__(f"{code}: {message}" if message else code)
        self.code = code
        self.status = status


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


class SpooledPart:
    """A part's bytes in an anonymous temporary file (gone when closed, or when the process ends), with their
    size and CRC32 taken as they are written. A part waiting for S3 then costs the operating system's file
    cache, not the process's memory, so several can be in flight while the next is received; it is sent
    (and sent again, on a retry) from the file through one reused buffer."""

    def __init__(self) -> None:
        # the file lives as long as the part, across threads; `close` ends it
        self._file = tempfile.TemporaryFile(prefix="footage-part-")  # noqa: SIM115
        self.size = 0
        self.crc32 = 0

    def write(self, pieces: Iterable[bytes]) -> None:
        for piece in pieces:
            self._file.write(piece)
            self.size += len(piece)
            self.crc32 = crc32(piece, self.crc32)

    def chunks(self) -> Iterator[memoryview]:
        """The bytes from the start, a buffer at a time (each valid until the next is asked for)."""
        self._file.flush()
        self._file.seek(0)
        buffer = bytearray(SPOOL_CHUNK)
        view = memoryview(buffer)
        while read := self._file.readinto(buffer):
            yield view[:read]

    def slices(self, size: int) -> Iterator[bytes]:
        """The bytes read back in slices of `size`, one at a time (for what is kept elsewhere, such as the
        tail of an upload)."""
        self._file.flush()
        self._file.seek(0)
        while piece := self._file.read(size):
            yield piece

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> SpooledPart:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


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


def _quote(text: str) -> str:
    return quote(text, safe="-_.~")


class S3Http:
    """Signed requests to one S3 endpoint, path-style (`/bucket/key`), through a urllib3 pool."""

    def __init__(
        self, endpoint: str, access_key: str, secret_key: str, *, secure: bool, region: str | None, pool: int = 10
    ) -> None:
        self.host = endpoint
        self.base = f"{'https' if secure else 'http'}://{endpoint}"
        self.credentials = Credentials(access_key, secret_key)
        self.region = region or "us-east-1"
        self.http = urllib3.PoolManager(
            maxsize=pool, timeout=urllib3.Timeout(connect=10, read=300), retries=urllib3.Retry(total=0)
        )

    def _signed(self, method: str, url: str, headers: Mapping[str, str], payload_hash: str) -> dict[str, str]:
        """`headers` with SigV4's (minio's signer): every header given is signed, with the host and payload hash."""
        now = datetime.now(UTC)
        signed: dict[str, str | list[str] | tuple[str]] = {k.lower(): str(v) for k, v in headers.items()}
        signed |= {"host": self.host, "x-amz-content-sha256": payload_hash, "x-amz-date": to_amz_date(now)}
        result = sign_v4_s3(
            method=method,
            url=urlsplit(url),
            region=self.region,
            headers=signed,
            credentials=self.credentials,
            content_sha256=payload_hash,
            date=now,
        )
        return {k: str(v) for k, v in result.items()}

    def request(
        self,
        method: str,
        path: str,
        *,
        query: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        body: bytes | Sequence[bytes] | SpooledPart = b"",
    ) -> urllib3.BaseHTTPResponse:
        """One request, sent again on a failed connection or a 5xx; an S3 error raises `S3Refused`. A body given
        as pieces, or spooled, is streamed as it is (with its Content-Length, unsigned), never joined."""
        query = dict(query or {})
        given = dict(headers or {})
        if isinstance(body, bytes):
            payload_hash, size = hashlib.sha256(body).hexdigest(), len(body)
        elif isinstance(body, SpooledPart):
            payload_hash, size = UNSIGNED, body.size
        else:
            payload_hash, size = UNSIGNED, sum(len(p) for p in body)
        given["content-length"] = str(size)
        url = self.base + quote(path, safe="/-_.~")
        if query:
            # every parameter as `name=value` (`uploads=` too): the form the signature's canonical query takes
            url += "?" + "&".join(f"{_quote(k)}={_quote(v)}" for k, v in sorted(query.items()))
        for attempt in range(1, ATTEMPTS + 1):
            sent: bytes | Iterable[bytes]
            if isinstance(body, bytes):
                sent = body
            elif isinstance(body, SpooledPart):
                sent = cast(Iterable[bytes], body.chunks())  # urllib3 sends any buffer; a view copies nothing
            else:
                sent = iter([p for p in body if p])
            try:
                response = self.http.request(
                    method,
                    url,
                    body=sent,
                    headers=self._signed(method, url, given, payload_hash),
                    preload_content=True,
                    redirect=False,
                )
            except urllib3.exceptions.HTTPError:
                if attempt == ATTEMPTS:
                    raise
            else:
                if response.status < 300:
                    return response
                if response.status not in RETRIED_STATUS or attempt == ATTEMPTS:
                    raise _refusal(response)
            time.sleep(0.1 * 2**attempt)
        raise AssertionError("unreachable")  # pragma: no cover


def _refusal(response: urllib3.BaseHTTPResponse) -> S3Refused:
    code, message = str(response.status), response.reason or ""
    with contextlib.suppress(ElementTree.ParseError):
        root = ElementTree.fromstring(response.data or b"<none/>")
        code = root.findtext("Code") or code
        message = root.findtext("Message") or message
    return S3Refused(code, message, response.status)


def _xml(response: urllib3.BaseHTTPResponse) -> ElementTree.Element:
    """The response's XML document; an `<Error>` (S3 may send one with a 200 to a completion) raises."""
    try:
        root = ElementTree.fromstring(response.data)
    except ElementTree.ParseError as exc:
        raise S3Refused("MalformedResponse", "the server's answer is not XML", response.status) from exc
    for element in root.iter():  # drop the namespace: S3 servers differ in whether they send it
        element.tag = element.tag.removeprefix(S3_NS)
    if root.tag == "Error":
        raise S3Refused(root.findtext("Code") or "error", root.findtext("Message") or "", response.status)
    return root


def _etag(response: urllib3.BaseHTTPResponse) -> str:
    return (response.headers.get("ETag") or "").replace('"', "")


class Writer:
    """One bucket's checksummed writes."""

    def __init__(self, client: S3Http, bucket: str) -> None:
        self.client = client
        self.bucket = bucket

    def _path(self, key: str | None = None) -> str:
        return f"/{self.bucket}/{key}" if key is not None else f"/{self.bucket}"

    def put(self, key: str, pieces: Sequence[bytes], content_type: str, metadata: dict[str, str]) -> Written:
        """A single PutObject of `pieces`, refused by the server unless it received them intact."""
        crc = _b64(crc32_of(pieces))
        headers = {"content-type": content_type, "x-amz-checksum-crc32": crc, **_meta_headers(metadata)}
        got = self.client.request("PUT", self._path(key), headers=headers, body=pieces)
        version_id = got.headers.get("x-amz-version-id")
        reported = got.headers.get("x-amz-checksum-crc32")
        if reported is not None and reported != crc:
            raise ChecksumMismatch(f"{key}: the server reports CRC32 {reported}, the bytes sent have {crc}", version_id)
        return Written(version_id, _etag(got))

    # -- part-level calls (a multipart upload that may span several requests and processes) ------------
    def start(self, key: str, content_type: str, metadata: dict[str, str]) -> str:
        headers = {"content-type": content_type, "x-amz-checksum-algorithm": "CRC32", **_meta_headers(metadata)}
        got = self.client.request("POST", self._path(key), query={"uploads": ""}, headers=headers)
        upload_id = _xml(got).findtext("UploadId")
        if not upload_id:
            raise S3Refused("NoUploadId", "the server started no multipart upload", got.status)
        return upload_id

    def send_part(self, key: str, upload_id: str, number: int, pieces: Sequence[bytes] | SpooledPart) -> SentPart:
        crc = pieces.crc32 if isinstance(pieces, SpooledPart) else crc32_of(pieces)
        size = pieces.size if isinstance(pieces, SpooledPart) else sum(len(p) for p in pieces)
        got = self.client.request(
            "PUT",
            self._path(key),
            query={"partNumber": str(number), "uploadId": upload_id},
            headers={"x-amz-checksum-crc32": _b64(crc)},
            body=pieces,
        )
        return SentPart(number, _etag(got), crc, size)

    def finish(self, key: str, upload_id: str, parts: Sequence[SentPart]) -> Written:
        """Complete the upload from its parts, and check the object's composite checksum against them."""
        document = ElementTree.Element("CompleteMultipartUpload", xmlns=S3_NS.strip("{}"))
        for p in parts:
            part = ElementTree.SubElement(document, "Part")
            ElementTree.SubElement(part, "PartNumber").text = str(p.number)
            ElementTree.SubElement(part, "ETag").text = f'"{p.etag}"'
            ElementTree.SubElement(part, "ChecksumCRC32").text = _b64(p.crc32)
        got = self.client.request(
            "POST",
            self._path(key),
            query={"uploadId": upload_id},
            headers={"content-type": "application/xml"},
            body=ElementTree.tostring(document),
        )
        result = _xml(got)
        version_id = got.headers.get("x-amz-version-id")
        reported = result.findtext("ChecksumCRC32") or got.headers.get("x-amz-checksum-crc32")
        expected = composite_crc32([p.crc32 for p in parts])
        # A composite checksum ("…-N") is the parts'; a full-object one would need the CRC of the whole stream.
        if reported and "-" in reported and reported != expected:
            raise ChecksumMismatch(
                f"{key}@{version_id}: the server reports CRC32 {reported} for the object, its parts give {expected}",
                version_id,
            )
        return Written(version_id, (result.findtext("ETag") or _etag(got)).replace('"', ""))

    def abort(self, key: str, upload_id: str) -> None:
        """Abort a multipart upload (its parts are deleted); one the server no longer knows is already gone."""
        try:
            self.client.request("DELETE", self._path(key), query={"uploadId": upload_id})
        except S3Refused as exc:
            if exc.code not in {"NoSuchUpload", "404"}:
                raise

    def pending(self, prefix: str) -> list[PendingUpload]:
        """Multipart uploads begun under `prefix` and neither completed nor aborted."""
        found: list[PendingUpload] = []
        query = {"uploads": "", "prefix": prefix}
        while True:
            page = _xml(self.client.request("GET", self._path(), query=query))
            for upload in page.iter("Upload"):
                key, upload_id = upload.findtext("Key"), upload.findtext("UploadId")
                if key and upload_id:
                    found.append(PendingUpload(key, upload_id, _when(upload.findtext("Initiated"))))
            if page.findtext("IsTruncated") != "true":
                return found
            query = {
                **query,
                "key-marker": page.findtext("NextKeyMarker") or "",
                "upload-id-marker": page.findtext("NextUploadIdMarker") or "",
            }

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


def _meta_headers(metadata: Mapping[str, str]) -> dict[str, str]:
    return {f"x-amz-meta-{k.lower()}": v for k, v in metadata.items()}


def _when(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
