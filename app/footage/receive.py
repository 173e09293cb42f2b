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

from app.core.errors import PayloadTooLarge


@dataclass
class Received:
    key: str
    version_id: str
    sha256: str
    size: int


class HashingReader:
    """A blocking file-like over an async byte stream; read() runs in a worker thread and pulls chunks from the
    event loop on demand, so at most one chunk is buffered."""

    def __init__(self, chunks: AsyncIterator[bytes], loop: asyncio.AbstractEventLoop, limit: int) -> None:
        self._chunks = chunks
        self._loop = loop
        self._buffer = b""
        self._done = False
        self.limit = limit
        self.size = 0
        self.digest = hashlib.sha256()

    def _next(self) -> bytes | None:
        future = asyncio.run_coroutine_threadsafe(self._pull(), self._loop)
        return future.result()

    async def _pull(self) -> bytes | None:
        try:
            return await self._chunks.__anext__()
        except StopAsyncIteration:
            return None

    def read(self, size: int = -1) -> bytes:
        parts = [self._buffer] if self._buffer else []
        have = len(self._buffer)
        while not self._done and (size < 0 or have < size):
            chunk = self._next()
            if chunk is None:
                self._done = True
                break
            self.size += len(chunk)
            if self.size > self.limit:
                raise PayloadTooLarge(f"the file exceeds the upload limit of {self.limit} bytes")
            self.digest.update(chunk)
            parts.append(chunk)
            have += len(chunk)
        joined = b"".join(parts)
        if size < 0 or size >= len(joined):
            self._buffer = b""
            return joined
        self._buffer = joined[size:]
        return joined[:size]


async def stream_to_storage(chunks: AsyncIterator[bytes], key: str, limit: int, metadata: dict[str, Any]) -> Received:
    """Upload the stream under `key` (multipart), returning the version id, SHA-256 and size."""
    from starlette.concurrency import run_in_threadpool

    from app.core.storage import get_storage

    reader = HashingReader(chunks, asyncio.get_running_loop(), limit)
    stored = await run_in_threadpool(get_storage().put_stream, key, reader, metadata=metadata)  # type: ignore[arg-type]
    return Received(key=stored.key, version_id=stored.version_id, sha256=reader.digest.hexdigest(), size=reader.size)
