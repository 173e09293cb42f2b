"""Receiving a recorder export: stream the request body to S3 while hashing it, then probe, lock and record.

The body goes socket → S3 multipart upload through a small reader that pulls one chunk at a time from the
ASGI stream, hashing and counting on the way: constant memory, one pass. Until the version is locked it is
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
    """A blocking file-like over an async byte stream. read(n) runs in a worker thread and asks the event loop
    for n bytes in one hop (the loop gathers the socket's small chunks), so memory holds about one read and
    the cost of crossing threads is paid per part, not per 64 KiB chunk."""

    def __init__(
        self, chunks: AsyncIterator[bytes], loop: asyncio.AbstractEventLoop, limit: int, expected: int | None = None
    ) -> None:
        self._chunks = chunks
        self.expected = expected
        self._loop = loop
        self._leftover = b""  # the tail of the last chunk beyond the previous read (under one chunk)
        self._done = False
        self.limit = limit
        self.size = 0
        self.digest = hashlib.sha256()

    async def _gather(self, wanted: int) -> list[bytes]:
        """Exactly `wanted` bytes as pieces (fewer only at the end of the stream), the excess kept for later."""
        parts = [self._leftover] if self._leftover else []
        have = len(self._leftover)
        self._leftover = b""
        while have < wanted and not self._done:
            try:
                chunk = await self._chunks.__anext__()
            except StopAsyncIteration:
                self._done = True
                break
            parts.append(chunk)
            have += len(chunk)
        if have > wanted:
            excess = have - wanted
            self._leftover = parts[-1][-excess:]
            parts[-1] = parts[-1][:-excess]
        return parts

    def read(self, size: int = -1) -> bytes:
        wanted = (1 << 62) if size < 0 else size
        if wanted <= 0 or (self._done and not self._leftover):
            return b""
        parts = asyncio.run_coroutine_threadsafe(self._gather(wanted), self._loop).result()
        for piece in parts:
            self.size += len(piece)
            if self.size > self.limit:
                raise PayloadTooLarge(f"the file exceeds the upload limit of {self.limit} bytes")
            self.digest.update(piece)
        if self._done and not self._leftover and self.expected is not None and self.size < self.expected:
            raise RuleViolation(
                "Content-Length", f"the body ended after {self.size} of the {self.expected} bytes declared"
            )
        return parts[0] if len(parts) == 1 else b"".join(parts)


async def stream_to_storage(
    chunks: AsyncIterator[bytes], key: str, limit: int, metadata: dict[str, Any], *, length: int | None = None
) -> Received:
    """Upload the stream under `key` (multipart), returning the version id, SHA-256 and size.

    With the declared `length` the SDK reads exact parts; without it, it must read one byte past each part to
    find the end, and copy every part twice more to move that byte along."""
    from starlette.concurrency import run_in_threadpool

    from app.core.storage import get_storage, part_size_for

    reader = HashingReader(chunks, asyncio.get_running_loop(), limit, expected=length)
    stored = await run_in_threadpool(
        get_storage().put_stream,
        key,
        reader,  # type: ignore[arg-type]
        length=-1 if length is None else length,
        metadata=metadata,
        part_size=part_size_for(limit),
    )
    return Received(key=stored.key, version_id=stored.version_id, sha256=reader.digest.hexdigest(), size=reader.size)
