"""Publishing a case's appeal, and the unit's triage of what residents send to it.

Submissions are quarantined: only investigators and supervisors of the case's unit see them (anyone else gets
the same 404 as for a missing one). Accepting keeps a submission for the case's retention; declining releases
its hold so it leaves storage after the short quarantine period. An accepted submission becomes an original of
the case (no request; the same stored object), so the case's custody report, bundle and clips include it."""

from __future__ import annotations

import secrets
from collections import Counter
from datetime import timedelta
from typing import Any
from uuid import UUID

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.appeals.models import Appeal, Submission, SubmissionStatus
from app.appeals.schemas import AppealCreate, DeclineIn
from app.auth.permissions import Actor, ensure_may, ensure_role, ensure_visible
from app.cases.models import Case, CaseStatus
from app.core import clock
from app.core.config import get_settings
from app.core.errors import Conflict, NotFound, RuleViolation
from app.core.storage import get_storage
from app.custody.rows import row_state
from app.custody.service import append_event
from app.footage.models import ClockOffsetSource, Original
from app.footage.retention import lock_period

# How long an appeal may stay open, and the longest incident window it may describe.
MAX_OPEN = timedelta(days=90)
MAX_WINDOW = timedelta(days=7)
SLUG_ALPHABET = "abcdefghijkmnpqrstuvwxyz23456789"  # no 0/o, 1/l: typed from a poster


def new_slug() -> str:
    return "".join(secrets.choice(SLUG_ALPHABET) for _ in range(10))


def is_open(appeal: Appeal) -> bool:
    return appeal.closed_early_at is None and clock.now() < appeal.closes_at


def public_url(appeal: Appeal) -> str:
    return f"{get_settings().public_base_url.rstrip('/')}/a/{appeal.slug}"


def describe(session: Session, appeal: Appeal) -> dict[str, Any]:
    """The appeal as its unit sees it: the public address, the QR codes and the submissions counted by status."""
    counts = Counter(
        {
            str(status): n
            for status, n in session.execute(
                select(Submission.status, func.count())
                .where(Submission.appeal_id == appeal.id)
                .group_by(Submission.status)
            )
        }
    )
    base = public_url(appeal)
    return {
        **{c: getattr(appeal, c) for c in appeal.__table__.columns.keys()},  # noqa: SIM118 - Columns, not a dict
        "is_open": is_open(appeal),
        "public_url": base,
        "qr_png_url": f"{base}/qr.png",
        "qr_svg_url": f"{base}/qr.svg",
        "submissions": {s.value: counts.get(s.value, 0) for s in SubmissionStatus},
    }


def publish(session: Session, actor: Actor, case_id: UUID, body: AppealCreate) -> Appeal:
    """An investigator of the case's unit publishes an appeal for an open case: window ordered and at most a week,
    closing date in the future and at most 90 days away."""
    ensure_role(actor, "appeals.publish")
    case = session.get(Case, case_id)
    if case is None:
        raise NotFound(f"case {case_id} not found")
    ensure_may(actor, "cases.write", case)
    if case.status != CaseStatus.open:
        raise Conflict("the case is closed; a closed case takes no appeal", extra={"status": case.status})
    if body.window_end <= body.window_start:
        raise RuleViolation("window_end", "must be after window_start")
    if body.window_end - body.window_start > MAX_WINDOW:
        raise RuleViolation("window_end", "an appeal asks about at most 7 days")
    now = clock.now()
    if body.closes_at <= now:
        raise RuleViolation("closes_at", "must be in the future")
    if body.closes_at - now > MAX_OPEN:
        raise RuleViolation("closes_at", "an appeal stays open at most 90 days")
    appeal = Appeal(
        slug=new_slug(),
        case_id=case.id,
        unit_id=case.unit_id,
        title=body.title.strip(),
        text=body.text.strip(),
        place=(body.place or "").strip() or None,
        lat=body.lat,
        lon=body.lon,
        radius_m=body.radius_m,
        window_start=body.window_start,
        window_end=body.window_end,
        timezone="Asia/Ho_Chi_Minh",
        closes_at=body.closes_at,
        created_by=actor.user_id,
        created_at=now,
    )
    session.add(appeal)
    session.flush()
    append_event(
        session,
        actor=actor.label,
        action="appeal.published",
        object_type="appeal",
        object_id=appeal.id,
        case_id=case.id,
        where=actor.where(),
        details={"slug": appeal.slug, "closes_at": appeal.closes_at.isoformat(), "radius_m": appeal.radius_m},
    )
    return appeal


def get_appeal(session: Session, actor: Actor, appeal_id: UUID) -> Appeal:
    """An appeal of the actor's own unit (404 for every other one)."""
    ensure_role(actor, "appeals.read")
    appeal = session.get(Appeal, appeal_id)
    ensure_visible(appeal is not None and appeal.unit_id == actor.unit_id, actor, "appeal", appeal_id)
    assert appeal is not None
    return appeal


def list_for_case(session: Session, actor: Actor, case_id: UUID) -> list[Appeal]:
    ensure_role(actor, "appeals.read")
    case = session.get(Case, case_id)
    ensure_visible(case is not None and case.unit_id == actor.unit_id, actor, "case", case_id)
    return list(session.scalars(select(Appeal).where(Appeal.case_id == case_id).order_by(Appeal.created_at.desc())))


def close(session: Session, actor: Actor, appeal_id: UUID) -> Appeal:
    """Close an appeal before its date: the public page says so and takes nothing more."""
    ensure_role(actor, "appeals.publish")
    appeal = get_appeal(session, actor, appeal_id)
    if not is_open(appeal):
        raise Conflict("the appeal is already closed")
    appeal.closed_early_at = clock.now()
    append_event(
        session,
        actor=actor.label,
        action="appeal.closed",
        object_type="appeal",
        object_id=appeal.id,
        case_id=appeal.case_id,
        where=actor.where(),
    )
    return appeal


def public_appeal(session: Session, slug: str) -> Appeal:
    """The appeal behind a public address; unknown addresses are a plain 404."""
    appeal = session.scalar(select(Appeal).where(Appeal.slug == slug))
    if appeal is None:
        raise NotFound("no appeal at this address")
    return appeal


def list_submissions(
    session: Session, actor: Actor, appeal_id: UUID, status: SubmissionStatus | None = None
) -> list[Submission]:
    appeal = get_appeal(session, actor, appeal_id)
    statement = select(Submission).where(Submission.appeal_id == appeal.id)
    if status is not None:
        statement = statement.where(Submission.status == status)
    return list(session.scalars(statement.order_by(Submission.received_at, Submission.id)))


def get_submission(session: Session, actor: Actor, submission_id: UUID, *, lock: bool = False) -> Submission:
    """A submission of the actor's own unit (404 for everyone else, the public included)."""
    ensure_role(actor, "appeals.read")
    submission = session.get(Submission, submission_id, with_for_update=lock)
    ensure_visible(submission is not None and submission.unit_id == actor.unit_id, actor, "submission", submission_id)
    assert submission is not None
    return submission


def _event(session: Session, actor: Actor, submission: Submission, action: str, **fields: Any) -> None:
    append_event(
        session,
        actor=actor.label,
        action=action,
        object_type="appeal_submission",
        object_id=submission.id,
        sha256=submission.sha256,
        version_id=submission.version_id,
        case_id=submission.case_id,
        where=actor.where(),
        **fields,
    )


def _quarantined(submission: Submission) -> None:
    if submission.status != SubmissionStatus.quarantined:
        raise Conflict(
            f"the submission was already {submission.status}; a decision is taken once",
            extra={"status": submission.status},
        )


def accept(session: Session, actor: Actor, submission_id: UUID, note: str | None) -> Submission:
    """Accept a quarantined submission as evidence of its case, its contributor recorded: its lock is extended to
    the case's retention (never shortened) and its legal hold stays while the case is open. It becomes an original
    of the case (the same stored object: its key, version and hash, nothing copied), in this transaction."""
    ensure_role(actor, "appeals.triage")
    submission = get_submission(session, actor, submission_id, lock=True)
    _quarantined(submission)
    period = lock_period(session, submission.case_id)
    until = max(submission.retain_until, submission.received_at + period.period)
    store = get_storage()
    # Lock first: a crash after it leaves a longer lock and a quarantined row, which accepting again repairs.
    store.lock(submission.object_key, submission.version_id, mode=period.mode, until=until)
    store.set_legal_hold(submission.object_key, submission.version_id, True)
    submission.retain_until, submission.retention_mode, submission.legal_hold = until, period.mode, True
    submission.status = SubmissionStatus.accepted
    submission.decided_by, submission.decided_at = actor.label, clock.now()
    _event(
        session,
        actor,
        submission,
        "submission.accepted",
        reason=note,
        details={
            "appeal_id": str(submission.appeal_id),
            "contributor": _contributor(submission),
            "retention_category": period.category,
            "retention_mode": period.mode,
            "retain_until": until.isoformat(),
            "legal_hold": True,
            "row": row_state("appeal_submissions", submission),
        },
    )
    _make_original(session, actor, submission, note)
    return submission


def _make_original(session: Session, actor: Actor, submission: Submission, note: str | None) -> Original:
    """The accepted submission as an original of its case: no request, the contributor recorded beside it (the
    submission row) and in its custody event, placed by the time its sender stated (else its arrival)."""
    appeal = session.get(Appeal, submission.appeal_id)
    assert appeal is not None
    stated = submission.taken_at
    original = Original(
        request_id=None,
        case_id=submission.case_id,
        appeal_submission_id=submission.id,
        object_key=submission.object_key,
        version_id=submission.version_id,
        size=submission.size,
        sha256=submission.sha256,
        filename=submission.filename,
        media=submission.media,
        recording_start_recorder=stated or submission.received_at,
        recording_start_stated=stated.isoformat() if stated else "",
        recording_start_source="sender" if stated else "received",
        clock_offset_s=0.0,
        clock_offset_source=ClockOffsetSource.none,
        uploaded_by=f"public:appeal-{appeal.slug}",
        client_address=submission.client_address,
        received_at=submission.received_at,
        retention_mode=submission.retention_mode,
        retain_until=submission.retain_until,
        legal_hold=True,
        lock_applied_at=clock.now(),  # the submission's own lock, set above and at arrival
    )
    session.add(original)
    session.flush()
    append_event(
        session,
        actor=actor.label,
        action="appeal.original_made",
        object_type="original",
        object_id=original.id,
        sha256=original.sha256,
        version_id=original.version_id,
        case_id=submission.case_id,
        reason=note,
        where=actor.where(),
        details={
            "object_key": original.object_key,
            "appeal_id": str(appeal.id),
            "appeal_title": appeal.title,
            "appeal_submission_id": str(submission.id),
            "contributor": _contributor(submission),
            "taken_at": stated.isoformat() if stated else None,
            "pin": [submission.lat, submission.lon] if submission.lat is not None else None,
            "row": row_state("originals", original),
        },
    )
    return original


def original_of(session: Session, submission_id: UUID) -> Original | None:
    """The case's original an accepted submission became (None before it is accepted)."""
    return session.scalar(select(Original).where(Original.appeal_submission_id == submission_id))


def decline(session: Session, actor: Actor, submission_id: UUID, body: DeclineIn) -> Submission:
    """Decline a quarantined submission with a reason and a category: its legal hold comes off, so it is kept only
    for the short quarantine period it was locked for."""
    ensure_role(actor, "appeals.triage")
    submission = get_submission(session, actor, submission_id, lock=True)
    _quarantined(submission)
    get_storage().set_legal_hold(submission.object_key, submission.version_id, False)
    submission.legal_hold = False
    submission.status = SubmissionStatus.declined
    submission.decline_category, submission.decline_reason = body.category, body.reason.strip()
    submission.decided_by, submission.decided_at = actor.label, clock.now()
    _event(
        session,
        actor,
        submission,
        "submission.declined",
        reason=body.reason.strip(),
        details={
            "appeal_id": str(submission.appeal_id),
            "category": body.category.value,
            "retain_until": submission.retain_until.isoformat(),
            "legal_hold": False,
            "row": row_state("appeal_submissions", submission),
        },
    )
    return submission


def _contributor(submission: Submission) -> dict[str, str | None]:
    if submission.contributor_name is None and submission.contributor_phone is None:
        return {"anonymous": "yes"}
    return {"name": submission.contributor_name, "phone": submission.contributor_phone}


def download_link(session: Session, actor: Actor, submission_id: UUID, purpose: str) -> dict[str, Any]:
    """A short presigned link to the exact version, for the unit's triage; each one is a custody event."""
    submission = get_submission(session, actor, submission_id)
    minutes = get_settings().download_link_minutes
    expires_at = clock.now() + timedelta(minutes=minutes)
    url = get_storage().presign_get(
        submission.object_key, submission.version_id, timedelta(minutes=minutes), filename=submission.filename
    )
    _event(
        session,
        actor,
        submission,
        "submission.download_link_issued",
        reason=purpose,
        details={"expires_at": expires_at.isoformat(), "status": submission.status.value},
    )
    return {"url": url, "expires_at": expires_at, "sha256": submission.sha256, "version_id": submission.version_id}


def submission_view(submission: Submission, original_id: UUID | None = None) -> dict[str, Any]:
    return {
        **{c: getattr(submission, c) for c in submission.__table__.columns.keys()},  # noqa: SIM118
        "anonymous": submission.contributor_name is None and submission.contributor_phone is None,
        "original_id": original_id,
    }


def submission_views(session: Session, submissions: list[Submission]) -> list[dict[str, Any]]:
    """The submissions as the API shows them, each accepted one with the id of the case's original it became."""
    accepted = [s.id for s in submissions if s.status == SubmissionStatus.accepted]
    found = select(Original.appeal_submission_id, Original.id).where(Original.appeal_submission_id.in_(accepted))
    originals = {sid: oid for sid, oid in session.execute(found)} if accepted else {}
    return [submission_view(s, originals.get(s.id)) for s in submissions]
