"""Retention of evidence objects: how long each is locked, when its legal hold is released, when it is deleted.

A case's retention category (app/cases/models.py RetentionCategory; none: the settings' default) sets the
Object Lock period and mode of every original and clip of the case when they are stored. Every object also
carries a legal hold while its case is open. The periodic sweep here:

1. releases the legal hold of each object whose case is closed (an object belongs to one request of one
   case, or without a request to one case directly — an appeal's original and its clips —, so that is "every
   case referencing it is closed") — the hold comes off in S3 first, then the row and
   a custody event `retention.hold_released` record it; a crash between leaves the hold off and unrecorded
   for the next sweep to record, never a record of a release that did not happen;
2. deletes each object version past its retention, with no hold, whose case is closed — S3 first (the server
   refuses while the version is locked, which is the final word), then `deleted_at` on the row and a custody
   event `retention.deleted` (custody verification then expects the version gone rather than re-hashing it).

Nothing of a case under a manual legal hold (app/footage/holds.py) is released or deleted. A case's evidence
follows its retention category: when the category changes (and in every sweep, for a lost job), each stored
object locked for less than its stored time plus the category's period is locked until then, in the mode it
already has — extended, never shortened — and the custody event `retention.extended` records it per object.

An original's playback copy (app/footage/playable.py) is locked as long as its original: it is deleted just before
the original (`retention.deleted` on the copy), and its lock is extended with the original's.
A clip's previews (app/footage/previews.py) are deleted just before the clip the same way. An appeal's original
shares its submission's object: each release, extension and deletion is passed on (app/footage/shared_objects.py)
so the submission's row follows in the same transaction.

The evidence rows stay: they, and the custody log, are the record of what was held and when it went.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, cast
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from app.auth.permissions import system_actor
from app.cases.models import Case, CaseStatus, RetentionCategory
from app.core import clock
from app.core.config import get_settings
from app.core.storage import RetentionMode, StorageError, get_storage
from app.custody.recompute import DELETED_ACTION
from app.custody.rows import row_state
from app.custody.service import append_event
from app.footage.models import Clip, Original
from app.footage.playable_models import PlaybackCopy
from app.footage.preview_models import Preview
from app.footage.redaction_models import Redaction
from app.footage.service import case_column, case_of, with_request
from app.footage.shared_objects import object_changed

log = logging.getLogger(__name__)
RETENTION_SWEEP_TASK = "retention.sweep"  # the hourly sweep, by the name it is queued under
_WHERE: dict[str, str | None] = {"component": "worker", "task": RETENTION_SWEEP_TASK}


@dataclass(frozen=True)
class LockPeriod:
    mode: RetentionMode
    period: timedelta
    category: str | None

    def until(self) -> datetime:
        return clock.now() + self.period


def lock_period(session: Session, case_id: UUID) -> LockPeriod:
    """The Object Lock mode and period for new evidence of the case: its category's, else the settings'."""
    category = session.scalar(
        select(RetentionCategory)
        .join(Case, Case.retention_category == RetentionCategory.code)
        .where(Case.id == case_id)
    )
    if category is None:
        settings = get_settings()
        return LockPeriod(settings.retention_mode, timedelta(days=settings.retention_days), None)
    mode: RetentionMode = "GOVERNANCE" if category.mode == "GOVERNANCE" else "COMPLIANCE"
    return LockPeriod(mode, timedelta(seconds=category.retention_seconds), category.code)


@dataclass
class RetentionReport:
    released: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    refused: list[dict[str, str]] = field(default_factory=list)


def sweep_retention(factory: sessionmaker[Session]) -> RetentionReport:
    """Release holds of closed cases' evidence, delete what is past retention and free of holds."""
    report = RetentionReport()
    for case_id in _cases_short_of_category(factory):
        follow_case_retention(factory, case_id, report)
    release_and_delete_redactions(factory, report)  # a redacted copy goes before the clip it was made from
    for model in (Clip, Original):  # clips first: a clip never outlives the original it was cut from
        for row_id in _closed_case_objects(factory, model, held=True):
            _release(factory, model, row_id, report)
        for row_id in _closed_case_objects(factory, model, held=False):
            _delete(factory, model, row_id, report)
    return report


def _closed_case_objects(
    factory: sessionmaker[Session], model: type[Original] | type[Clip], *, held: bool
) -> list[UUID]:
    with factory() as session:
        query = (
            with_request(select(model.id), model)
            .join(Case, Case.id == case_column(model))
            .where(
                Case.status == CaseStatus.closed,
                Case.manual_hold_reason.is_(None),
                model.deleted_at.is_(None),
                model.legal_hold.is_(held),
            )
        )
        if not held:
            query = query.where(model.retain_until <= clock.now())
        return list(session.scalars(query))


def _table(row: Original | Clip) -> str:
    return "clips" if isinstance(row, Clip) else "originals"


def _event_fields(row: Original | Clip, case_id: UUID) -> dict[str, Any]:
    return {
        "object_type": "clip" if isinstance(row, Clip) else "original",
        "object_id": row.id,
        "version_id": row.version_id,
        "case_id": case_id,
        "where": {"component": "worker", "task": RETENTION_SWEEP_TASK},
    }


def _release(
    factory: sessionmaker[Session], model: type[Original] | type[Clip], row_id: UUID, report: RetentionReport
) -> None:
    actor = system_actor("retention")
    with factory() as session, session.begin():
        row = cast("Original | Clip | None", session.get(model, row_id, with_for_update=True))
        if row is None or not row.legal_hold:
            return
        case_id = case_of(session, row)
        assert case_id is not None
        case = session.get(Case, case_id, with_for_update=True)
        if case is None or case.status != CaseStatus.closed.value or case.manual_hold_reason is not None:
            return  # reopened or held meanwhile
        try:
            get_storage().set_legal_hold(row.object_key, row.version_id, False)
        except Exception as exc:  # noqa: BLE001 - the next sweep retries; the row still says held
            report.refused.append({"id": str(row_id), "what": f"legal hold release failed: {exc}"})
            return
        row.legal_hold = False
        append_event(
            session,
            actor=actor.label,
            action="retention.hold_released",
            sha256=row.sha256,
            reason="every case referencing it is closed",
            details={
                "object_key": row.object_key,
                "retain_until": row.retain_until.isoformat(),
                "row": row_state(_table(row), row),
            },
            **_event_fields(row, case_id),
        )
        if isinstance(row, Original):
            object_changed(session, row, "legal_hold", actor.label, "case closed", _WHERE)
        report.released.append(str(row_id))


def _delete(
    factory: sessionmaker[Session], model: type[Original] | type[Clip], row_id: UUID, report: RetentionReport
) -> None:
    actor = system_actor("retention")
    with factory() as session, session.begin():
        row = cast("Original | Clip | None", session.get(model, row_id, with_for_update=True))
        if row is None or row.legal_hold or row.deleted_at is not None:
            return
        case_id = case_of(session, row)
        case = session.get(Case, case_id) if case_id is not None else None
        if case is None or case.status != CaseStatus.closed or case.manual_hold_reason is not None:
            return  # nothing referenced by an open or manually held case is deleted
        if isinstance(row, Original) and session.scalar(
            select(Clip.id).where(Clip.original_id == row.id, Clip.deleted_at.is_(None)).limit(1)
        ):
            return  # its clips go first
        if isinstance(row, Clip) and session.scalar(
            select(Redaction.id).where(*_stored_redactions(), Redaction.clip_id == row.id).limit(1)
        ):
            return  # its redacted copies go first
        if isinstance(row, Original) and not _delete_copy(session, row, case.id, report):
            return  # its playback copy goes first
        if isinstance(row, Clip) and not _delete_previews(session, row, case.id, report):
            return  # its previews go first
        try:
            get_storage().remove_version(row.object_key, row.version_id)
        except StorageError as exc:
            report.refused.append({"id": str(row_id), "what": str(exc)})
            return
        row.deleted_at = clock.now()
        append_event(
            session,
            actor=actor.label,
            action=DELETED_ACTION,
            reason="retention period over, no legal hold, every case referencing it closed",
            # no sha256 field: the event records a removal, not an object to re-hash
            details={
                "object_key": row.object_key,
                "sha256": row.sha256,
                "retain_until": row.retain_until.isoformat(),
                "row": row_state(_table(row), row),
            },
            **_event_fields(row, case.id),
        )
        if isinstance(row, Original):
            object_changed(
                session,
                row,
                "deleted",
                actor.label,
                "the original it became is deleted at the end of retention",
                _WHERE,
            )
        report.deleted.append(str(row_id))


def _copy_of(session: Session, original: Original) -> PlaybackCopy | None:
    return session.scalar(
        select(PlaybackCopy)
        .where(PlaybackCopy.original_id == original.id, PlaybackCopy.deleted_at.is_(None))
        .with_for_update()
    )


def _delete_copy(session: Session, original: Original, case_id: UUID, report: RetentionReport) -> bool:
    """Delete the original's playback copy (S3 first, then the row and its event); True when none is left."""
    copy = _copy_of(session, original)
    if copy is None:
        return True
    try:
        get_storage().remove_version(copy.object_key, copy.version_id)
    except StorageError as exc:
        report.refused.append({"id": str(copy.id), "what": str(exc)})
        return False
    copy.deleted_at = clock.now()
    append_event(
        session,
        actor=system_actor("retention").label,
        action=DELETED_ACTION,
        object_type="playback_copy",
        object_id=copy.id,
        version_id=copy.version_id,
        case_id=case_id,
        reason="its original is deleted at the end of its retention",
        where={"component": "worker", "task": RETENTION_SWEEP_TASK},
        details={"object_key": copy.object_key, "sha256": copy.sha256, "original_id": str(original.id)},
    )
    report.deleted.append(str(copy.id))
    return True


def _delete_previews(session: Session, clip: Clip, case_id: UUID, report: RetentionReport) -> bool:
    """Delete the clip's poster and strip (S3 first, then `deleted_at` and an event each); True when none is left."""
    left = True
    for preview in session.scalars(
        select(Preview).where(Preview.clip_id == clip.id, Preview.deleted_at.is_(None)).with_for_update()
    ):
        try:
            get_storage().remove_version(preview.object_key, preview.version_id)
        except StorageError as exc:
            report.refused.append({"id": str(preview.id), "what": str(exc)})
            left = False
            continue
        preview.deleted_at = clock.now()
        append_event(
            session,
            actor=system_actor("retention").label,
            action=DELETED_ACTION,
            object_type="preview",
            object_id=preview.id,
            version_id=preview.version_id,
            case_id=case_id,
            reason="its clip is deleted at the end of its retention",
            where=_WHERE,
            details={"object_key": preview.object_key, "sha256": preview.sha256, "clip_id": str(clip.id)},
        )
        report.deleted.append(str(preview.id))
    return left


def _extend_copy(session: Session, original: Original, case_id: UUID, category: str, mode: RetentionMode) -> None:
    """Lock the original's playback copy as long as the original (never shorter)."""
    copy = _copy_of(session, original)
    if copy is None or copy.retain_until >= original.retain_until:
        return
    get_storage().lock(copy.object_key, copy.version_id, mode=mode, until=original.retain_until)
    previous, copy.retain_until = copy.retain_until, original.retain_until
    append_event(
        session,
        actor=system_actor("retention").label,
        action="retention.extended",
        object_type="playback_copy",
        object_id=copy.id,
        sha256=copy.sha256,
        version_id=copy.version_id,
        case_id=case_id,
        reason=f"the case's retention category is {category}",
        where={"component": "worker", "task": RETENTION_SWEEP_TASK},
        details={
            "object_key": copy.object_key,
            "original_id": str(original.id),
            "retention_category": category,
            "retain_until_before": previous.isoformat(),
            "retain_until": copy.retain_until.isoformat(),
            "retention_mode": mode,
        },
    )


# -- following the case's retention category ---------------------------------------------------------------
def _stored_at(model: type[Original] | type[Clip]) -> Any:
    return Original.received_at if model is Original else Clip.created_at


def _cases_short_of_category(factory: sessionmaker[Session]) -> list[UUID]:
    """Cases with a stored object locked for less than its stored time plus the case's category period."""
    found: set[UUID] = set()
    with factory() as session:
        for model in (Original, Clip):
            stored_at = _stored_at(model)
            query = (
                with_request(select(Case.id).select_from(model), model)
                .join(Case, Case.id == case_column(model))
                .join(RetentionCategory, RetentionCategory.code == Case.retention_category)
                .where(
                    model.deleted_at.is_(None),
                    model.retain_until + timedelta(seconds=1)
                    < stored_at + RetentionCategory.retention_seconds * timedelta(seconds=1),
                )
                .distinct()
            )
            found.update(session.scalars(query))
        found.update(session.scalars(_redactions_short_of_category()))
    return sorted(found)


def follow_case_retention(
    factory: sessionmaker[Session], case_id: UUID, report: RetentionReport | None = None
) -> list[str]:
    """Extend the lock of each stored object of the case to its stored time plus the case's category period,
    when that is later than its lock (never shorter: a COMPLIANCE lock cannot be, a GOVERNANCE one is not);
    S3 first, then the row and a `retention.extended` event per object. Returns the ids extended."""
    extended: list[str] = []
    actor = system_actor("retention")
    with factory() as session:
        period = lock_period(session, case_id)
        ids = [
            (model, row_id)
            for model in (Original, Clip)
            for row_id in session.scalars(
                with_request(select(model.id), model).where(case_column(model) == case_id, model.deleted_at.is_(None))
            )
        ]
    if period.category is None:
        return extended
    extended += _follow_redactions(factory, case_id, period, report)
    for model, row_id in ids:
        with factory() as session, session.begin():
            row = cast("Original | Clip | None", session.get(model, row_id, with_for_update=True))
            if row is None or row.deleted_at is not None:
                continue
            stored_at = row.received_at if isinstance(row, Original) else row.created_at
            until = stored_at + period.period
            if until <= row.retain_until + timedelta(seconds=1):
                continue  # already locked at least that long: never shortened
            mode: RetentionMode = "COMPLIANCE" if row.retention_mode == "COMPLIANCE" else "GOVERNANCE"
            try:
                get_storage().lock(row.object_key, row.version_id, mode=mode, until=until)
            except Exception as exc:  # noqa: BLE001 - the next sweep retries; the row keeps the old date
                if report is not None:
                    report.refused.append({"id": str(row_id), "what": f"retention extension failed: {exc}"})
                continue
            previous = row.retain_until
            row.retain_until = until
            append_event(
                session,
                actor=actor.label,
                action="retention.extended",
                sha256=row.sha256,
                reason=f"the case's retention category is {period.category}",
                details={
                    "object_key": row.object_key,
                    "retention_category": period.category,
                    "retain_until_before": previous.isoformat(),
                    "retain_until": until.isoformat(),
                    "retention_mode": mode,
                    "row": row_state(_table(row), row),
                },
                **_event_fields(row, case_id),
            )
            if isinstance(row, Original):
                object_changed(
                    session,
                    row,
                    "retain_until",
                    actor.label,
                    f"the case's retention category is {period.category}",
                    _WHERE,
                )
                try:
                    _extend_copy(session, row, case_id, period.category, mode)
                except Exception as exc:  # noqa: BLE001 - the copy is not evidence the case relies on; logged
                    log.warning("playback copy of %s not extended: %s", row_id, exc)
            extended.append(str(row_id))
    return extended


# -- redacted copies: a mask file and a copy per redaction, kept as its parent clip's case keeps evidence ---------
def _stored_redactions() -> tuple[Any, ...]:
    """Redactions whose mask file and copy are stored (rendered, not deleted)."""
    return (Redaction.status == "ready", Redaction.deleted_at.is_(None), Redaction.object_key.is_not(None))


def _redaction_objects(row: Redaction) -> list[tuple[str, str, str, str]]:
    """(part, object key, version, sha256) of the copy and its mask file."""
    assert row.object_key and row.version_id and row.sha256
    assert row.mask_object_key and row.mask_version_id and row.mask_sha256
    return [
        ("copy", row.object_key, row.version_id, row.sha256),
        ("mask", row.mask_object_key, row.mask_version_id, row.mask_sha256),
    ]


def _redaction_event(row: Redaction, action: str, reason: str, **details: Any) -> dict[str, Any]:
    return {
        "actor": system_actor("retention").label,
        "action": action,
        "object_type": "redaction",
        "object_id": row.id,
        "case_id": row.case_id,
        "reason": reason,
        "where": {"component": "worker", "task": RETENTION_SWEEP_TASK},
        "details": {"clip_id": str(row.clip_id), **details, "row": row_state("redactions", row)},
    }


def release_and_delete_redactions(factory: sessionmaker[Session], report: RetentionReport) -> None:
    """Redacted copies of closed cases (no manual hold): legal holds released, then, past retention, the copy and
    its mask file deleted, exactly as clips (S3 first, then the row and custody events)."""
    with factory() as session:
        closed = (
            select(Redaction.id)
            .join(Case, Case.id == Redaction.case_id)
            .where(Case.status == CaseStatus.closed, Case.manual_hold_reason.is_(None), *_stored_redactions())
        )
        held = list(session.scalars(closed.where(Redaction.legal_hold.is_(True))))
        due = list(
            session.scalars(closed.where(Redaction.legal_hold.is_(False), Redaction.retain_until <= clock.now()))
        )
    for row_id in held:
        _release_redaction(factory, row_id, report)
    for row_id in due:
        _delete_redaction(factory, row_id, report)


def _closed_and_free(session: Session, row: Redaction) -> bool:
    case = session.get(Case, row.case_id, with_for_update=True)
    return case is not None and case.status == CaseStatus.closed.value and case.manual_hold_reason is None


def _release_redaction(factory: sessionmaker[Session], row_id: UUID, report: RetentionReport) -> None:
    with factory() as session, session.begin():
        row = session.get(Redaction, row_id, with_for_update=True)
        if row is None or not row.legal_hold or row.deleted_at is not None or not _closed_and_free(session, row):
            return  # released, reopened or held meanwhile
        try:
            for _, key, version, _sha in _redaction_objects(row):
                get_storage().set_legal_hold(key, version, False)
        except Exception as exc:  # noqa: BLE001 - the next sweep retries; the row still says held
            report.refused.append({"id": str(row_id), "what": f"legal hold release failed: {exc}"})
            return
        row.legal_hold = False
        session.flush()
        objects = [{"part": p, "object_key": k, "version_id": v} for p, k, v, _ in _redaction_objects(row)]
        assert row.retain_until is not None
        append_event(
            session,
            sha256=row.sha256,
            version_id=row.version_id,
            **_redaction_event(
                row,
                "retention.hold_released",
                "every case referencing it is closed",
                objects=objects,
                retain_until=row.retain_until.isoformat(),
            ),
        )
        report.released.append(str(row_id))


def _delete_redaction(factory: sessionmaker[Session], row_id: UUID, report: RetentionReport) -> None:
    with factory() as session, session.begin():
        row = session.get(Redaction, row_id, with_for_update=True)
        if row is None or row.legal_hold or row.deleted_at is not None or not _closed_and_free(session, row):
            return  # nothing referenced by an open or manually held case is deleted
        removed: list[tuple[str, str, str, str]] = []
        for stored in _redaction_objects(row):
            try:
                get_storage().remove_version(stored[1], stored[2])
            except StorageError as exc:
                report.refused.append({"id": str(row_id), "what": str(exc)})
                break
            removed.append(stored)
        else:
            row.deleted_at = clock.now()
            session.flush()
        assert row.retain_until is not None
        for part, key, version, sha in removed:  # one event per version gone: verification stops reading it
            append_event(
                session,
                version_id=version,
                **_redaction_event(
                    row,
                    DELETED_ACTION,
                    "retention period over, no legal hold, every case referencing it closed",
                    part=part,
                    object_key=key,
                    sha256=sha,
                    retain_until=row.retain_until.isoformat(),
                ),
            )
        if row.deleted_at is not None:
            report.deleted.append(str(row_id))


def _redactions_short_of_category() -> Any:
    """Cases with a redacted copy locked for less than its render time plus the case's category period."""
    return (
        select(Case.id)
        .join(Redaction, Redaction.case_id == Case.id)
        .join(RetentionCategory, RetentionCategory.code == Case.retention_category)
        .where(
            *_stored_redactions(),
            Redaction.retain_until + timedelta(seconds=1)
            < Redaction.rendered_at + RetentionCategory.retention_seconds * timedelta(seconds=1),
        )
        .distinct()
    )


def _follow_redactions(
    factory: sessionmaker[Session], case_id: UUID, period: LockPeriod, report: RetentionReport | None
) -> list[str]:
    """The case's redacted copies and mask files locked until their render time plus the category's period, when
    that is later (never shorter), S3 first, then the row and a `retention.extended` event."""
    extended: list[str] = []
    with factory() as session:
        ids = list(session.scalars(select(Redaction.id).where(Redaction.case_id == case_id, *_stored_redactions())))
    for row_id in ids:
        with factory() as session, session.begin():
            row = session.get(Redaction, row_id, with_for_update=True)
            if row is None or row.deleted_at is not None or row.rendered_at is None or row.retain_until is None:
                continue
            until = row.rendered_at + period.period
            if until <= row.retain_until + timedelta(seconds=1):
                continue
            mode: RetentionMode = "COMPLIANCE" if row.retention_mode == "COMPLIANCE" else "GOVERNANCE"
            try:
                for _, key, version, _sha in _redaction_objects(row):
                    get_storage().lock(key, version, mode=mode, until=until)
            except Exception as exc:  # noqa: BLE001 - the next sweep retries; the row keeps the old date
                if report is not None:
                    report.refused.append({"id": str(row_id), "what": f"retention extension failed: {exc}"})
                continue
            previous, row.retain_until = row.retain_until, until
            session.flush()
            append_event(
                session,
                sha256=row.sha256,
                version_id=row.version_id,
                **_redaction_event(
                    row,
                    "retention.extended",
                    f"the case's retention category is {period.category}",
                    object_key=row.object_key,
                    retention_category=period.category,
                    retain_until_before=previous.isoformat(),
                    retain_until=until.isoformat(),
                    retention_mode=mode,
                ),
            )
            extended.append(str(row_id))
    return extended
