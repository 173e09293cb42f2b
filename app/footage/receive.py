"""Receiving a recorder export: stream the request body to S3 while hashing it, then probe, lock and record.

The body goes socket → S3 multipart upload through a small reader that hands the ASGI stream's chunks on in
parts, hashing and counting on the way: constant memory, one pass. Until the version is locked it is
removed on any refusal (hash mismatch, not a video, truncated, too large), so nothing unlocked is left behind.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from app.core.errors import PayloadTooLarge, RuleViolation


@dataclass
class Received:
    key: str
    version_id: str
    sha256: str
    size: int


class HashingReader:
    """The request body as parts for `Storage.put_parts`, hashed and counted on the way.

    read_part(n) runs in a worker thread and asks the event loop for n bytes in one hop (the loop gathers the
    socket's chunks and keeps them as they came: nothing is joined), so the cost of crossing threads is paid
    per part, not per chunk, and memory holds about one part besides those in flight to S3."""

    def __init__(
        self, chunks: AsyncIterator[bytes], loop: asyncio.AbstractEventLoop, limit: int, expected: int | None = None
    ) -> None:
        self._chunks = chunks
        self.expected = expected
        self._loop = loop
        self._leftover = b""  # the tail of the last chunk beyond the previous part (under one chunk); loop only
        self._done = False  # the stream has ended; loop only
        self._ended = False
        self.limit = limit
        self.size = 0
        self.digest = hashlib.sha256()

    async def _gather(self, wanted: int) -> tuple[list[bytes], bool]:
        """Exactly `wanted` bytes as pieces (fewer only at the end of the stream), the excess kept for the next
        part; and whether the stream has ended with them."""
        parts = [self._leftover] if self._leftover else []
        have = len(self._leftover)
        self._leftover = b""
        while have < wanted and not self._done:
            try:
                chunk = await self._chunks.__anext__()
            except StopAsyncIteration:
                self._done = True
                break
            if chunk:
                parts.append(chunk)
                have += len(chunk)
        if have > wanted:
            excess = have - wanted
            self._leftover = parts[-1][-excess:]
            parts[-1] = parts[-1][:-excess]
        return parts, self._done and not self._leftover

    def read_part(self, size: int) -> list[bytes]:
        if size <= 0 or self._ended:
            return []
        parts, self._ended = asyncio.run_coroutine_threadsafe(self._gather(size), self._loop).result()
        for piece in parts:
            self.size += len(piece)
            if self.size > self.limit:
                raise PayloadTooLarge(f"the file exceeds the upload limit of {self.limit} bytes")
            self.digest.update(piece)
        if self._ended and self.expected is not None and self.size < self.expected:
            raise RuleViolation(
                "Content-Length", f"the body ended after {self.size} of the {self.expected} bytes declared"
            )
        return parts


async def stream_to_storage(
    chunks: AsyncIterator[bytes], key: str, limit: int, metadata: dict[str, Any], *, length: int | None = None
) -> Received:
    """Upload the stream under `key` (multipart), returning the version id, SHA-256 and size.

    With the declared `length` the parts are exact and a body that ends early is refused."""
    from starlette.concurrency import run_in_threadpool

    from app.core.storage import get_storage, part_size_for

    reader = HashingReader(chunks, asyncio.get_running_loop(), limit, expected=length)
    stored = await run_in_threadpool(
        get_storage().put_parts,
        key,
        reader,
        length=-1 if length is None else length,
        metadata=metadata,
        part_size=part_size_for(limit),
    )
    return Received(key=stored.key, version_id=stored.version_id, sha256=reader.digest.hexdigest(), size=reader.size)
