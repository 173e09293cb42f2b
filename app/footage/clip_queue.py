"""The clip job's name and how an upload or a completed export asks for it (the job itself is in cutting.py)."""

from __future__ import annotations

import logging
from uuid import UUID

log = logging.getLogger(__name__)

CLIP_TASK = "clips.make"


def queue_clip(request_id: UUID) -> None:
    """Defer the clip job; if the queue cannot be reached, the periodic clip sweep picks the request up."""
    try:
        from app.core import queue  # loaded on first use: the API process needs no queue client until then

        queue.defer(CLIP_TASK, request_id=str(request_id))
    except Exception:  # noqa: BLE001 - the sweep is the fallback, the upload has succeeded
        log.warning("could not defer the clip job for %s; the sweep will make it", request_id, exc_info=True)
