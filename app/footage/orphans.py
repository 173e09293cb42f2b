"""The orphan sweep: evidence objects without a row, and evidence rows without their object version.

Ingest and clipping order their side effects so a crash leaves something this sweep finds, never a row that
lies: an upload is stored, then probed and locked, then recorded; a clip is stored, locked, then recorded.
So a crash can leave (a) an unlocked version from an upload or clip that never got its row — safe to remove
once older than the grace period, since nothing refers to it and the uploader got no success — or (b) a
locked version without a row, which the server will not let anyone delete: it is reported. A row whose
version is missing (c) means evidence was lost or tampered with outside the service: always reported, never
"repaired". Every finding and every removal is a custody event, so the sweep's own work is on the record.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.core import clock
from app.core.storage import StorageError, get_storage
from app.custody.service import append_event
from app.footage.models import Clip, Original
from app.footage.playable_models import PlaybackCopy
from app.footage.preview_models import Preview
from app.footage.redaction_models import Redaction

log = logging.getLogger(__name__)
PREFIXES = ("originals/", "clips/", "previews/", "playable/", "redactions/")
ACTOR = "system:orphan-sweep"
ORPHAN_SWEEP_TASK = "footage.sweep_orphans"  # the hourly sweep, by the name it is queued under
WHERE = {"component": "worker", "task": ORPHAN_SWEEP_TASK}


@dataclass(frozen=True)
class EvidenceKind:
    """Evidence kept by a domain above this one (e.g. appeals' submissions), passed in by the sweep's caller:
    the kind's name, the key prefix its objects live under, and its rows as (id, object_key, version_id)."""

    kind: str
    prefix: str
    rows: Callable[[Session], Iterable[tuple[UUID, str, str]]]


@dataclass
class OrphanReport:
    objects_without_rows: list[dict[str, Any]] = field(default_factory=list)
    rows_without_objects: list[dict[str, Any]] = field(default_factory=list)
    removed: list[dict[str, Any]] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not (self.objects_without_rows or self.rows_without_objects)

    def as_dict(self) -> dict[str, Any]:
        return {
            "objects_without_rows": self.objects_without_rows,
            "rows_without_objects": self.rows_without_objects,
            "removed": self.removed,
        }


def sweep_orphans(
    session: Session,
    *,
    grace: timedelta = timedelta(hours=1),
    remove: bool = True,
    kinds: Sequence[EvidenceKind] = (),
) -> OrphanReport:
    """Compare the bucket's evidence versions with the originals, clips, previews, playback copies and redactions
    tables (and the `kinds` of evidence passed in); report both kinds of orphan, remove unlocked orphan versions
    older than `grace` (when `remove`), and record it all in custody."""
    store = get_storage()
    rows: dict[tuple[str, str], tuple[str, UUID]] = {}
    models: tuple[tuple[str, type[Original] | type[Clip] | type[Preview] | type[PlaybackCopy]], ...] = (
        ("original", Original),
        ("clip", Clip),
        ("preview", Preview),
        ("playback_copy", PlaybackCopy),
    )
    for kind, model in models:
        for row_id, key, version_id in session.execute(select(model.id, model.object_key, model.version_id)):
            rows[(key, version_id)] = (kind, row_id)
    for key_version in _redaction_objects(session):
        rows[key_version[1:]] = ("redaction", key_version[0])
    for more in kinds:
        for row_id, key, version_id in more.rows(session):
            rows[(key, version_id)] = (more.kind, row_id)
    prefixes = list(dict.fromkeys([*PREFIXES, *(k.prefix for k in kinds)]))
    listed: set[tuple[str, str]] = set()
    report = OrphanReport()
    cutoff = clock.now() - grace
    for prefix in prefixes:
        for stored in store.list_versions(prefix):
            listed.add((stored.key, stored.version_id))
            if (stored.key, stored.version_id) in rows:
                continue
            finding = _describe_orphan_object(stored.key, stored.version_id, stored.last_modified, stored.size)
            report.objects_without_rows.append(finding)
            if remove and not finding["locked"] and stored.last_modified and stored.last_modified < cutoff:
                try:
                    store.remove_version(stored.key, stored.version_id)
                except StorageError as exc:
                    finding["removal_refused"] = str(exc)
                else:
                    report.removed.append(finding)
    for (key, version_id), (kind, row_id) in rows.items():
        # A row under a prefix not listed here (an appeal's original or clip, under appeals/, when the appeals'
        # kinds are not passed) is not judged: its objects were not looked at.
        if (key, version_id) not in listed and key.startswith(tuple(prefixes)):
            report.rows_without_objects.append(
                {"object_type": kind, "id": row_id, "object_key": key, "version_id": version_id}
            )
    _record(session, report)
    return report


def _redaction_objects(session: Session) -> Iterable[tuple[UUID, str, str]]:
    """(redaction id, key, version) of every stored redacted copy and mask file (rendered, not deleted)."""
    stored = select(
        Redaction.id, Redaction.object_key, Redaction.version_id, Redaction.mask_object_key, Redaction.mask_version_id
    ).where(Redaction.status == "ready", Redaction.deleted_at.is_(None))
    for row_id, key, version_id, mask_key, mask_version in session.execute(stored):
        for object_key, version in ((key, version_id), (mask_key, mask_version)):
            if object_key and version:
                yield row_id, object_key, version


def _describe_orphan_object(key: str, version_id: str, modified: datetime | None, size: int) -> dict[str, Any]:
    info = get_storage().stat(key, version_id)
    locked = info.legal_hold or (info.retain_until is not None and info.retain_until > clock.now())
    return {
        "object_key": key,
        "version_id": version_id,
        "size": size,
        "last_modified": modified.isoformat() if modified else None,
        "locked": locked,
        "retain_until": info.retain_until.isoformat() if info.retain_until else None,
        "legal_hold": info.legal_hold,
    }


def _record(session: Session, report: OrphanReport) -> None:
    removed = {(f["object_key"], f["version_id"]) for f in report.removed}
    for finding in report.objects_without_rows:
        gone = (finding["object_key"], finding["version_id"]) in removed
        append_event(
            session,
            actor=ACTOR,
            action="orphan.object_removed" if gone else "orphan.object_found",
            object_type="object",
            version_id=finding["version_id"],
            reason="an evidence object version without an evidence row"
            + ("; unlocked and past the grace period, removed" if gone else ""),
            where=WHERE,
            outcome="removed" if gone else "reported",
            details=finding,
        )
    for finding in report.rows_without_objects:
        append_event(
            session,
            actor=ACTOR,
            action="orphan.row_found",
            object_type=finding["object_type"],
            object_id=finding["id"],
            version_id=finding["version_id"],
            reason="an evidence row whose object version is missing from storage",
            where=WHERE,
            outcome="missing",
            details=finding,
        )
    if not report.clean:
        log.warning(
            "orphan sweep: %d objects without rows (%d removed), %d rows without objects",
            len(report.objects_without_rows),
            len(report.removed),
            len(report.rows_without_objects),
        )
