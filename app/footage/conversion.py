"""The converted copy of an original no reader here decodes.

An owner may hand over a vendor's proprietary export (kept on the word `X-Vendor-Format`, the request waiting in
`needs_conversion`). An investigator converts it with the maker's player or tool and uploads the result here:
the copy names its parent by the parent's SHA-256 and states the converting tool and its version; it is then
hashed, probed, locked and recorded as an original derived from the kept one, and clipping proceeds from it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any
from uuid import UUID, uuid4

from starlette.concurrency import run_in_threadpool

from app.auth.permissions import Actor
from app.core.db import UnitOfWork
from app.core.errors import Conflict, NotFound, RuleViolation
from app.core.params import FINITE_FLOAT, header_value
from app.extractions import service as extractions
from app.extractions.states import RequestStatus
from app.footage.ingest_flow import (
    HEX64,
    MAX_CLOCK_OFFSET_S,
    ConvertedFrom,
    Prepared,
    _safe_filename,
    receive_prepared,
    stated_recording_start,
)
from app.footage.models import ClockOffsetSource, Original
from app.footage.recording_start import RecordingStart, RecordingStartSource
from app.footage.retention import lock_period


@dataclass(frozen=True)
class ConversionHeaders:
    filename: str
    content_length: int | None
    client_sha256: str | None
    parent_sha256: str
    tool: str
    tool_version: str
    recording_start: str | None = None
    clock_offset_s: str | None = None


def _stated(field: str, value: str, what: str) -> str:
    text = value.strip()
    if not text or len(text) > 200 or not text.isprintable():
        raise RuleViolation(field, f"state {what} in at most 200 characters")
    return text


def _prepare(unit: UnitOfWork, actor: Actor, original_id: UUID, headers: ConversionHeaders) -> Prepared:
    """The upload is a converted copy of a kept original that needs one, naming that original by its hash."""
    tool = _stated("X-Converted-By", headers.tool, "the tool that converted the file (e.g. the maker's player)")
    version = _stated("X-Converter-Version", headers.tool_version, "the converting tool's version")
    with unit() as session:
        parent = session.get(Original, original_id)
        if parent is None or parent.request_id is None:  # an appeal's original is never a vendor format
            raise NotFound(f"no original {original_id}")
        request = extractions.get_request(session, actor, parent.request_id)
        if not parent.needs_conversion:
            raise Conflict("this original decodes as it is; it takes no converted copy")
        if request.status != RequestStatus.needs_conversion.value:
            raise Conflict(
                f"the request is {request.status}; a converted copy is taken while it is needs_conversion",
                extra={"status": request.status},
            )
        if headers.parent_sha256.strip().lower() != parent.sha256:
            raise RuleViolation("X-Parent-SHA256", f"the original's SHA-256 is {parent.sha256}; state it to derive")
        client_sha = headers.client_sha256.strip().lower() if headers.client_sha256 else None
        if client_sha is not None and not HEX64.match(client_sha):
            raise RuleViolation("X-Content-SHA256", "must be 64 hexadecimal characters")
        # the parent's offset and its provenance, unless the header states another
        offset, offset_source, check_id = (
            parent.clock_offset_s,
            parent.clock_offset_source,
            parent.clock_check_id,
        )
        if headers.clock_offset_s not in (None, ""):
            offset_source, check_id = ClockOffsetSource.header, None
            offset = header_value(
                FINITE_FLOAT, "X-Clock-Offset-Seconds", str(headers.clock_offset_s), "must be a number of seconds"
            )
            if abs(offset) > MAX_CLOCK_OFFSET_S:
                raise RuleViolation("X-Clock-Offset-Seconds", "must be within a week of true time")
        filename = _safe_filename(headers.filename)
        new_id = uuid4()
        parent_start = RecordingStart(
            parent.recording_start_recorder,
            RecordingStartSource(parent.recording_start_source),
            {"recording_start_parent": parent.recording_start_recorder.isoformat()},
        )
        return Prepared(
            request_id=request.id,
            case_id=request.case_id,
            original_id=new_id,
            key=f"originals/{request.id}/{new_id}/{filename}",
            filename=filename,
            recording_start_recorder=stated_recording_start(headers.recording_start, request.camera_timezone),
            clock_offset_s=offset,
            frame_rate=None,
            client_sha256=client_sha,
            recording_start_stated=(headers.recording_start or "").strip(),
            lock=lock_period(session, request.case_id),
            clock_offset_source=offset_source,
            clock_check_id=check_id,
            camera_timezone=request.camera_timezone,
            converted_from=ConvertedFrom(parent.id, parent.sha256, tool, version, parent_start),
        )


async def receive_conversion(
    unit: UnitOfWork, actor: Actor, original_id: UUID, chunks: AsyncIterator[bytes], headers: ConversionHeaders
) -> dict[str, Any]:
    """Stream, hash, probe, lock and record the converted copy; the request moves on to footage_received and
    its clip is cut from the copy. A copy that does not play is refused like any upload."""
    prepared = await run_in_threadpool(_prepare, unit, actor, original_id, headers)
    return await receive_prepared(unit, actor, prepared, chunks, headers.content_length)
