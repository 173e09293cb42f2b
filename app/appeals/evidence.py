"""Appeals' evidence as the orphan sweep sees it: submissions and their clips, all stored under `appeals/`."""

from __future__ import annotations

from collections.abc import Iterable
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.appeals.models import Submission, SubmissionClip
from app.footage.orphans import EvidenceKind

PREFIX = "appeals/"


def _submissions(session: Session) -> Iterable[tuple[UUID, str, str]]:
    return session.execute(select(Submission.id, Submission.object_key, Submission.version_id)).tuples()


def _clips(session: Session) -> Iterable[tuple[UUID, str, str]]:
    return session.execute(select(SubmissionClip.id, SubmissionClip.object_key, SubmissionClip.version_id)).tuples()


KINDS = (
    EvidenceKind("appeal_submission", PREFIX, _submissions),
    EvidenceKind("submission_clip", PREFIX, _clips),
)
