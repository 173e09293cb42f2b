"""The record of an export: each report that leaves the system is a custody event carrying the SHA-256 of
exactly what was sent. The formats (app.reports.service, app.reports.bundle) all record through here."""

from __future__ import annotations

import hashlib
from typing import Any
from uuid import UUID

from sqlalchemy.orm import Session

from app.auth.permissions import Actor
from app.custody.models import CustodyEvent
from app.custody.service import append_event_sequenced


def record_export(
    session: Session, actor: Actor, case_id: UUID, fmt: str, content: bytes, extra: dict[str, Any] | None = None
) -> CustodyEvent:
    """The export itself is a custody event, with the hash of exactly what left the system (sequenced at once:
    a bundle ships the proof of its own export event)."""
    return append_event_sequenced(
        session,
        actor=actor.label,
        action="report.exported",
        object_type="case",
        object_id=case_id,
        case_id=case_id,
        where=actor.where(),
        details={"format": fmt, "sha256": hashlib.sha256(content).hexdigest(), "bytes": len(content), **(extra or {})},
    )
